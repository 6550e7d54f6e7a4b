"""
Choose the approval that an approve call decides, and interpret Zadig's responses to that call.

Since Zadig v3.1 an approval is a job of type ``approval``, and the approve call's ``stage_name``
field takes the job task name (``job-1-0-0-approval``). Older servers kept the approval on the
stage and took the stage name. Users may name either, or the approval job, so the hook reads the
task detail and sends the name that the server expects.
"""

from __future__ import annotations

import re

from airflow_provider_zadig.exceptions import (
    ZadigAPIError,
    ZadigConfigurationError,
    ZadigNotFoundError,
    ZadigPermissionError,
)
from airflow_provider_zadig.models import ApprovalGate, WorkflowTask
from airflow_provider_zadig.models.task import API_APPROVAL_TYPES

#: Approval kinds that are decided in a chat app, with the app's name.
IN_APP_APPROVALS = {"lark": "Feishu (Lark)", "dingtalk": "DingTalk", "workwx": "WeCom (WeChat Work)"}

_ALREADY_VOTED = re.compile(r"have (?P<decision>approve|reject) already", re.IGNORECASE)
_NO_AUTHORITY = re.compile(r"user (?P<user>.+?) has no authority to approve", re.IGNORECASE)
_NOT_FOUND = re.compile(r"not found approval", re.IGNORECASE)


def describe_gate(gate: ApprovalGate) -> str:
    """Return a label such as ``stage 'deploy' / job 'approval' / job task 'job-1-0-0-approval'``."""
    names = [f"stage {gate.stage_name!r}"]
    if gate.job_name:
        names.append(f"job {gate.job_name!r}")
    if gate.job_task_name and gate.job_task_name != gate.stage_name:
        names.append(f"job task {gate.job_task_name!r}")
    state = gate.decision or gate.status.value or "not started"
    return f"{' / '.join(names)} ({gate.approval_type or 'native'}, {state})"


def describe_gates(task: WorkflowTask) -> str:
    """Return every approval of a task, for error messages."""
    gates = task.approval_gates()
    return "; ".join(describe_gate(gate) for gate in gates) if gates else "none"


def select_gate(task: WorkflowTask, approval_name: str | None, workflow_key: str) -> ApprovalGate:
    """
    Return the approval called ``approval_name``, or the pending one when it is ``None``.

    :raises ZadigConfigurationError: no approval has that name, or the approval is decided in a chat
        app (Feishu, DingTalk, WeCom), which the OpenAPI approve call cannot do.
    """
    where = f"task {task.task_id} of workflow {workflow_key!r}"
    gate = task.find_approval(approval_name)
    if gate is None and approval_name is None:
        raise ZadigConfigurationError(f"{where.capitalize()} has no approval to decide.")
    if gate is None:
        raise ZadigConfigurationError(
            f"No approval named {approval_name!r} in {where}. Name its stage, its approval job or its "
            f"job task. The task's approvals: {describe_gates(task)}."
        )
    app = IN_APP_APPROVALS.get(gate.approval_type)
    if app is not None:
        raise ZadigConfigurationError(
            f"Approval {describe_gate(gate)} in {where} is a {app} approval: decide it in {app}. "
            "The Zadig OpenAPI can decide only native Zadig approvals."
        )
    if not gate.can_approve_through_api and not gate.stage_name:
        raise ZadigConfigurationError(
            f"{where.capitalize()} waits for an approval, but the server does not say which one "
            f"({describe_gate(gate)}). Name the approval's stage in approval_name."
        )
    if gate.approval_type not in API_APPROVAL_TYPES:
        raise ZadigConfigurationError(
            f"Approval {describe_gate(gate)} in {where} has the kind {gate.approval_type!r}, which the "
            "Zadig OpenAPI cannot decide. Decide it in Zadig."
        )
    return gate


def approve_target(gate: ApprovalGate) -> str:
    """Return the name that the approve call sends as ``stage_name``."""
    return gate.job_task_name or gate.stage_name


def already_voted(error: ZadigAPIError) -> str | None:
    """Return ``approve`` or ``reject`` when Zadig rejected a second vote of the same user, else ``None``."""
    match = _ALREADY_VOTED.search(error.description or "")
    return match.group("decision").lower() if match else None


def approval_error(
    error: ZadigAPIError, gate: ApprovalGate, task: WorkflowTask, conn_id: str, user: str | None
) -> ZadigAPIError:
    """Return a clearer error for Zadig's responses to an approve call, or ``error`` itself."""
    description = error.description or ""
    where = f"task {task.task_id} of workflow {task.workflow_key or '?'!r}"
    authority = _NO_AUTHORITY.search(description)
    if authority is not None:
        approver = authority.group("user") or user or "?"
        message = (
            f"User {approver!r}, the owner of the API token in Airflow connection {conn_id!r}, is not an "
            f"approver of approval {describe_gate(gate)} in {where}. Add the user to the approval's "
            f"approvers, or use an approver's token. Zadig responded: {description}"
        )
        return _copy(ZadigPermissionError, error, message)
    if _NOT_FOUND.search(description):
        message = (
            f"Zadig found no pending approval {approve_target(gate)!r} in {where}: the approval is not "
            f"waiting for a decision (yet or any more). The task's approvals: {describe_gates(task)}. "
            f"Zadig responded: {description}"
        )
        return _copy(ZadigNotFoundError, error, message)
    return error


def _copy(error_class: type[ZadigAPIError], error: ZadigAPIError, message: str) -> ZadigAPIError:
    copy = error_class(
        message,
        status_code=error.status_code,
        code=error.code,
        description=error.description,
        server_message=error.server_message,
        method=error.method,
        path=error.path,
    )
    copy.retry_after = error.retry_after
    return copy
