"""Workflow view endpoints and the pre-approval ticket endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from airflow_provider_zadig.simulator.binding import (
    bind_json,
    current_user,
    require,
    should_bind_json,
    store_of,
)
from airflow_provider_zadig.simulator.engine import now_seconds
from airflow_provider_zadig.simulator.errors import (
    NO_DOCUMENTS,
    BadRequest,
    CodedError,
    PlainError,
    json_response,
    success_response,
)
from airflow_provider_zadig.simulator.render import VIEW_TYPE_NAMES, view_brief
from airflow_provider_zadig.simulator.state import Store, ViewRecord

router = APIRouter()

#: OpenAPI workflow types and the internal names that views store.
VIEW_TYPES = {public: internal for internal, public in VIEW_TYPE_NAMES.items()}
_VIEW_ENTRY_SCHEMA = {
    "workflow_key": "string",
    "workflow_name": "string",
    "workflow_type": "string",
    "enabled": "bool",
}
CREATE_VIEW_SCHEMA: dict[str, Any] = {
    "project_key": "string",
    "name": "string",
    "workflow_list": [_VIEW_ENTRY_SCHEMA],
}
UPDATE_VIEW_SCHEMA: dict[str, Any] = {"workflow_list": [_VIEW_ENTRY_SCHEMA]}
TICKET_SCHEMA: dict[str, Any] = {
    "approval_id": "string",
    "status": "int",
    "project_key": "string",
    "envs": ["string"],
    "services": [{"service_name": "string", "service_module": "string"}],
    "users": [{"name": "string", "email": "string"}],
    "execution_window_start": "int",
    "execution_window_end": "int",
}


@router.get("/openapi/workflows/view")
async def list_views(request: Request) -> Response:
    project_key = request.query_params.get("projectKey", "")
    if not project_key:
        raise BadRequest("projectKey is required")
    store = store_of(request)
    with store.lock:
        views = sorted(
            (v for v in store.views if v.project_key == project_key), key=lambda v: v.name, reverse=True
        )
        return json_response([view_brief(view) for view in views])


def _internal_entries(workflow_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    entries = []
    for item in workflow_list:
        internal_type = VIEW_TYPES.get(str(item.get("workflow_type") or ""))
        if internal_type is None:
            raise BadRequest("workflow type must be custom or product")
        key = str(item.get("workflow_key") or "")
        entries.append(
            {"workflow_key": key, "workflow_type": internal_type, "enabled": bool(item.get("enabled"))}
        )
    return entries


@router.post("/openapi/workflows/view")
async def create_view(request: Request) -> Response:
    body = await bind_json(request, CREATE_VIEW_SCHEMA, "OpenAPICreateWorkflowViewReq")
    user = current_user(request)
    require(user.is_admin)
    project_key = str(body.get("project_key") or "")
    name = str(body.get("name") or "")
    if not project_key:
        raise BadRequest("projectKey cannot be empty")
    if not name:
        raise BadRequest("view name cannot be empty")
    entries = _internal_entries(body.get("workflow_list") or [])
    for entry in entries:
        # Create always enables the listed workflows; whether they exist is not checked.
        entry["enabled"] = True
    store = store_of(request)
    with store.lock:
        if store.find_view(project_key, name) is not None:
            raise CodedError(6892, "mongo duplicate key error")
        store.views.append(ViewRecord(name, project_key, entries, user.name, now_seconds()))
    return success_response()


@router.put("/openapi/workflows/view/{view_name}")
async def update_view(request: Request, view_name: str) -> Response:
    project_key = request.query_params.get("projectKey", "")
    if not project_key:
        raise BadRequest("projectKey cannot be empty")
    body = await should_bind_json(request, UPDATE_VIEW_SCHEMA, "OpenAPIUpdateWorkflowViewReq", BadRequest)
    require(current_user(request).is_admin)
    changes = _internal_entries(body.get("workflow_list") or [])
    store = store_of(request)
    with store.lock:
        view = store.find_view(project_key, view_name)
        if view is None:
            raise PlainError(f"failed to find workflow view {view_name} for project {project_key}")
        keys = [change["workflow_key"] for change in changes]
        if len(keys) != len(set(keys)):
            raise PlainError("workflow name duplicated")
        _merge_view(view, changes)
    return success_response()


def _merge_view(view: ViewRecord, changes: list[dict[str, Any]]) -> None:
    """
    Merge by workflow key: a known key gets the new ``enabled`` flag, an unknown enabled key is appended,
    and an unknown disabled key is ignored. Entries are never removed, and ``update_time`` stays.
    """
    by_key = {entry["workflow_key"]: entry for entry in view.entries}
    for change in changes:
        entry = by_key.get(change["workflow_key"])
        if entry is not None:
            entry["enabled"] = change["enabled"]
        elif change["enabled"]:
            view.entries.append(change)
            by_key[change["workflow_key"]] = change


@router.delete("/openapi/workflows/view/{view_name}")
async def delete_view(request: Request, view_name: str) -> Response:
    project_key = request.query_params.get("projectKey", "")
    if not project_key:
        raise BadRequest("projectKey is required")
    require(current_user(request).is_admin)
    store = store_of(request)
    with store.lock:
        view = store.find_view(project_key, view_name)
        if view is None:
            raise CodedError(6894, f"find workflow view error: {NO_DOCUMENTS}")
        store.views.remove(view)
    return success_response()


@router.post("/openapi/ticket/approval")
async def create_approval_ticket(request: Request) -> Response:
    ticket = await bind_json(request, TICKET_SCHEMA, "ApprovalTicket")
    _check_ticket(ticket)
    store = store_of(request)
    with store.lock:
        _check_ticket_against_store(store, ticket)
        stored = {key: ticket.get(key) for key in TICKET_SCHEMA}
        stored["create_time"] = now_seconds()
        store.tickets.append(stored)
    return success_response()


def _check_ticket(ticket: dict[str, Any]) -> None:
    if not ticket.get("approval_id"):
        raise BadRequest("approval_id cannot be empty")
    if not ticket.get("project_key"):
        raise BadRequest("project_key cannot be empty")
    start = int(ticket.get("execution_window_start") or 0)
    end = int(ticket.get("execution_window_end") or 0)
    if end != 0 and start > end:
        raise BadRequest("invalid time window: start time greater than end time")


def _check_ticket_against_store(store: Store, ticket: dict[str, Any]) -> None:
    if store.settings.license == "basic":
        raise CodedError(7050, "approval tickets need a professional or enterprise license")
    if ticket["project_key"] not in store.projects:
        raise CodedError(7100, f"failed to find project: {NO_DOCUMENTS}")
    approval_id = ticket["approval_id"]
    if any(existing.get("approval_id") == approval_id for existing in store.tickets):
        # The raw Mongo error of the unique index on approval_id.
        raise CodedError(
            7100,
            "write exception: write errors: [E11000 duplicate key error collection: zadig.approval_ticket "
            f'index: approval_id_1 dup key: {{ approval_id: "{approval_id}" }}]',
        )
