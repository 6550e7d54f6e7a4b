"""
Task actions with the rules and error texts of Zadig v3.4.0: cancel, retry, approve, and forcing a status.

Callers hold ``store.lock``.
"""

from __future__ import annotations

import time
from typing import Any

from airflow_provider_zadig.simulator.engine import ACTIVE_JOB_STATUSES, now_seconds
from airflow_provider_zadig.simulator.errors import NO_DOCUMENTS, CodedError, PlainError
from airflow_provider_zadig.simulator.state import (
    RETRYABLE_STATUSES,
    SUCCESS_STATUSES,
    TERMINAL_STATUSES,
    JobRun,
    Store,
    TaskRecord,
)
from airflow_provider_zadig.simulator.users import SimulatorUser


def cancel_task(store: Store, workflow_key: str, task_id: int, user: SimulatorUser) -> None:
    """
    Cancel a task. Cancelling a task that already failed, timed out, was rejected or was cancelled
    succeeds and sets it to ``cancelled``; only a passed task is refused.

    :raises CodedError: 6163 when the task does not exist or has passed.
    """
    task = store.find_task(workflow_key, task_id)
    if task is None:
        raise CodedError(6163, NO_DOCUMENTS)
    if task.status == "passed":
        raise CodedError(6163, f"task: {workflow_key}:{task_id} is passed, cannot cancel")
    if task.status == "waiting":
        # A task cancelled before it started keeps end_time 0.
        task.status = "cancelled"
    elif task.status in TERMINAL_STATUSES:
        task.status = "cancelled"
    else:
        _stop_running_task(task, "cancelled")
    task.revoker = user.name
    task.frozen = False


def _stop_running_task(task: TaskRecord, status: str) -> None:
    for stage in task.stages:
        if stage.status == "running":
            stage.status = status
            stage.end_time = now_seconds()
        for job in stage.jobs:
            if job.status in ACTIVE_JOB_STATUSES:
                job.status = status
                job.end_time = now_seconds()
                job.approval_deadline = None
    task.status = status
    task.end_time = now_seconds()


def retry_task(store: Store, workflow_key: str, task_id: int) -> None:
    """
    Put a failed, timed-out, cancelled or rejected task back to ``waiting`` under the same task id.

    Jobs and stages that passed or were skipped keep their result; the others run again.

    :raises CodedError: 6161 when the task does not exist.
    :raises PlainError: when the task status does not allow a retry.
    """
    task = store.find_task(workflow_key, task_id)
    if task is None:
        raise CodedError(6161, NO_DOCUMENTS)
    if task.status not in RETRYABLE_STATUSES:
        raise PlainError("工作流任务状态无法重试")
    for stage in task.stages:
        if stage.status in SUCCESS_STATUSES:
            continue
        stage.status, stage.start_time, stage.end_time, stage.error = "", 0, 0, ""
        for job in stage.jobs:
            if job.status not in SUCCESS_STATUSES:
                _reset_job(job)
    task.status = "waiting"
    task.end_time = 0
    task.error = ""
    task.is_restart = True
    task.frozen = False
    task.ready_at = time.monotonic() + store.settings.step_seconds


def _reset_job(job: JobRun) -> None:
    job.status, job.start_time, job.end_time, job.error = "", 0, 0, ""
    job.approval_deadline = None
    native = job.spec.get("native_approval") if job.type == "approval" else None
    if isinstance(native, dict):
        for key in ("approve_users", "flat_approve_users"):
            for user in native.get(key) or []:
                user.update({"reject_or_approve": "", "comment": "", "operation_time": 0})


def approve_task(store: Store, request: dict[str, Any], user: SimulatorUser) -> None:
    """
    Record ``user``'s vote on a pending native approval, addressed by its job task name in ``stage_name``.

    The engine decides the job at its next step, as Zadig's approval loop does about every second, so
    a second vote by the same user in between gets "have approve already".

    :raises CodedError: 6169 with Zadig v3.4.0's description for each refusal.
    """
    workflow_key = str(request.get("workflow_key") or "")
    job_name = str(request.get("stage_name") or "")
    task_id = int(request.get("task_id") or 0)
    if not workflow_key or not job_name or task_id == 0:
        description = f"can not find approved workflow: {workflow_key}, taskID: {task_id},jobName: {job_name}"
        raise CodedError(6169, description)
    job = _pending_native_approval(store, workflow_key, task_id, job_name)
    native = job.spec["native_approval"]
    vote = _find_approver(native.get("approve_users") or [], user)
    if vote is None:
        raise CodedError(6169, f"user {user.name} has no authority to Approve")
    if vote.get("reject_or_approve"):
        raise CodedError(6169, f"{user.name} have {vote['reject_or_approve']} already")
    decision = "approve" if request.get("approve") else "reject"
    vote.update({"reject_or_approve": decision, "comment": str(request.get("comment") or "")})
    vote["operation_time"] = now_seconds()
    _mirror_vote(native, vote)


def _pending_native_approval(store: Store, workflow_key: str, task_id: int, job_name: str) -> JobRun:
    task = store.find_task(workflow_key, task_id)
    jobs = task.jobs if task is not None else []
    job = next((job for job in jobs if job.name == job_name), None)
    if job is None or job.type != "approval" or job.status != "wait_for_approval":
        raise CodedError(6169, "not found approval")
    if job.spec.get("type", "native") != "native":
        raise CodedError(6169, "not found approval")
    return job


def _find_approver(approvers: list[dict[str, Any]], user: SimulatorUser) -> dict[str, Any] | None:
    # Zadig matches approvers by uid; an entry written without a user_id matches by name instead.
    for approver in approvers:
        if approver.get("type", "user") != "user":
            continue
        if approver.get("user_id") == user.uid or (
            not approver.get("user_id") and approver.get("user_name") == user.name
        ):
            return approver
    return None


def _mirror_vote(native: dict[str, Any], vote: dict[str, Any]) -> None:
    for approver in native.get("flat_approve_users") or []:
        if approver.get("user_id") == vote.get("user_id") and approver.get("user_name") == vote.get(
            "user_name"
        ):
            approver.update({key: vote[key] for key in ("reject_or_approve", "comment", "operation_time")})


def force_task_status(
    store: Store, workflow_key: str, task_id: int, status: str, freeze: bool = True
) -> None:
    """
    Set a task's status directly.

    A terminal status also ends the running stage and its active jobs with that status. With ``freeze``
    the engine leaves the task alone afterwards, so a test can walk it through any sequence of
    statuses, including values Zadig never sends. Without ``freeze``, a ``waiting`` or ``running``
    task carries on from where it is.

    :raises LookupError: when the task does not exist.
    """
    task = store.find_task(workflow_key, task_id)
    if task is None:
        raise LookupError(f"task {task_id} of workflow {workflow_key} not found")
    if status in TERMINAL_STATUSES:
        _stop_running_task(task, status)
    else:
        task.status = status
        task.end_time = 0
    task.frozen = freeze
    task.ready_at = task.next_step_at = time.monotonic()
