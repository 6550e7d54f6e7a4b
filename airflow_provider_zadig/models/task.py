"""Workflow task models: the task list, the task detail with its stages and jobs, and approval gates."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field, field_validator, model_validator

from airflow_provider_zadig.models.base import ZadigResponseModel, redact_credentials
from airflow_provider_zadig.models.status import WorkflowStatus, parse_status

# Job task names in a task detail are ``job-<stage index>-<job index>-<sub index>-<job name>``.
JOB_TASK_NAME_PATTERN = re.compile(r"^job-\d+-\d+-\d+-(?P<job_name>.+)$")

#: Approval kinds that can be decided through the OpenAPI approve call. Lark (Feishu), DingTalk and
#: WeCom (``workwx``) approvals are decided inside those apps.
API_APPROVAL_TYPES = frozenset({"native", ""})

Decision = Literal["approve", "reject", ""]


def _status_field(value: Any) -> WorkflowStatus:
    return parse_status(value)


class ExecuteWorkflowResult(ZadigResponseModel):
    """The body of a successful ``POST /openapi/workflows/custom/task``."""

    # ``project_name`` is the workflow's real project and ``workflow_name`` is the workflow key.
    project_name: str = ""
    workflow_name: str = ""
    task_id: int

    @property
    def workflow_key(self) -> str:
        return self.workflow_name

    @property
    def project_key(self) -> str:
        return self.project_name


class WorkflowTaskBrief(ZadigResponseModel):
    """One entry of the task list. The list has no ``params`` and no ``remark``; the detail has both."""

    workflow_key: str = ""
    workflow_name: str = ""
    project_key: str = ""
    task_id: int
    create_time: int = 0
    task_creator: str = ""
    start_time: int = 0
    end_time: int = 0
    status: WorkflowStatus = WorkflowStatus.NOT_STARTED

    _parse_status = field_validator("status", mode="before")(_status_field)


class WorkflowTaskList(ZadigResponseModel):
    """The body of ``GET /openapi/workflows/custom/{workflow_key}/tasks``."""

    total: int = 0
    workflow_tasks: list[WorkflowTaskBrief] = Field(default_factory=list)


class ApproverVote(BaseModel):
    """One approver of an approval and what they decided."""

    user_name: str = ""
    user_id: str = ""
    decision: Decision = ""
    comment: str = ""
    operation_time: int = 0


class ApprovalGate(BaseModel):
    """
    A manual approval in a workflow task, in either shape that servers send.

    Since Zadig v3.1 an approval is a job of type ``approval`` whose status is ``wait_for_approval``
    while it is pending. Older servers put an ``approval`` object on the stage instead
    (``legacy=True``).
    """

    stage_name: str
    # The approval job's own name (``approval-prod``), or ``None`` for a stage-level approval.
    job_name: str | None = None
    # The name the approve call expects in its ``stage_name`` field. It is the job task name
    # (``job-1-0-0-approval-prod``) for an approval job and the stage name for a stage-level approval.
    # It is ``None`` when an older server reports a pending approval only through the task status.
    job_task_name: str | None = None
    # ``native``, ``lark``, ``dingtalk`` or ``workwx``.
    approval_type: str = "native"
    status: WorkflowStatus = WorkflowStatus.NOT_STARTED
    decision: Decision = ""
    votes: list[ApproverVote] = Field(default_factory=list)
    needed_approvers: int | None = None
    description: str = ""
    legacy: bool = False

    @property
    def is_pending(self) -> bool:
        """Whether the approval waits for a decision now."""
        return self.decision == "" and self.status.is_waiting_for_approval

    @property
    def is_decided(self) -> bool:
        """Whether the approval was approved or rejected (or ended without a decision)."""
        return self.decision != "" or self.status.is_terminal

    @property
    def can_approve_through_api(self) -> bool:
        """Whether the OpenAPI approve call can decide it: only native Zadig approvals can."""
        return self.approval_type in API_APPROVAL_TYPES and self.job_task_name is not None

    @property
    def comments(self) -> list[str]:
        """The approvers' comments, as ``user: comment``."""
        return [f"{vote.user_name}: {vote.comment}" for vote in self.votes if vote.comment]

    def matches(self, name: str) -> bool:
        """Check whether ``name`` is this gate's stage name, approval job name or job task name."""
        return name in {self.stage_name, self.job_name, self.job_task_name}


class JobTask(ZadigResponseModel):
    """A job of a workflow task (``stages[].jobs[]`` in the task detail)."""

    # ``job-<stage index>-<job index>-<sub index>-<job name>`` on v3.x servers.
    name: str
    key: str = ""
    display_name: str = ""
    origin_name: str = ""
    type: str = Field(default="", validation_alias=AliasChoices("type", "job_type"))
    status: WorkflowStatus = WorkflowStatus.NOT_STARTED
    start_time: int = 0
    end_time: int = 0
    cost_seconds: int = 0
    error: str = ""
    spec: Any = None

    _parse_status = field_validator("status", mode="before")(_status_field)

    @property
    def job_name(self) -> str:
        """The job's name in the workflow definition, parsed from the job task name."""
        if self.origin_name:
            return self.origin_name
        match = JOB_TASK_NAME_PATTERN.match(self.name)
        return match.group("job_name") if match else self.name

    def approval_gate(self, stage_name: str) -> ApprovalGate | None:
        """Return the approval this job holds, or ``None`` when it is not an approval job."""
        if self.type != "approval":
            return None
        spec = self.spec if isinstance(self.spec, dict) else {}
        approval_type = str(spec.get("type") or "native")
        kind_spec = spec.get(f"{approval_type}_approval") or {}
        votes = [_parse_vote(user) for user in kind_spec.get("approve_users") or []]
        needed = kind_spec.get("needed_approvers")
        return ApprovalGate(
            stage_name=stage_name,
            job_name=self.job_name,
            job_task_name=self.name,
            approval_type=approval_type,
            status=self.status,
            decision=_job_decision(self.status, votes, needed),
            votes=votes,
            needed_approvers=needed if isinstance(needed, int) else None,
            description=str(spec.get("description") or ""),
        )


class StageTask(ZadigResponseModel):
    """A stage of a workflow task."""

    name: str
    status: WorkflowStatus = WorkflowStatus.NOT_STARTED
    start_time: int = 0
    end_time: int = 0
    parallel: bool = False
    # Pre-v3.1 servers only. Newer servers define approvals as jobs.
    approval: dict[str, Any] | None = None
    manual_exec: dict[str, Any] | None = None
    jobs: list[JobTask] = Field(default_factory=list)
    error: str = ""

    _parse_status = field_validator("status", mode="before")(_status_field)

    def legacy_approval_gate(self, task_status: WorkflowStatus) -> ApprovalGate | None:
        """Return the stage-level approval of an older server, or ``None``."""
        approval = self.approval
        if not approval or not approval.get("enabled"):
            return None
        votes = [_parse_vote(user) for user in approval.get("approve_users") or []]
        decision = _decision(approval.get("reject_or_approve"))
        if not decision and any(vote.decision == "reject" for vote in votes):
            decision = "reject"
        needed = approval.get("needed_approvers")
        return ApprovalGate(
            stage_name=self.name,
            job_task_name=self.name,
            approval_type=str(approval.get("type") or "native"),
            status=self.status if decision else self._undecided_approval_status(task_status),
            decision=decision,
            votes=votes,
            needed_approvers=needed if isinstance(needed, int) else None,
            description=str(approval.get("description") or ""),
            legacy=True,
        )

    def _undecided_approval_status(self, task_status: WorkflowStatus) -> WorkflowStatus:
        """Return the status of this stage's undecided approval: pending while the stage waits on it."""
        status = self.status
        if not status.is_terminal and (status.is_waiting_for_approval or task_status.is_waiting_for_approval):
            return WorkflowStatus.WAIT_FOR_APPROVAL
        if status in (WorkflowStatus.RUNNING, WorkflowStatus.PREPARE) and all(
            job.status == WorkflowStatus.NOT_STARTED for job in self.jobs
        ):
            # A running stage whose approval is undecided has not started its jobs yet.
            return WorkflowStatus.WAIT_FOR_APPROVAL
        return status


class WorkflowTask(ZadigResponseModel):
    """The body of ``GET /openapi/workflows/custom/task``: one workflow task with its stages and jobs."""

    task_id: int
    workflow_key: str = ""
    workflow_name: str = ""
    project_key: str = ""
    params: list[dict[str, Any]] | None = None
    status: WorkflowStatus = WorkflowStatus.NOT_STARTED
    reverted: bool = False
    remark: str = ""
    task_creator: str = ""
    task_revoker: str = ""
    # Zadig omits the times while they are zero.
    create_time: int = 0
    start_time: int = 0
    end_time: int = 0
    stages: list[StageTask] = Field(default_factory=list)
    error: str = ""
    is_restart: bool = False

    _parse_status = field_validator("status", mode="before")(_status_field)
    _redact = model_validator(mode="before")(lambda data: redact_credentials(data))

    @property
    def jobs(self) -> list[JobTask]:
        """Every job of every stage, in order."""
        return [job for stage in self.stages for job in stage.jobs]

    def approval_gates(self) -> list[ApprovalGate]:
        """
        Return every approval of the task, in stage order, in either shape.

        When an older server reports ``wait_for_approval`` on the task itself and no stage names
        the waiting approval, one pending gate without a job task name represents it.
        """
        gates: list[ApprovalGate] = []
        for stage in self.stages:
            legacy = stage.legacy_approval_gate(self.status)
            if legacy is not None:
                gates.append(legacy)
            for job in stage.jobs:
                gate = job.approval_gate(stage.name)
                if gate is not None:
                    gates.append(gate)
        if self.status.is_waiting_for_approval and not any(gate.is_pending for gate in gates):
            current = next((stage for stage in self.stages if not stage.status.is_terminal), None)
            gates.append(
                ApprovalGate(
                    stage_name=current.name if current else "",
                    status=WorkflowStatus.WAIT_FOR_APPROVAL,
                    legacy=True,
                )
            )
        return gates

    def find_approval(self, name: str | None = None) -> ApprovalGate | None:
        """
        Return the approval called ``name`` (stage name, approval job name or job task name).

        Without a name, return the first pending approval, or else the last approval of the task.
        """
        gates = self.approval_gates()
        if name is not None:
            return next((gate for gate in gates if gate.matches(name)), None)
        pending = next((gate for gate in gates if gate.is_pending), None)
        if pending is not None:
            return pending
        return gates[-1] if gates else None

    def failed_jobs(self) -> list[JobTask]:
        """Return the jobs that ended in a failure status."""
        return [job for job in self.jobs if job.status.is_failure]

    @property
    def all_jobs_skipped(self) -> bool:
        """Whether the task has jobs and every one of them was skipped."""
        jobs = self.jobs
        return bool(jobs) and all(job.status == WorkflowStatus.SKIPPED for job in jobs)

    def describe_stages(self) -> str:
        """Return one line per stage and job, for logs and failure messages."""
        lines = []
        for stage in self.stages:
            lines.append(f"stage {stage.name!r}: {stage.status.value or 'not started'}")
            for job in stage.jobs:
                job_status = job.status.value or "not started"
                line = f"  job {job.job_name!r} ({job.type or 'unknown type'}): {job_status}"
                if job.error:
                    line += f" - {job.error}"
                lines.append(line)
        return "\n".join(lines)


def _decision(value: Any) -> Decision:
    if value in ("approve", "reject"):
        return value
    return ""


def _parse_vote(user: Any) -> ApproverVote:
    if not isinstance(user, dict):
        return ApproverVote()
    return ApproverVote(
        user_name=str(user.get("user_name") or user.get("name") or ""),
        user_id=str(user.get("user_id") or user.get("id") or ""),
        decision=_decision(user.get("reject_or_approve")),
        comment=str(user.get("comment") or ""),
        operation_time=int(user.get("operation_time") or 0),
    )


def _job_decision(status: WorkflowStatus, votes: list[ApproverVote], needed: Any) -> Decision:
    # Zadig does not update the spec's top-level ``reject_or_approve`` for native approvals, so the
    # decision comes from the job status, or else from the votes.
    if status == WorkflowStatus.PASSED:
        return "approve"
    if status == WorkflowStatus.REJECT:
        return "reject"
    if any(vote.decision == "reject" for vote in votes):
        return "reject"
    approvals = sum(1 for vote in votes if vote.decision == "approve")
    if isinstance(needed, int) and needed > 0 and approvals >= needed:
        return "approve"
    return ""
