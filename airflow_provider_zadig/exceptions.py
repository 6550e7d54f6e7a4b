"""
Exceptions raised by the Zadig provider.

Every exception derives from :class:`ZadigError`, which derives from Airflow's ``AirflowException``
so that sensors apply ``soft_fail`` and Airflow retry policies can match on the class::

    ZadigError
    ├── ZadigConfigurationError         invalid connection or operator argument, found before any request;
    │                                   also an AirflowFailException, so Airflow does not retry the task
    ├── ZadigConnectionError            no HTTP response: refused, reset, DNS or TLS failure, read timeout
    │   └── ZadigAmbiguousRequestError  a creating request whose outcome is unknown, so it was not re-sent
    ├── ZadigAPIError                   the server answered with an error status
    │   ├── ZadigBadRequestError        400 with a Zadig error code, or an empty-bodied 400
    │   ├── ZadigAuthenticationError    401: missing, expired or invalid API token
    │   ├── ZadigPermissionError        403: the token's user lacks permission
    │   ├── ZadigNotFoundError          the workflow, task or view does not exist (400, 404 or 500 on Zadig)
    │   ├── ZadigRateLimitError         429 after the retries ran out
    │   └── ZadigServerError            5xx that is not a known input error
    └── ZadigWorkflowTaskError          a workflow task ended failed, timeout, cancelled or reject
        └── ZadigWaitTimeoutError       the wait deadline passed before the task reached the awaited state

Zadig v3.4 answers many permanent input errors with HTTP 500 (a plain Go error) and every
``*HTTPError`` code in the 6xxx and 7xxx ranges with HTTP 400, so the class follows the body as well
as the status: a "mongo: no documents in result" description is :class:`ZadigNotFoundError` whatever
the status.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException


class ZadigError(AirflowException):
    """Base class of every error raised by the Zadig provider."""


class ZadigConfigurationError(ZadigError, AirflowFailException):
    """
    An invalid connection setting or operator argument, detected before any request is sent.

    It also derives from ``AirflowFailException``, so the task fails at once: every retry would
    meet the same setting.
    """


class ZadigConnectionError(ZadigError):
    """A request that got no HTTP response after the allowed retries."""

    def __init__(self, message: str, *, method: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.method = method
        self.path = path


class ZadigAmbiguousRequestError(ZadigConnectionError):
    """
    A creating request (execute, approve, ticket, view or workflow create) whose outcome is unknown.

    The hook never re-sends such a request blindly. It raises this error when it could not confirm
    from the server whether the first attempt took effect.
    """


class ZadigAPIError(ZadigError):
    """
    An error response from the Zadig server.

    :param message: the full, human-readable message (request, server text and what to do next).
    :param status_code: HTTP status of the response.
    :param code: Zadig error code from the body (for example 6542), or ``None`` when the body has none.
    :param description: Zadig ``description`` from the body, or the raw body text, truncated.
    :param server_message: Zadig ``message`` from the body (often Chinese), or ``None``.
    :param method: HTTP method of the failed request.
    :param path: path of the failed request, without the host or query string.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: int | None = None,
        description: str | None = None,
        server_message: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        # AirflowException declares ``status_code`` as an HTTPStatus for its own API errors. Here it is
        # the status that the Zadig server sent, which need not be a standard HTTPStatus member.
        self.status_code = status_code  # type: ignore[assignment]
        self.retry_after: float | None = None
        self.code = code
        self.description = description
        self.server_message = server_message
        self.method = method
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments do not survive the default pickling that Airflow uses for task
        # exceptions, so rebuild the instance from its attributes.
        return (
            _rebuild_api_error,
            (
                type(self),
                str(self),
                {
                    "status_code": self.status_code,
                    "code": self.code,
                    "description": self.description,
                    "server_message": self.server_message,
                    "method": self.method,
                    "path": self.path,
                },
                self.retry_after,
            ),
        )


def _rebuild_api_error(
    cls: type[ZadigAPIError], message: str, attributes: dict[str, Any], retry_after: float | None = None
) -> ZadigAPIError:
    error = cls(message, **attributes)
    error.retry_after = retry_after
    return error


class ZadigBadRequestError(ZadigAPIError):
    """HTTP 400: the server rejected the request's input (Zadig codes 6xxx and 7xxx are sent as 400)."""


class ZadigAuthenticationError(ZadigAPIError):
    """HTTP 401: the API token is missing, malformed, expired or invalid."""


class ZadigPermissionError(ZadigAPIError):
    """HTTP 403: the token's user has no permission for the project or workflow."""


class ZadigNotFoundError(ZadigAPIError):
    """The workflow, task or view does not exist."""


class ZadigRateLimitError(ZadigAPIError):
    """HTTP 429 after the configured retries."""


class ZadigServerError(ZadigAPIError):
    """HTTP 5xx that does not map to a more specific class."""


class ZadigWorkflowTaskError(ZadigError):
    """
    A workflow task that ended in a failure status, or that a wait could not accept.

    :param message: the full, human-readable message.
    :param workflow_key: the workflow key.
    :param task_id: the Zadig workflow task id.
    :param status: the task's last known status, or ``None`` when unknown.
    :param failed_job: the name of the first job that failed, or ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        workflow_key: str | None = None,
        task_id: int | None = None,
        status: str | None = None,
        failed_job: str | None = None,
    ) -> None:
        super().__init__(message)
        self.workflow_key = workflow_key
        self.task_id = task_id
        self.status = status
        self.failed_job = failed_job

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_task_error,
            (
                type(self),
                str(self),
                {
                    "workflow_key": self.workflow_key,
                    "task_id": self.task_id,
                    "status": self.status,
                    "failed_job": self.failed_job,
                },
            ),
        )


def _rebuild_task_error(
    cls: type[ZadigWorkflowTaskError], message: str, attributes: dict[str, Any]
) -> ZadigWorkflowTaskError:
    return cls(message, **attributes)


class ZadigWaitTimeoutError(ZadigWorkflowTaskError):
    """The wait deadline passed before the workflow task reached the awaited state."""
