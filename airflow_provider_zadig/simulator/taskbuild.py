"""
Build a workflow task from a saved workflow and an execute request, with Zadig v3.4's checks.

The job specs in a task follow the task detail of a real server. An approval job carries
``JobTaskApprovalSpec`` with the approvers' votes. Build and deploy jobs carry the short previews
shown in Zadig's OpenAPI documentation. Every other job carries its saved spec, updated with the
execute input.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from airflow_provider_zadig.simulator.errors import PlainError
from airflow_provider_zadig.simulator.state import JobRun, StageRun, TaskRecord, WorkflowRecord

#: Job types whose execute ``inputs`` Zadig v3.4.0 can apply. Any other type gives a plain 500.
INPUT_JOB_TYPES = frozenset(
    {
        "plugin",
        "freestyle",
        "zadig-build",
        "zadig-deploy",
        "custom-deploy",
        "zadig-test",
        "zadig-scanning",
        "sql",
        "k8s-canary-deploy",
        "k8s-blue-green-deploy",
        "k8s-gray-release",
        "k8s-resource-patch",
        "zadig-vm-deploy",
    }
)


def job_task_name(stage_index: int, job_index: int, job_name: str) -> str:
    """Return the name a job gets in a task: ``job-<stage index>-<job index>-0-<job name>``."""
    return f"job-{stage_index}-{job_index}-0-{job_name}"


def merge_params(workflow: WorkflowRecord, parameters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """
    Return the workflow's params with the requested values applied.

    :raises PlainError: for a parameter the workflow does not define, or a choice value that is not
        one of the options (both are plain errors, so HTTP 500, in Zadig v3.4.0).
    """
    params = copy.deepcopy(workflow.params)
    by_name = {param.get("name"): param for param in params}
    for requested in parameters:
        name = str(requested.get("name") or "")
        param = by_name.get(name)
        if param is None:
            raise PlainError(f"param {name} not found in workflow {workflow.key}")
        _apply_param(param, requested)
    return params


def _apply_param(param: dict[str, Any], requested: dict[str, Any]) -> None:
    if param.get("type") == "repo":
        repo = dict(param.get("repo") or {})
        repo.update(requested.get("repo") or {})
        param["repo"] = repo
        return
    value = requested.get("value")
    value = "" if value is None else str(value)
    options = param.get("choice_option") or []
    if param.get("type") == "choice" and value not in options:
        raise PlainError(f"invalid choice value {value} for param {param.get('name')}")
    param["value"] = value


def index_inputs(workflow: WorkflowRecord, inputs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """
    Return the execute inputs by job name. Inputs naming no job of the workflow are dropped, as Zadig does.

    :raises PlainError: when an input names a job whose type takes no inputs.
    """
    job_types = {
        job.get("name"): job.get("type") for stage in workflow.stages for job in stage.get("jobs") or []
    }
    indexed: dict[str, dict[str, Any]] = {}
    for job_input in inputs:
        name = job_input.get("job_name")
        if name not in job_types:
            continue
        if job_types[name] not in INPUT_JOB_TYPES:
            raise PlainError(f"undefined job type of type:{job_types[name]}")
        indexed[str(name)] = dict(job_input.get("parameters") or {})
    return indexed


def build_stages(
    workflow: WorkflowRecord, inputs: dict[str, dict[str, Any]], task_id: int, skip_unlisted: bool
) -> list[StageRun]:
    """Return the task's stages. With ``skip_unlisted`` (Zadig 3.4.1), jobs not in ``inputs`` are skipped."""
    stages = []
    for stage_index, stage in enumerate(workflow.stages):
        jobs = []
        for job_index, job in enumerate(stage.get("jobs") or []):
            name = str(job.get("name") or "")
            job_input = inputs.get(name)
            spec = build_job_spec(job, job_input, task_id)
            run = JobRun(job_task_name(stage_index, job_index, name), name, str(job.get("type") or ""), spec)
            run.error_policy = job.get("error_policy")
            if job.get("skipped") or (skip_unlisted and job_input is None):
                run.status = "skipped"
            jobs.append(run)
        stages.append(StageRun(str(stage.get("name") or ""), bool(stage.get("parallel")), jobs))
    return stages


def build_job_spec(job: dict[str, Any], job_input: dict[str, Any] | None, task_id: int) -> dict[str, Any]:
    """Return the spec a job shows in the task detail."""
    spec = copy.deepcopy(job.get("spec") or {})
    if job_input:
        spec.update(copy.deepcopy(job_input))
    job_type = job.get("type")
    if job_type == "approval":
        return approval_task_spec(spec)
    if job_type == "zadig-build":
        return _build_preview(spec, task_id)
    if job_type == "zadig-deploy":
        return _deploy_preview(spec)
    return spec


def approval_task_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Return ``JobTaskApprovalSpec``. A timeout of 0 means 60 minutes, and approvers start without a vote."""
    approval_type = str(spec.get("type") or "native")
    timeout = int(spec.get("timeout") or 0) or 60
    task_spec: dict[str, Any] = {"timeout": timeout, "type": approval_type}
    task_spec["description"] = str(spec.get("description") or "")
    kind = copy.deepcopy(spec.get(f"{approval_type}_approval") or {})
    if approval_type == "native":
        users = [_approver(user) for user in kind.get("approve_users") or []]
        kind.update({"timeout": int(kind.get("timeout") or timeout), "approve_users": users})
        kind.update(
            {"flat_approve_users": copy.deepcopy(users), "reject_or_approve": "", "instance_code": ""}
        )
        kind["needed_approvers"] = int(kind.get("needed_approvers") or 0)
    task_spec[f"{approval_type}_approval"] = kind
    return task_spec


def _approver(user: dict[str, Any]) -> dict[str, Any]:
    # NOTE: Zadig expands approver groups into their users when the task is created. The simulator
    # has no groups, so a group entry stays as it is and can never vote.
    approver = {"type": user.get("type") or "user", "user_id": user.get("user_id") or ""}
    approver.update({"user_name": user.get("user_name") or "", "reject_or_approve": ""})
    approver.update({"comment": "", "operation_time": 0})
    for key in ("group_id", "group_name"):
        if user.get(key):
            approver[key] = user[key]
    return approver


def _build_preview(spec: dict[str, Any], task_id: int) -> dict[str, Any]:
    builds = spec.get("service_list") or spec.get("service_and_builds") or [{}]
    build = builds[0]
    module = str(build.get("service_module") or "")
    repos = copy.deepcopy(build.get("repo_info") or build.get("repos") or [])
    branch = str(repos[0].get("branch") or "main") if repos else "main"
    stamp = time.strftime("%Y%m%d%H%M%S")
    image = f"registry.example.com/zadig/{build.get('image_name') or module}:{stamp}-{task_id}-{branch}"
    envs = copy.deepcopy(build.get("key_vals") or [])
    for override in build.get("inputs") or []:
        for env in envs:
            if env.get("key") == override.get("key"):
                env["value"] = override.get("value")
    service = str(build.get("service_name") or "")
    return {"repos": repos, "image": image, "service_name": service, "service_module": module, "envs": envs}


def _deploy_preview(spec: dict[str, Any]) -> dict[str, Any]:
    services = spec.get("service_list") or spec.get("service_and_images") or []
    images = []
    for service in services:
        entry = {
            "service_name": service.get("service_name") or "",
            "service_module": service.get("service_module"),
        }
        entry["image"] = service.get("image_name") or service.get("image") or ""
        images.append(entry)
    env = str(spec.get("env_name") or spec.get("env") or "")
    skip_check = bool(spec.get("skip_check_run_status"))
    return {"env": env, "skip_check_run_status": skip_check, "service_and_images": images}


def new_task(
    workflow: WorkflowRecord, task_id: int, creator: str, params: list[dict[str, Any]], stages: list[StageRun]
) -> TaskRecord:
    """Return a new ``waiting`` task. ``task_revoker`` starts as the creator, as in Zadig."""
    now = int(time.time())
    task = TaskRecord(
        workflow_key=workflow.key,
        project_key=workflow.project,
        workflow_display_name=workflow.display_name,
        task_id=task_id,
        creator=creator,
        create_time=now,
        params=params,
        stages=stages,
    )
    task.revoker = creator
    # Zadig sets start_time at creation and again when the task starts running.
    task.start_time = now
    return task
