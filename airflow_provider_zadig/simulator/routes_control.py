"""
The HTTP control plane under ``/_simulator/``: no authentication, served to loopback clients only.

Endpoints (JSON in and out):

* ``GET /_simulator/health``: ``{"status": "ok", ...settings}``.
* ``POST /_simulator/reset``: seed data and start-up settings back, request log and faults cleared.
* ``GET /_simulator/requests`` (the request log), ``DELETE /_simulator/requests`` (clear it).
* ``POST /_simulator/faults`` with the fields of :class:`~.state.Fault`. ``GET`` lists the faults and
  ``DELETE`` clears them.
* ``POST /_simulator/tasks/{workflow_key}/{task_id}/status`` with ``{"status": ..., "freeze": true}``.
* ``POST /_simulator/job-outcomes`` with ``{"workflow_key", "job_name", "status", "error"}``.
* ``PUT /_simulator/settings`` with any of ``version``, ``license``, ``step_seconds``,
  ``workflow_concurrency``, ``minute_seconds``.
* ``GET /_simulator/tickets``: the approval tickets created so far.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from airflow_provider_zadig.simulator.actions import force_task_status
from airflow_provider_zadig.simulator.binding import store_of
from airflow_provider_zadig.simulator.state import Fault

router = APIRouter(prefix="/_simulator")


class FaultBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: str = "*"
    path: str
    status: int | None = 500
    body: str = ""
    headers: dict[str, str] = {}
    times: int | None = 1
    delay: float = 0.0
    reset_connection: bool = False


class TaskStatusBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str
    freeze: bool = True


class JobOutcomeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workflow_key: str
    job_name: str
    status: str = "failed"
    error: str = ""


class SettingsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str | None = None
    license: str | None = None
    step_seconds: float | None = None
    workflow_concurrency: int | None = None
    minute_seconds: float | None = None


def _ok(data: Any = None) -> JSONResponse:
    return JSONResponse({"message": "success"} if data is None else data)


@router.get("/health")
async def health(request: Request) -> Response:
    store = store_of(request)
    with store.lock:
        return _ok({"status": "ok", **dataclasses.asdict(store.settings)})


@router.post("/reset")
async def reset(request: Request) -> Response:
    request.app.state.reset()
    return _ok()


@router.get("/requests")
async def list_requests(request: Request) -> Response:
    store = store_of(request)
    with store.lock:
        return _ok([recorded.to_dict() for recorded in store.requests])


@router.delete("/requests")
async def clear_requests(request: Request) -> Response:
    store = store_of(request)
    with store.lock:
        store.requests.clear()
    return _ok()


@router.post("/faults")
async def add_fault(request: Request, body: FaultBody) -> Response:
    store = store_of(request)
    fault = Fault(**body.model_dump())
    fault.method = fault.method.upper()
    with store.lock:
        store.faults.append(fault)
    return _ok()


@router.get("/faults")
async def list_faults(request: Request) -> Response:
    store = store_of(request)
    with store.lock:
        return _ok([dataclasses.asdict(fault) for fault in store.faults])


@router.delete("/faults")
async def clear_faults(request: Request) -> Response:
    store = store_of(request)
    with store.lock:
        store.faults.clear()
    return _ok()


@router.post("/tasks/{workflow_key}/{task_id}/status")
async def set_task_status(
    request: Request, workflow_key: str, task_id: int, body: TaskStatusBody
) -> Response:
    store = store_of(request)
    with store.lock:
        try:
            force_task_status(store, workflow_key, task_id, body.status, freeze=body.freeze)
        except LookupError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
    return _ok()


@router.post("/job-outcomes")
async def set_job_outcome(request: Request, body: JobOutcomeBody) -> Response:
    store = store_of(request)
    with store.lock:
        store.job_outcomes[(body.workflow_key, body.job_name)] = (body.status, body.error)
    return _ok()


@router.put("/settings")
async def update_settings(request: Request, body: SettingsBody) -> Response:
    store = store_of(request)
    changes = body.model_dump(exclude_none=True)
    with store.lock:
        updated = dataclasses.replace(store.settings, **changes)
        try:
            updated.validate()
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        store.settings = updated
        return _ok(dataclasses.asdict(updated))


@router.get("/tickets")
async def list_tickets(request: Request) -> Response:
    store = store_of(request)
    with store.lock:
        return _ok(list(store.tickets))
