"""Judging one poll of a workflow task against the wait criteria, with the messages that results carry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_zadig.models import WorkflowStatus
from airflow_provider_zadig.waiting.results import EventStatus, WaitResult, approval_summary

if TYPE_CHECKING:
    from airflow_provider_zadig.models import ApprovalGate, WorkflowTask
    from airflow_provider_zadig.waiting.criteria import WaitCriteria

#: Error text longer than this many characters is cut in messages.
MAX_MESSAGE_LENGTH = 1000

# Approval kinds that are decided inside a chat app, never through the Zadig OpenAPI.
_APPROVAL_APPS = {"lark": "Lark (Feishu)", "dingtalk": "DingTalk", "workwx": "WeCom (workwx)"}


@dataclass(frozen=True)
class WaitSubject:
    """The task that a wait is about, with the keys that the caller gave."""

    workflow_key: str
    project_key: str | None
    task_id: int

    @property
    def label(self) -> str:
        """How messages name the task."""
        return f"Zadig workflow {self.workflow_key!r} task {self.task_id}"

    def result(
        self, status: EventStatus, task: WorkflowTask | None, message: str, **extra: Any
    ) -> WaitResult:
        """Build a result about this task from the last detail read, or ``None`` when none was."""
        return WaitResult(
            status=status,
            workflow_key=self.workflow_key,
            project_key=self.project_key or (task.project_key if task else None) or None,
            task_id=self.task_id,
            task_status=task.status.value if task else None,
            message=truncate(message),
            all_jobs_skipped=task.all_jobs_skipped if task else False,
            **extra,
        )


def evaluate(
    task: WorkflowTask,
    criteria: WaitCriteria,
    *,
    workflow_key: str | None = None,
    project_key: str | None = None,
    pending_before: ApprovalGate | None = None,
) -> WaitResult | None:
    """
    Judge one poll of a workflow task against ``criteria``.

    :param task: the task detail just read.
    :param criteria: what ends the wait.
    :param workflow_key: the workflow key for messages and the result. Default: the detail's.
    :param project_key: the project key for the result. Default: the detail's.
    :param pending_before: an approval seen pending on an earlier poll of this wait. Older servers
        report a pending approval only through the task status, so ``approval_decided`` then reads
        the decision from what the task did next.
    :return: the result, or ``None`` while the wait goes on. An unknown status never ends a wait.
    """
    key = workflow_key or task.workflow_key or task.workflow_name
    subject = WaitSubject(key, project_key, task.task_id)
    if criteria.wait_for == "approval_pending":
        return _approval_pending(task, criteria, subject)
    if criteria.wait_for == "approval_decided":
        return _approval_decided(task, criteria, subject, pending_before)
    return _completion(task, criteria, subject)


def gate_label(gate: ApprovalGate) -> str:
    """Return how messages name an approval: its job, or its stage for a stage-level approval."""
    if gate.job_name:
        return f"approval {gate.job_name!r} in stage {gate.stage_name!r}"
    return f"the approval of stage {gate.stage_name!r}"


def approval_note(gate: ApprovalGate) -> str:
    """Return where a pending approval can be decided."""
    app = _APPROVAL_APPS.get(gate.approval_type)
    if app is not None:
        return f"it is a {app} approval, so decide it in {app}: the Zadig API cannot approve it"
    if gate.job_task_name is None:
        return "the server did not name the approval job, so decide it in the Zadig web UI"
    return f"decide it in Zadig, or approve it through the API with approval_name={gate.job_task_name!r}"


def decision_text(gate: ApprovalGate) -> str:
    """Return who decided an approval and what they commented."""
    decision = gate_decision(gate)
    verb = {"approve": "approved", "reject": "rejected"}.get(decision, "decided")
    deciders = [vote.user_name for vote in gate.votes if vote.decision == decision and vote.user_name]
    text = f"{gate_label(gate)} was {verb}"
    if deciders:
        text += f" by {', '.join(deciders)}"
    comments = [
        f"{vote.user_name or 'an approver'} commented {vote.comment!r}" for vote in gate.votes if vote.comment
    ]
    if comments:
        text += f" ({'; '.join(comments)})"
    return text


def gate_decision(gate: ApprovalGate) -> str:
    """Return ``approve``, ``reject`` or ``""``. A stage-level approval whose stage passed was approved."""
    if gate.decision:
        return gate.decision
    return "approve" if gate.status.is_success else ""


def truncate(text: str, limit: int = MAX_MESSAGE_LENGTH) -> str:
    """Return ``text`` cut to ``limit`` characters, marked when cut."""
    return text if len(text) <= limit else text[: limit - 15] + " ...(truncated)"


def _completion(task: WorkflowTask, criteria: WaitCriteria, subject: WaitSubject) -> WaitResult | None:
    status = task.status.value
    if status in criteria.success_statuses:
        return subject.result("success", task, f"{subject.label} ended with status {status!r}.")
    if status not in criteria.failure_statuses and not task.status.is_terminal:
        return None
    failed = task.failed_jobs()
    failed_job = failed[0].job_name if failed else None
    return subject.result("failure", task, _failure_message(task, criteria, subject), failed_job=failed_job)


def _failure_message(task: WorkflowTask, criteria: WaitCriteria, subject: WaitSubject) -> str:
    status = task.status.value
    headline = f"{subject.label} ended with status {status!r}"
    if status not in criteria.failure_statuses:
        headline += f", which is not a success status ({', '.join(criteria.success_statuses)})"
    parts = [headline]
    for stage in task.stages:
        for job in stage.jobs:
            if job.status.is_failure and job.type != "approval":
                text = f"job {job.job_name!r} in stage {stage.name!r} {job.status.value}"
                parts.append(f"{text}: {job.error}" if job.error else text)
    parts.extend(decision_text(gate) for gate in task.approval_gates() if gate.decision == "reject")
    if task.status == WorkflowStatus.CANCELLED and task.task_revoker:
        parts.append(f"cancelled by {task.task_revoker}")
    job_errors = {job.error for job in task.jobs if job.error}
    if task.error and task.error not in job_errors:
        parts.append(f"task error: {task.error}")
    return "; ".join(parts) + "."


def _approval_pending(task: WorkflowTask, criteria: WaitCriteria, subject: WaitSubject) -> WaitResult | None:
    name = criteria.approval_name
    gates = [gate for gate in task.approval_gates() if name is None or gate.matches(name)]
    if name is not None and not gates and task.stages:
        return _unknown_approval(task, name, subject)
    # A named stage may contain several approval jobs: a pending one comes first, then one that
    # may still become pending, and a decided one only when no other is left.
    pending = [gate for gate in gates if gate.is_pending]
    undecided = [gate for gate in gates if not gate.is_decided]
    gate = next(iter(pending), None)
    if gate is None and name is not None:
        gate = next(iter(undecided + gates), None)
    if gate is not None and gate.is_pending:
        message = f"{subject.label}: {gate_label(gate)} waits for a decision; {approval_note(gate)}."
        return subject.result("success", task, message, approval=approval_summary(gate))
    if gate is not None and gate.is_decided:
        message = f"{subject.label}: {decision_text(gate)} before the wait saw it pending."
        return subject.result("failure", task, message, approval=approval_summary(gate))
    if task.status.is_terminal:
        return _ended_first(task, criteria, subject)
    return None


def _approval_decided(
    task: WorkflowTask, criteria: WaitCriteria, subject: WaitSubject, pending_before: ApprovalGate | None
) -> WaitResult | None:
    name = criteria.approval_name
    gates = [gate for gate in task.approval_gates() if name is None or gate.matches(name)]
    if not gates and pending_before is not None:
        return _decision_from_task_status(task, subject, pending_before)
    if name is not None and not gates and task.stages:
        return _unknown_approval(task, name, subject)
    # Approvals in a skipped stage never run, so they need no decision.
    relevant = [gate for gate in gates if gate.status != WorkflowStatus.SKIPPED]
    for gate in relevant:
        if gate.is_decided and gate_decision(gate) != "approve":
            return _decided(subject, task, gate)
    if relevant and all(gate_decision(gate) == "approve" for gate in relevant):
        return _decided(subject, task, relevant[-1])
    if task.status.is_terminal:
        return _ended_first(task, criteria, subject)
    return None


def _decided(subject: WaitSubject, task: WorkflowTask, gate: ApprovalGate) -> WaitResult:
    summary = approval_summary(gate)
    decision = gate_decision(gate)
    summary["decision"] = decision
    if decision == "approve":
        return subject.result("success", task, f"{subject.label}: {decision_text(gate)}.", approval=summary)
    if decision == "reject":
        return subject.result("failure", task, f"{subject.label}: {decision_text(gate)}.", approval=summary)
    message = (
        f"{subject.label}: {gate_label(gate)} ended with status {gate.status.value!r} without a decision."
    )
    return subject.result("failure", task, message, approval=summary)


def _decision_from_task_status(
    task: WorkflowTask, subject: WaitSubject, gate: ApprovalGate
) -> WaitResult | None:
    # The server reported the pending approval only through the task status. A task that leaves
    # wait_for_approval and goes on was approved, and one that ends ``reject`` was rejected.
    if task.status.is_waiting_for_approval:
        return None
    if task.status == WorkflowStatus.REJECT:
        return _decided(subject, task, gate.model_copy(update={"decision": "reject", "status": task.status}))
    if task.status.is_failure:
        return _decided(subject, task, gate.model_copy(update={"status": task.status}))
    approved = gate.model_copy(update={"decision": "approve", "status": WorkflowStatus.PASSED})
    return _decided(subject, task, approved)


def _unknown_approval(task: WorkflowTask, name: str, subject: WaitSubject) -> WaitResult:
    # Zadig creates every stage and job of a task when it creates the task, so an approval name that
    # matches nothing now never will: waiting until the timeout would only hide a typo.
    gates = task.approval_gates()
    known = ", ".join(repr(gate.job_task_name or gate.stage_name) for gate in gates) or "none"
    message = (
        f"{subject.label} has no approval named {name!r} (its approvals: {known}). Set approval_name "
        "to a stage name, an approval job name or a job task name of the task, or to None for the "
        "first pending approval."
    )
    return subject.result("failure", task, message)


def _ended_first(task: WorkflowTask, criteria: WaitCriteria, subject: WaitSubject) -> WaitResult:
    message = f"{subject.label} ended with status {task.status.value!r} before {criteria.goal}"
    gates = task.approval_gates()
    name = criteria.approval_name
    if not gates:
        message += "; the task has no approval"
    elif name is not None and not any(gate.matches(name) for gate in gates):
        known = ", ".join(repr(gate.job_task_name or gate.stage_name) for gate in gates)
        message += f"; it has no approval named {name!r} (its approvals: {known})"
    return subject.result("failure", task, message + ".")
