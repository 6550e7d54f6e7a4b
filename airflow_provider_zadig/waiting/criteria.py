"""The criteria that end a wait on a workflow task, and the validation of a task id from a template."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from airflow_provider_zadig.exceptions import ZadigConfigurationError
from airflow_provider_zadig.models import DEFAULT_FAILURE_STATUSES, DEFAULT_SUCCESS_STATUSES, WorkflowStatus

WaitFor = Literal["completion", "approval_pending", "approval_decided"]

#: The values of ``wait_for``.
WAIT_FOR_CHOICES: tuple[WaitFor, ...] = ("completion", "approval_pending", "approval_decided")

# Iterating the enum yields only the statuses that Zadig v3.4 defines, never the unknown values
# that were parsed from a server.
_KNOWN_STATUSES = tuple(status.value for status in WorkflowStatus if status.value)


def coerce_task_id(value: Any, argument: str = "workflow_task_id") -> int:
    """
    Return a Zadig workflow task id given as an int or as a string of digits (a rendered template).

    :param value: the id to check.
    :param argument: the argument name that the error message shows.
    :raises ZadigConfigurationError: when ``value`` is not a positive integer or its digits.
    """
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise ZadigConfigurationError(
        f"Invalid {argument} {value!r}: expected a Zadig workflow task id, a positive integer or its "
        "digits as a string. When it comes from XCom, check that the upstream task pushed it, for "
        "example \"{{ ti.xcom_pull(task_ids='run_workflow', key='zadig_task_id') }}\"."
    )


class WaitCriteria:
    """
    The criteria that end a wait on a workflow task.

    :param wait_for: ``"completion"`` (default) waits until the task status is in
        ``success_statuses`` or ``failure_statuses``, or is final. ``"approval_pending"`` waits until
        an approval waits for a decision. ``"approval_decided"`` waits until approvals are decided.
    :param approval_name: the approval to watch in the approval modes: its stage name, approval job
        name or job task name. Default ``None``: the first approval that becomes pending
        (``approval_pending``), or every approval of the task (``approval_decided``).
    :param success_statuses: task statuses that end a completion wait with success.
        Default ``("passed",)``.
    :param failure_statuses: task statuses that end a completion wait with a failure. Default
        ``("failed", "timeout", "cancelled", "reject")``. A final status in neither set also fails
        the wait, so this set matters for statuses that are not final, such as ``pause``.
    :raises ZadigConfigurationError: on an unknown ``wait_for`` or status, an empty success set, a
        status in both sets, or an ``approval_name`` while waiting for completion.
    """

    def __init__(
        self,
        wait_for: str = "completion",
        approval_name: str | None = None,
        success_statuses: Iterable[str] | str | None = None,
        failure_statuses: Iterable[str] | str | None = None,
    ) -> None:
        self.wait_for: WaitFor = _check_wait_for(wait_for)
        self.approval_name = _check_approval_name(approval_name, self.wait_for)
        self.success_statuses = _check_statuses(success_statuses, DEFAULT_SUCCESS_STATUSES, "success")
        self.failure_statuses = _check_statuses(failure_statuses, DEFAULT_FAILURE_STATUSES, "failure")
        if not self.success_statuses:
            raise ZadigConfigurationError(
                "success_statuses is empty, so the wait could never succeed. Give at least one task "
                "status, such as ['passed']."
            )
        both = [status for status in self.success_statuses if status in self.failure_statuses]
        if both:
            raise ZadigConfigurationError(
                f"Status {both[0]!r} is in both success_statuses and failure_statuses. A status can "
                "end the wait only one way, so remove it from one of them."
            )

    def __repr__(self) -> str:
        return (
            f"WaitCriteria(wait_for={self.wait_for!r}, approval_name={self.approval_name!r}, "
            f"success_statuses={self.success_statuses!r}, failure_statuses={self.failure_statuses!r})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WaitCriteria) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash(repr(self))

    @property
    def goal(self) -> str:
        """The awaited state in words, for messages."""
        name = f" {self.approval_name!r}" if self.approval_name else ""
        if self.wait_for == "approval_pending":
            return f"a pending approval{name}"
        if self.wait_for == "approval_decided":
            return f"a decision on approval{name}" if name else "a decision on its approvals"
        return f"a final status ({', '.join(self.success_statuses)} for success)"


def _check_wait_for(value: Any) -> WaitFor:
    for choice in WAIT_FOR_CHOICES:
        if value == choice:
            return choice
    choices = ", ".join(repr(choice) for choice in WAIT_FOR_CHOICES)
    raise ZadigConfigurationError(f"Invalid wait_for {value!r}: use one of {choices}.")


def _check_approval_name(value: Any, wait_for: WaitFor) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ZadigConfigurationError(
            f"Invalid approval_name {value!r}: give the approval's stage name, approval job name or job "
            "task name, or None to watch any approval."
        )
    if wait_for == "completion":
        raise ZadigConfigurationError(
            f"approval_name {value!r} is set but wait_for is 'completion', which does not watch "
            "approvals. Set wait_for='approval_pending' or 'approval_decided', or remove approval_name."
        )
    return value.strip()


def _check_statuses(value: Any, default: tuple[str, ...], kind: str) -> tuple[str, ...]:
    if value is None:
        return tuple(default)
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, Iterable):
        raise ZadigConfigurationError(
            f"Invalid {kind}_statuses {value!r}: give a list of Zadig task statuses, such as {list(default)}."
        )
    statuses: list[str] = []
    for item in values:
        if item not in _KNOWN_STATUSES:
            known = ", ".join(_KNOWN_STATUSES)
            raise ZadigConfigurationError(
                f"Invalid {kind}_statuses value {item!r}: it is not a Zadig task status. Use the values "
                f"as the Zadig API spells them: {known}."
            )
        # A WorkflowStatus member becomes its plain string, so that the criteria serialize as JSON.
        status = str(item)
        if status not in statuses:
            statuses.append(status)
    return tuple(statuses)
