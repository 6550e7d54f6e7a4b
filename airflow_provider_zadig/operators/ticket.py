"""Operator that files a Zadig pre-approval ticket (``POST /openapi/ticket/approval``)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_zadig.exceptions import ZadigAPIError, ZadigConfigurationError
from airflow_provider_zadig.operators._common import fail_without_retry, one_or_many, require_text

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_zadig.hooks.zadig import ZadigHook
    from airflow_provider_zadig.models import ApprovalTicketRequest

#: Zadig error code 7100 (``ErrCreateApprovalTicket``), sent both for a duplicate approval id and for a
#: missing project. Only the description distinguishes the two.
TICKET_ERROR_CODE = 7100
#: Zadig error code 7050 (``ErrLicenseInvalid``), sent when the server's license does not allow tickets.
LICENSE_ERROR_CODE = 7050
#: Timestamps above this value are read as milliseconds. 1e11 seconds is in the year 5138, while 1e11
#: milliseconds is in 1973, so no real execution window is ambiguous.
MILLISECONDS_THRESHOLD = 100_000_000_000

_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


class ZadigCreateApprovalTicketOperator(BaseOperator):
    """
    File a Zadig pre-approval ticket that allows workflow runs approved in another system.

    Every argument is checked before the request: an empty project key or approval id, a status other
    than 0 or 1, and an execution window whose start is after its end raise
    :class:`~airflow_provider_zadig.exceptions.ZadigConfigurationError` without contacting Zadig.

    Zadig tickets cannot be edited through the OpenAPI. When a ticket with the same approval id exists,
    the server keeps it unchanged and this operator succeeds with a log line, or raises when
    ``fail_if_exists`` is set, so the task is safe to run twice.

    Window timestamps may be epoch seconds, epoch milliseconds, :class:`~datetime.datetime` objects,
    or the text that a template renders (``"1735689600"``, ``"2025-01-01T00:00:00+00:00"``). A number
    above 1e11 is read as milliseconds and converted to seconds, with a log line. A datetime without a
    time zone is read as UTC.

    :param project_key: key of the Zadig project that the ticket belongs to.
    :param approval_id: the ticket number in the approving system, for example a change request id.
    :param status: 1 when the ticket is in effect, 0 when it is void. Default 1.
    :param envs: environments the ticket allows; a single string is one environment. Default: no limit.
    :param services: services the ticket allows, as dicts with ``service_name`` and optional
        ``service_module``, or as service names. Default: no limit.
    :param users: users allowed to run under the ticket, as dicts with ``email`` and optional ``name``,
        or as email addresses. Zadig matches users by email. Default: no limit.
    :param execution_window_start: start of the window in which runs are allowed, or 0 / ``None`` for
        no start limit. Default ``None``.
    :param execution_window_end: end of the window, or 0 / ``None`` for no end limit. Default ``None``.
    :param fail_if_exists: raise when the server already has a ticket with this approval id, instead of
        logging and succeeding. Default ``False``.
    :param zadig_conn_id: Airflow connection id of type ``zadig``. Default ``"zadig_default"``.
    :return: the approval id (pushed to XCom).
    :raises ZadigConfigurationError: an argument is invalid; nothing was sent.
    :raises AirflowFailException: without further Airflow retries, when the ticket exists and
        ``fail_if_exists`` is set, when the project does not exist, or when the server's license does
        not allow tickets (code 7050). The Zadig error is attached as the cause.
    """

    template_fields: Sequence[str] = (
        "project_key",
        "approval_id",
        "status",
        "envs",
        "services",
        "users",
        "execution_window_start",
        "execution_window_end",
        "zadig_conn_id",
    )
    ui_color = "#f6e7d8"

    def __init__(
        self,
        *,
        project_key: str,
        approval_id: str,
        status: int = 1,
        envs: Sequence[str] | str | None = None,
        services: Sequence[Mapping[str, Any] | str] | Mapping[str, Any] | str | None = None,
        users: Sequence[Mapping[str, Any] | str] | Mapping[str, Any] | str | None = None,
        execution_window_start: int | float | str | datetime | None = None,
        execution_window_end: int | float | str | datetime | None = None,
        fail_if_exists: bool = False,
        zadig_conn_id: str = "zadig_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.project_key = project_key
        self.approval_id = approval_id
        self.status = status
        self.envs = envs
        self.services = services
        self.users = users
        self.execution_window_start = execution_window_start
        self.execution_window_end = execution_window_end
        self.fail_if_exists = fail_if_exists
        self.zadig_conn_id = zadig_conn_id

    def execute(self, context: Context) -> str:
        ticket = self.build_request()
        self._warn_if_window_passed(ticket)
        self.log.info(
            "Filing pre-approval ticket %s in project %s (status %s, envs %s, window %s to %s)",
            ticket.approval_id,
            ticket.project_key,
            ticket.status,
            ticket.envs or "any",
            _describe_time(ticket.execution_window_start, "no start"),
            _describe_time(ticket.execution_window_end, "no end"),
        )
        self._create(ticket)
        return ticket.approval_id

    def build_request(self) -> ApprovalTicketRequest:
        """Check the rendered arguments and build the request body, without contacting Zadig."""
        from pydantic import ValidationError

        from airflow_provider_zadig.models import ApprovalTicketRequest
        from airflow_provider_zadig.models.base import describe_validation_error

        try:
            return ApprovalTicketRequest(
                project_key=require_text(self.project_key, "project_key"),
                approval_id=require_text(_id_text(self.approval_id), "approval_id"),
                status=_ticket_status(self.status),
                envs=one_or_many(self.envs, "envs"),
                services=[_service(item) for item in one_or_many(self.services, "services")],
                users=[_user(item) for item in one_or_many(self.users, "users")],
                execution_window_start=self._timestamp(self.execution_window_start, "execution_window_start"),
                execution_window_end=self._timestamp(self.execution_window_end, "execution_window_end"),
            )
        except ValidationError as error:
            problems = describe_validation_error(error)
            raise ZadigConfigurationError(f"invalid pre-approval ticket: {problems}") from error

    def _timestamp(self, value: Any, field: str) -> int:
        seconds, was_milliseconds = window_timestamp(value, field)
        if was_milliseconds:
            self.log.info("%s %s is in milliseconds; sending %s seconds", field, value, seconds)
        return seconds

    def _warn_if_window_passed(self, ticket: ApprovalTicketRequest) -> None:
        end = ticket.execution_window_end
        if end and end < datetime.now(timezone.utc).timestamp():
            self.log.warning(
                "The execution window of ticket %s ended at %s, so the ticket allows no runs",
                ticket.approval_id,
                _describe_time(end, ""),
            )

    def _create(self, ticket: ApprovalTicketRequest) -> None:
        """Send the ticket. An existing ticket with this approval id is accepted unless ``fail_if_exists``."""
        from airflow_provider_zadig.hooks._errors import is_duplicate_ticket

        hook = self._hook()
        try:
            hook.create_approval_ticket(**ticket.model_dump())
        except ZadigAPIError as error:
            if not is_duplicate_ticket(error):
                _fail_on_permanent_error(error)
                raise
            if self.fail_if_exists:
                fail_without_retry(error, _exists_explanation(ticket))
            self.log.info(
                "Pre-approval ticket %s already exists in Zadig, which keeps it unchanged; nothing to do",
                ticket.approval_id,
            )

    def _hook(self) -> ZadigHook:
        from airflow_provider_zadig.hooks.zadig import ZadigHook

        return ZadigHook(zadig_conn_id=self.zadig_conn_id)


def window_timestamp(value: Any, field: str) -> tuple[int, bool]:
    """
    Convert an execution-window value to epoch seconds.

    :return: the seconds (0 for no limit) and whether the value was read as milliseconds.
    :raises ZadigConfigurationError: the value is negative, a boolean, or text that is neither a number
        nor an ISO 8601 date and time.
    """
    if value is None or value == "":
        return 0, False
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return int(aware.timestamp()), False
    if isinstance(value, str):
        value = _parse_text_timestamp(value, field)
        if isinstance(value, datetime):
            return window_timestamp(value, field)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ZadigConfigurationError(
            f"invalid {field} {value!r}: expected epoch seconds, epoch milliseconds or a datetime"
        )
    if value < 0:
        raise ZadigConfigurationError(f"invalid {field} {value}: a timestamp cannot be negative")
    if value > MILLISECONDS_THRESHOLD:
        return int(value // 1000), True
    return int(value), False


def _parse_text_timestamp(text: str, field: str) -> float | datetime:
    stripped = text.strip()
    if _NUMBER.fullmatch(stripped):
        return float(stripped)
    try:
        # ``datetime.fromisoformat`` accepts a trailing "Z" only from Python 3.11 on.
        return datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        raise ZadigConfigurationError(
            f"invalid {field} {text!r}: expected epoch seconds, epoch milliseconds "
            "or an ISO 8601 date and time such as 2025-01-01T00:00:00+00:00"
        ) from None


def _describe_time(seconds: int, unlimited: str) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat() if seconds else unlimited


def _fail_on_permanent_error(error: ZadigAPIError) -> None:
    """Fail the Airflow task without retries when the error is one that a retry cannot fix."""
    # The hook's message already quotes the server and says which license or project key is needed.
    missing_project = error.code == TICKET_ERROR_CODE and "failed to find project" in (
        error.description or ""
    )
    if error.code == LICENSE_ERROR_CODE or missing_project:
        fail_without_retry(error)


def _exists_explanation(ticket: ApprovalTicketRequest) -> str:
    return (
        f"A pre-approval ticket with approval id {ticket.approval_id!r} already exists; "
        "set fail_if_exists=False to accept the existing ticket."
    )


def _id_text(value: Any) -> Any:
    """Accept numeric approval ids, which change-management systems often use."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _ticket_status(value: Any) -> int:
    if isinstance(value, str) and value.strip() in ("0", "1"):
        return int(value)
    if value in (0, 1) and not isinstance(value, float):
        return int(value)
    raise ZadigConfigurationError(f"invalid status {value!r}: use 1 (ticket in effect) or 0 (ticket void)")


def _service(item: Any) -> Any:
    return {"service_name": item} if isinstance(item, str) else item


def _user(item: Any) -> Any:
    return {"email": item} if isinstance(item, str) else item
