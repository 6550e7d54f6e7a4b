"""Workflow task endpoints: list, detail, execute, cancel, retry, approve, and the remark update."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from airflow_provider_zadig.simulator import taskbuild
from airflow_provider_zadig.simulator.actions import approve_task, cancel_task, retry_task
from airflow_provider_zadig.simulator.binding import (
    current_user,
    query_int,
    require,
    should_bind_json,
    store_of,
)
from airflow_provider_zadig.simulator.errors import (
    NO_DOCUMENTS,
    BadRequest,
    CodedError,
    PlainError,
    json_response,
    success_response,
)
from airflow_provider_zadig.simulator.render import task_detail, task_list_item
from airflow_provider_zadig.simulator.state import Store, TaskRecord, WorkflowRecord
from airflow_provider_zadig.simulator.users import SimulatorUser

router = APIRouter()

_REPO_SCHEMA = {
    "codehost_name": "string",
    "repo_namespace": "string",
    "repo_name": "string",
    "branch": "string",
    "prs": ["int"],
}
EXECUTE_SCHEMA: dict[str, Any] = {
    "workflow_key": "string",
    "project_key": "string",
    "parameters": [{"name": "string", "type": "string", "value": "string", "repo": _REPO_SCHEMA}],
    "inputs": [{"job_name": "string", "job_type": "string", "parameters": "any"}],
}
APPROVE_SCHEMA = {
    "task_id": "int",
    "workflow_key": "string",
    "stage_name": "string",
    "approve": "bool",
    "comment": "string",
}
REMARK_SCHEMA = {"remark": "string"}
DEFAULT_PAGE_SIZE = 10


@router.get("/openapi/workflows/custom/{workflow_key}/tasks")
async def list_tasks(request: Request, workflow_key: str) -> Response:
    page_num = query_int(request, "pageNum", 1)
    page_size = query_int(request, "pageSize", DEFAULT_PAGE_SIZE)
    # Zadig filters on the project without checking it, so a missing or wrong projectKey lists nothing.
    project_key = request.query_params.get("projectKey", "")
    store = store_of(request)
    with store.lock:
        tasks = [
            task
            for task in store.tasks
            if task.workflow_key == workflow_key and task.project_key == project_key and not task.is_deleted
        ]
        page = _page(tasks, page_num, page_size)
        return json_response({"total": len(tasks), "workflow_tasks": [task_list_item(task) for task in page]})


def _page(tasks: list[TaskRecord], page_num: int, page_size: int) -> list[TaskRecord]:
    """Page like Zadig's Mongo query: newest first. ``pageNum <= 0`` and ``pageSize == 0`` return all."""
    if page_num <= 0:
        # Zadig then sets no sort, skip or limit, so Mongo returns every task in insertion order.
        return list(tasks)
    skip = (page_num - 1) * page_size
    if skip < 0:
        raise PlainError(f"(BadValue) BSON field 'skip' value must be >= 0, actual value '{skip}'")
    newest_first = sorted(tasks, key=lambda task: (task.create_time, task.task_id), reverse=True)
    # Mongo treats a negative limit like its absolute value, and 0 as no limit.
    limit = abs(page_size)
    return newest_first[skip : skip + limit] if limit else newest_first[skip:]


@router.get("/openapi/workflows/custom/task")
async def get_task(request: Request) -> Response:
    task_id = query_int(request, "taskId", 0)
    workflow_key = request.query_params.get("workflowKey", "")
    store = store_of(request)
    with store.lock:
        task = store.find_task(workflow_key, task_id)
        if task is None:
            raise PlainError(NO_DOCUMENTS)
        return json_response(task_detail(task))


@router.post("/openapi/workflows/custom/task")
async def execute_workflow(request: Request) -> Response:
    body = await should_bind_json(request, EXECUTE_SCHEMA, "OpenAPICreateCustomWorkflowTaskArgs", BadRequest)
    user = current_user(request)
    require(user.can_execute)
    store = store_of(request)
    with store.lock:
        workflow = store.workflows.get(str(body.get("workflow_key") or ""))
        if workflow is None:
            raise CodedError(6542, NO_DOCUMENTS)
        task = _create_task(store, workflow, body, user)
        return json_response(
            {"project_name": workflow.project, "workflow_name": workflow.key, "task_id": task.task_id}
        )


def _create_task(
    store: Store, workflow: WorkflowRecord, body: dict[str, Any], user: SimulatorUser
) -> TaskRecord:
    if workflow.definition.get("enable_approval_ticket"):
        raise CodedError(
            6160, "workflow need approval ticket to run, which is not supported by openAPI right now."
        )
    params = taskbuild.merge_params(workflow, body.get("parameters") or [])
    inputs = taskbuild.index_inputs(workflow, body.get("inputs") or [])
    if workflow.definition.get("disabled"):
        raise CodedError(6160, "workflow is disabled")
    # The counter moves before the last checks, so a failure below leaves a gap in the task ids.
    task_id = store.next_task_id(workflow.key)
    skip_unlisted = store.settings.skips_jobs_without_inputs
    stages = taskbuild.build_stages(workflow, inputs, task_id, skip_unlisted)
    if not any(stage.jobs for stage in stages):
        raise CodedError(6160, f"no stage found in workflow task: {workflow.key}")
    task = taskbuild.new_task(workflow, task_id, user.name, params, [stage for stage in stages if stage.jobs])
    task.ready_at = time.monotonic() + store.settings.step_seconds
    store.tasks.append(task)
    return task


@router.delete("/openapi/workflows/custom/task")
async def cancel_workflow_task(request: Request) -> Response:
    task_id = query_int(request, "taskId", 0)
    workflow_key = request.query_params.get("workflowKey", "")
    store = store_of(request)
    with store.lock:
        cancel_task(store, workflow_key, task_id, current_user(request))
    return success_response()


def _path_task_id(raw: str, message: str) -> int:
    try:
        return int(raw, 10)
    except ValueError:
        raise BadRequest(message) from None


@router.post("/openapi/workflows/custom/{workflow_key}/task/{task_id}")
async def retry_workflow_task(request: Request, workflow_key: str, task_id: str) -> Response:
    # The spelling of this description is Zadig v3.4.0's own.
    number = _path_task_id(task_id, "taksID is invalid")
    store = store_of(request)
    with store.lock:
        retry_task(store, workflow_key, number)
    return success_response()


@router.put("/openapi/workflows/custom/{workflow_key}/task/{task_id}")
async def update_task_remark(request: Request, workflow_key: str, task_id: str) -> Response:
    store = store_of(request)
    with store.lock:
        if workflow_key not in store.workflows:
            raise BadRequest(f"查询workflow失败: {NO_DOCUMENTS}")
    require(current_user(request).can_execute)
    number = _path_task_id(task_id, "invalid task id")
    body = await should_bind_json(request, REMARK_SCHEMA, "UpdateWorkflowV4TaskRemarkReq", BadRequest)
    with store.lock:
        task = store.find_task(workflow_key, number)
        if task is None:
            raise PlainError(f"cannot find workflow task, workflow name: {workflow_key}, task id: {number}")
        # An empty remark cannot clear the old one: Zadig's update skips empty fields.
        if body.get("remark"):
            task.remark = str(body["remark"])
    return success_response()


@router.post("/openapi/workflows/custom/task/approve")
async def approve_workflow_task(request: Request) -> Response:
    body = await should_bind_json(request, APPROVE_SCHEMA, "OpenAPIApproveRequest", _unmarshal_error)
    store = store_of(request)
    with store.lock:
        approve_task(store, body, current_user(request))
    return success_response()


def _unmarshal_error(error: str) -> PlainError:
    return PlainError(f"failed to unmarshal request data, error: {error}")
