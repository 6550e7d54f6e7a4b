"""
The outcome of a wait, and the trigger event that carries it from the triggerer back to the task.

The event is a plain JSON dict with one shape for every outcome::

    {"status": "success" | "failure" | "timeout" | "error",
     "workflow_key": str, "project_key": str | None, "task_id": int,
     "task_status": str | None, "message": str,
     "approval": {"stage_name", "job_name", "job_task_name", "approval_type", "status",
                  "decision", "comments"} | None,
     "failed_job": str | None, "all_jobs_skipped": bool}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from airflow_provider_zadig.exceptions import ZadigError, ZadigWaitTimeoutError, ZadigWorkflowTaskError

if TYPE_CHECKING:
    from airflow_provider_zadig.models import ApprovalGate

EventStatus = Literal["success", "failure", "timeout", "error"]

#: The values of ``status`` in a trigger event.
EVENT_STATUSES: tuple[EventStatus, ...] = ("success", "failure", "timeout", "error")

_NONE = type(None)
# Every key of the event and the types its value may have. ``bool`` is checked apart from ``int``.
_EVENT_FIELDS: dict[str, tuple[type, ...]] = {
    "status": (str,),
    "workflow_key": (str,),
    "project_key": (str, _NONE),
    "task_id": (int,),
    "task_status": (str, _NONE),
    "message": (str,),
    "approval": (dict, _NONE),
    "failed_job": (str, _NONE),
    "all_jobs_skipped": (bool,),
}


@dataclass(frozen=True)
class WaitResult:
    """
    The outcome of a wait: the fields of the trigger event.

    ``status`` is ``success``, ``failure`` (the task or its approval ended the wrong way),
    ``timeout`` (the wait deadline passed) or ``error`` (the task could not be read).
    ``task_status`` is the last task status read, or ``None`` when no poll succeeded.
    ``approval`` is the approval that the result is about, as :func:`approval_summary` builds it.
    ``error`` is the exception behind an ``error`` result of a blocking wait. It is not part of
    the event, so a result read back from an event has ``error=None``.
    """

    status: EventStatus
    workflow_key: str
    project_key: str | None
    task_id: int
    task_status: str | None
    message: str
    approval: dict[str, Any] | None = None
    failed_job: str | None = None
    all_jobs_skipped: bool = False
    error: BaseException | None = field(default=None, compare=False, repr=False)

    @property
    def succeeded(self) -> bool:
        """Whether the awaited state was reached."""
        return self.status == "success"

    def raise_for_status(self) -> None:
        """
        Raise unless the wait succeeded.

        :raises ZadigWorkflowTaskError: on ``failure``.
        :raises ZadigWaitTimeoutError: on ``timeout``.
        :raises ZadigError: on ``error``, chained to the original exception when it is known.
        """
        details: dict[str, Any] = {
            "workflow_key": self.workflow_key,
            "task_id": self.task_id,
            "status": self.task_status,
            "failed_job": self.failed_job,
        }
        if self.status == "failure":
            raise ZadigWorkflowTaskError(self.message, **details)
        if self.status == "timeout":
            raise ZadigWaitTimeoutError(self.message, **details)
        if self.status == "error":
            raise ZadigError(self.message) from self.error


def approval_summary(gate: ApprovalGate) -> dict[str, Any]:
    """Return the JSON form of an approval that results and events carry."""
    return {
        "stage_name": gate.stage_name,
        "job_name": gate.job_name,
        "job_task_name": gate.job_task_name,
        "approval_type": gate.approval_type,
        "status": gate.status.value,
        "decision": gate.decision,
        "comments": list(gate.comments),
    }


def build_event(result: WaitResult) -> dict[str, Any]:
    """Return the trigger event payload of a result: a dict of JSON types only."""
    approval = None
    if result.approval is not None:
        approval = {key: result.approval.get(key) for key in _APPROVAL_KEYS}
        approval["comments"] = [str(comment) for comment in result.approval.get("comments") or []]
    return {
        "status": result.status,
        "workflow_key": result.workflow_key,
        "project_key": result.project_key,
        "task_id": result.task_id,
        "task_status": result.task_status,
        "message": result.message,
        "approval": approval,
        "failed_job": result.failed_job,
        "all_jobs_skipped": result.all_jobs_skipped,
    }


_APPROVAL_KEYS = (
    "stage_name",
    "job_name",
    "job_task_name",
    "approval_type",
    "status",
    "decision",
    "comments",
)


def read_event(event: Any, *, workflow_key: str | None = None, task_id: int | None = None) -> WaitResult:
    """
    Validate a trigger event and return it as a result, whatever its status.

    :param event: the payload that the trigger yielded.
    :param workflow_key: the workflow key that the task waits on. Default: not checked.
    :param task_id: the Zadig task id that the task waits on. Default: not checked.
    :raises ZadigWorkflowTaskError: when the payload does not have the event shape, or is about
        another workflow or task.
    """
    if not isinstance(event, dict):
        raise _invalid_event(event, f"it is a {type(event).__name__}, not a dict")
    for key, types in _EVENT_FIELDS.items():
        if key not in event:
            raise _invalid_event(event, f"{key!r} is missing")
        value = event[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise _invalid_event(event, f"{key!r} has the invalid value {value!r}")
    if event["status"] not in EVENT_STATUSES:
        raise _invalid_event(event, f"'status' has the invalid value {event['status']!r}")
    result = WaitResult(**{key: event[key] for key in _EVENT_FIELDS})
    expected = (workflow_key or result.workflow_key, task_id or result.task_id)
    if (result.workflow_key, result.task_id) != expected:
        raise ZadigWorkflowTaskError(
            f"The trigger event is about Zadig workflow {result.workflow_key!r} task {result.task_id}, "
            f"but this Airflow task waits on workflow {expected[0]!r} task {expected[1]}. Clear the "
            "task to wait again.",
            workflow_key=expected[0],
            task_id=expected[1],
        )
    return result


def parse_event(event: Any, *, workflow_key: str | None = None, task_id: int | None = None) -> WaitResult:
    """
    Validate a trigger event and return its result only if it reports success.

    Used by ``execute_complete``: an explicit success for the expected task is the only way through.

    :raises ZadigWorkflowTaskError: on an invalid event, an event about another task, or a failure.
    :raises ZadigWaitTimeoutError: on a timeout event.
    :raises ZadigError: on an error event.
    """
    result = read_event(event, workflow_key=workflow_key, task_id=task_id)
    result.raise_for_status()
    return result


def _invalid_event(event: Any, problem: str) -> ZadigWorkflowTaskError:
    text = repr(event)
    if len(text) > 500:
        text = text[:500] + "...(truncated)"
    return ZadigWorkflowTaskError(
        f"Invalid event from the Zadig trigger: {problem}. The task cannot tell how the Zadig task "
        f"ended, so check the triggerer log and the task in Zadig. Event: {text}"
    )
