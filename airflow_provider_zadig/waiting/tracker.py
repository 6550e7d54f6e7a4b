"""Logging the progress of a workflow task: one INFO line per status change, never one per poll."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_zadig.hooks._retry import LoggerLike
from airflow_provider_zadig.models import WorkflowStatus
from airflow_provider_zadig.waiting.evaluation import approval_note, decision_text, gate_decision, gate_label

if TYPE_CHECKING:
    from airflow_provider_zadig.models import ApprovalGate, WorkflowTask

# Hints for the statuses that stop a task without ending it: the action a user can take.
_STATUS_HINTS = {
    WorkflowStatus.PAUSE: "a stage with manual execution waits to be started in Zadig",
    WorkflowStatus.WAIT_FOR_MANUAL_ERROR_HANDLING: "the job failed and waits for a manual decision in Zadig",
    WorkflowStatus.DEBUG_BEFORE: "the job stopped at a debug breakpoint before it ran",
    WorkflowStatus.DEBUG_AFTER: "the job stopped at a debug breakpoint after it ran",
    WorkflowStatus.WAITING: "the task is queued, possibly behind the workflow's concurrency limit",
}


#: A logger that takes %-style arguments, such as ``logging.Logger`` or Airflow's ``self.log``.
WaitLogger = LoggerLike


class StatusChangeTracker:
    """
    Log the progress of one workflow task across polls.

    Each change of the task status, a stage status, a job status or an approval gives one INFO
    line. Polls that change nothing give one DEBUG line, so a week-long wait does not flood the log.

    :param log: the logger to write to.
    :param label: how the lines name the task, such as ``Zadig workflow 'build' task 42``.
    """

    def __init__(self, log: WaitLogger, label: str) -> None:
        self._log = log
        self._label = label
        self._seen: dict[str, str] = {}

    def update(self, task: WorkflowTask) -> list[str]:
        """Log what changed since the previous poll, and return the changed lines."""
        first_poll = not self._seen
        snapshot = dict(_snapshot(task))
        changes = []
        for key, text in snapshot.items():
            if text == self._seen.get(key) or (first_poll and text.endswith(": not started")):
                continue
            changes.append(text)
            self._log.info("%s: %s", self._label, text)
        # Entries that left the detail are forgotten, so an approval that comes back is logged again.
        self._seen = snapshot
        if not changes:
            self._log.debug("%s: status %s, no change", self._label, task.status.value)
        return changes


def _snapshot(task: WorkflowTask) -> list[tuple[str, str]]:
    entries = [("task", f"task status {_status_text(task.status)}")]
    for stage in task.stages:
        entries.append((f"stage:{stage.name}", f"stage {stage.name!r}: {_status_text(stage.status)}"))
        for job in stage.jobs:
            if job.type == "approval":
                continue
            text = f"job {job.job_name!r} in stage {stage.name!r}: {_status_text(job.status)}"
            if job.error and job.status.is_failure:
                text += f" ({job.error})"
            entries.append((f"job:{job.name}", text))
    for gate in task.approval_gates():
        key = f"approval:{gate.job_task_name or gate.stage_name}"
        entries.append((key, _gate_text(gate)))
    return entries


def _status_text(status: WorkflowStatus) -> str:
    if not status.value:
        return "not started"
    hint = _STATUS_HINTS.get(status)
    return f"{status.value} ({hint})" if hint else status.value


def _gate_text(gate: ApprovalGate) -> str:
    if gate.is_pending:
        return f"{gate_label(gate)} waits for a decision; {approval_note(gate)}"
    if gate_decision(gate):
        return decision_text(gate)
    return f"{gate_label(gate)}: {_status_text(gate.status)}"
