"""
JSON shapes of the Zadig v3.4.0 OpenAPI responses, built from the simulator's records.

Field names, order and ``omitempty`` rules follow aslan's Go structs: ``OpenAPIWorkflowV4Detail``,
``OpenAPIWorkflowV4Task`` (list items, zeros included) and ``WorkflowTaskPreview`` (detail, where
``status``, ``task_creator``, ``task_revoker``, ``error`` and the zero times are left out).
"""

from __future__ import annotations

import copy
from typing import Any

from airflow_provider_zadig.simulator.state import JobRun, StageRun, TaskRecord, ViewRecord, WorkflowRecord

#: Internal view entry types and the names the OpenAPI uses for them.
VIEW_TYPE_NAMES = {"common_workflow": "custom", "product_workflow": "product"}


def workflow_brief(workflow: WorkflowRecord) -> dict[str, Any]:
    """Return one item of ``GET /openapi/workflows``."""
    return {
        "workflow_key": workflow.key,
        "workflow_name": workflow.display_name,
        "update_by": workflow.update_by,
        "update_time": workflow.update_time,
        "type": "custom",
    }


def workflow_detail(workflow: WorkflowRecord, project_key: str) -> dict[str, Any]:
    """Return ``GET /openapi/workflows/custom/:key/detail``. ``project_key`` echoes the query, as in Zadig."""
    definition = workflow.definition
    return {
        "workflow_key": workflow.key,
        "workflow_name": workflow.display_name,
        "project_key": project_key,
        "description": str(definition.get("description") or ""),
        "created_by": workflow.created_by,
        "create_time": workflow.create_time,
        # Zadig v3.4.0 never fills this field of the OpenAPI detail.
        "updated_by": "",
        "update_time": workflow.update_time,
        "params": [_param(param) for param in workflow.params],
        "stages": [_stage_definition(stage) for stage in workflow.stages],
        "notify_ctls": copy.deepcopy(definition.get("notify_ctls") or []),
        "share_storages": copy.deepcopy(definition.get("share_storages") or []),
        "concurrency_limit": workflow.concurrency_limit,
    }


def _param(param: dict[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "name": param.get("name", ""),
        "description": param.get("description", ""),
        "type": param.get("type", ""),
        "value": param.get("value", ""),
        "repo": copy.deepcopy(param.get("repo")),
    }
    for optional in ("choice_option", "choice_value"):
        if param.get(optional):
            shaped[optional] = copy.deepcopy(param[optional])
    shaped["default"] = param.get("default", "")
    shaped["is_credential"] = bool(param.get("is_credential"))
    if param.get("source"):
        shaped["source"] = param["source"]
    return shaped


def _stage_definition(stage: dict[str, Any]) -> dict[str, Any]:
    # ``parallel: false`` and an empty job list are omitted (omitempty). Stages have no approval since v3.1.
    shaped: dict[str, Any] = {"name": stage.get("name", "")}
    if stage.get("parallel"):
        shaped["parallel"] = True
    jobs = [_job_definition(job) for job in stage.get("jobs") or []]
    if jobs:
        shaped["jobs"] = jobs
    return shaped


def _job_definition(job: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": job.get("name", ""),
        "type": job.get("type", ""),
        "skipped": bool(job.get("skipped")),
        "spec": copy.deepcopy(job.get("spec")),
        "run_policy": job.get("run_policy") or "",
        "error_policy": copy.deepcopy(job.get("error_policy")),
        "service_modules": copy.deepcopy(job.get("service_modules") or []),
    }


def task_list_item(task: TaskRecord) -> dict[str, Any]:
    """Return one item of the task list; it has neither params nor remark."""
    return {
        "workflow_key": task.workflow_key,
        "workflow_name": task.workflow_display_name,
        "project_key": task.project_key,
        "task_id": task.task_id,
        "create_time": task.create_time,
        "task_creator": task.creator,
        "start_time": task.start_time,
        "end_time": task.end_time,
        "status": task.status,
    }


def task_detail(task: TaskRecord) -> dict[str, Any]:
    """Return ``GET /openapi/workflows/custom/task``, shaped like ``WorkflowTaskPreview``."""
    detail: dict[str, Any] = {
        "task_id": task.task_id,
        "workflow_key": task.workflow_key,
        "workflow_name": task.workflow_display_name,
        "params": copy.deepcopy(task.params),
    }
    _put_if(detail, "status", task.status)
    detail.update({"reverted": False, "remark": task.remark})
    _put_if(detail, "task_creator", task.creator)
    _put_if(detail, "task_revoker", task.revoker)
    for key in ("create_time", "start_time", "end_time"):
        _put_if(detail, key, getattr(task, key))
    detail["stages"] = [_stage_task(stage) for stage in task.stages]
    detail["project_key"] = task.project_key
    _put_if(detail, "error", task.error)
    detail.update(
        {"is_restart": task.is_restart, "debug": False, "approval_ticket_id": "", "approval_id": ""}
    )
    return detail


def _put_if(target: dict[str, Any], key: str, value: Any) -> None:
    if value:
        target[key] = value


def _stage_task(stage: StageRun) -> dict[str, Any]:
    shaped: dict[str, Any] = {"name": stage.name, "status": stage.status}
    _put_if(shaped, "start_time", stage.start_time)
    _put_if(shaped, "end_time", stage.end_time)
    shaped.update({"parallel": stage.parallel, "manual_exec": None})
    shaped["jobs"] = [_job_task(job) for job in stage.jobs]
    shaped["error"] = stage.error
    return shaped


def _job_task(job: JobRun) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "name": job.name,
        "key": job.job_name,
        "display_name": job.job_name,
        "origin_name": job.job_name,
        "type": job.type,
        "status": job.status,
        "reverted": False,
    }
    _put_if(shaped, "start_time", job.start_time)
    _put_if(shaped, "end_time", job.end_time)
    cost = job.end_time - job.start_time if job.start_time and job.end_time else 0
    shaped.update(
        {"cost_seconds": cost, "error": job.error, "breakpoint_before": False, "breakpoint_after": False}
    )
    shaped["spec"] = copy.deepcopy(job.spec)
    shaped["error_policy"] = copy.deepcopy(job.error_policy)
    shaped.update(
        {"error_handler_user_id": "", "error_handler_username": "", "retry_count": 0, "job_info": {}}
    )
    return shaped


def view_brief(view: ViewRecord) -> dict[str, Any]:
    """Return one view of ``GET /openapi/workflows/view``, listing only its enabled workflows."""
    workflows = [
        {
            "workflow_key": entry["workflow_key"],
            "workflow_type": VIEW_TYPE_NAMES.get(entry["workflow_type"], "custom"),
        }
        for entry in view.entries
        if entry.get("enabled")
    ]
    return {
        "name": view.name,
        "project_key": view.project_key,
        "workflows": workflows,
        "update_time": view.update_time,
        "update_by": view.update_by,
    }
