"""Workflow endpoints: list, detail, delete, and create/update through the aslan API."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from airflow_provider_zadig.simulator import definitions
from airflow_provider_zadig.simulator.binding import current_user, require, store_of
from airflow_provider_zadig.simulator.engine import now_seconds
from airflow_provider_zadig.simulator.errors import (
    NO_DOCUMENTS,
    BadRequest,
    CodedError,
    PlainError,
    json_response,
    success_response,
)
from airflow_provider_zadig.simulator.render import workflow_brief, workflow_detail
from airflow_provider_zadig.simulator.state import Store, WorkflowRecord

router = APIRouter()


def _required_query(request: Request, name: str, message: str) -> str:
    value = request.query_params.get(name, "")
    if not value:
        raise BadRequest(message)
    return value


@router.get("/openapi/workflows")
async def list_workflows(request: Request) -> Response:
    project_key = _required_query(request, "projectKey", "projectKey is required")
    view_name = request.query_params.get("viewName", "")
    store = store_of(request)
    with store.lock:
        workflows = [wf for wf in store.workflows.values() if wf.project == project_key]
        allowed = _view_filter(store, project_key, view_name)
        if allowed:
            workflows = [wf for wf in workflows if wf.key in allowed]
        return json_response({"workflows": [workflow_brief(wf) for wf in workflows]})


def _view_filter(store: Store, project_key: str, view_name: str) -> set[str]:
    # A view that does not exist, or has no enabled workflows, filters nothing (Zadig v3.4.0).
    view = store.find_view(project_key, view_name) if view_name else None
    if view is None:
        return set()
    return {entry["workflow_key"] for entry in view.entries if entry.get("enabled")}


@router.get("/openapi/workflows/custom/{workflow_key}/detail")
async def get_workflow(request: Request, workflow_key: str) -> Response:
    project_key = _required_query(request, "projectKey", "projectKey is required")
    store = store_of(request)
    with store.lock:
        workflow = store.workflows.get(workflow_key)
        if workflow is None:
            raise PlainError(NO_DOCUMENTS)
        # The project key is not compared with the workflow's project, only echoed back.
        return json_response(workflow_detail(workflow, project_key))


@router.delete("/openapi/workflows/custom")
async def delete_workflow(request: Request) -> Response:
    workflow_key = _required_query(request, "workflowKey", "workflowKey is required")
    # projectKey only feeds the permission check; a non-admin without it is refused.
    require(current_user(request).is_admin)
    store = store_of(request)
    with store.lock:
        if store.workflows.pop(workflow_key, None) is None:
            raise CodedError(6543, NO_DOCUMENTS)
        for task in store.tasks:
            if task.workflow_key == workflow_key:
                task.is_deleted = True
        # Deleting the counter makes a workflow created again with this key start at task 1.
        store.counters.pop(workflow_key, None)
    return success_response()


@router.post("/api/aslan/workflow/v4")
async def create_workflow(request: Request) -> Response:
    definition = definitions.parse_definition(await request.body())
    user = current_user(request)
    require(user.is_admin)
    store = store_of(request)
    with store.lock:
        definitions.check_new_key(store, definition)
        definitions.lint_definition(store, definition)
        record = definitions.new_record(definition, user.name, now_seconds())
        store.workflows[record.key] = record
        _add_to_view(store, record, request.query_params.get("viewName", ""))
    return success_response()


def _add_to_view(store: Store, record: WorkflowRecord, view_name: str) -> None:
    view = store.find_view(record.project, view_name) if view_name else None
    if view is not None and not any(entry["workflow_key"] == record.key for entry in view.entries):
        view.entries.append({"workflow_key": record.key, "workflow_type": "common_workflow", "enabled": True})


@router.put("/api/aslan/workflow/v4/{name}")
async def update_workflow(request: Request, name: str) -> Response:
    definition = definitions.parse_definition(await request.body())
    user = current_user(request)
    require(user.is_admin)
    store = store_of(request)
    with store.lock:
        record = store.workflows.get(name)
        if record is None:
            raise CodedError(6542, NO_DOCUMENTS)
        definitions.check_display_name(store, name, definition)
        # NOTE: Zadig replaces the whole document, ``name`` included, without comparing it with the
        # path. The simulator keeps the workflow under the path's key so it stays reachable.
        definition["name"] = name
        definitions.lint_definition(store, definition)
        record.definition = definition
        record.update_by = user.name
        record.update_time = now_seconds()
    return success_response()
