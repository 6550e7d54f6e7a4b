"""Assemble the simulator's ASGI application: API routes, control plane, error handlers and gateway."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from airflow_provider_zadig.simulator import routes_control, routes_tasks, routes_views, routes_workflows
from airflow_provider_zadig.simulator.errors import SimulatedError, invalid_path, method_not_allowed
from airflow_provider_zadig.simulator.gateway import GatewayMiddleware
from airflow_provider_zadig.simulator.state import Store

log = logging.getLogger(__name__)

_GATEWAY_ASLAN_PREFIX = "/api/aslan/"


def aslan_path(path: str) -> str:
    """Return the path that aslan routes, because the gateway maps ``/api/aslan/X`` to ``/api/X``."""
    if path.startswith(_GATEWAY_ASLAN_PREFIX):
        return "/api/" + path[len(_GATEWAY_ASLAN_PREFIX) :]
    return path


async def _simulated_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SimulatedError)
    log.debug("Zadig simulator: %s %s failed with %s", request.method, request.url.path, exc)
    return exc.to_response()


async def _routing_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    path = aslan_path(request.url.path)
    if exc.status_code == 405:
        return method_not_allowed(request.method, path)
    return invalid_path(path)


def create_app(store: Store, reset: Callable[[], None]) -> ASGIApp:
    """
    Return the ASGI app serving ``store``.

    :param reset: What the control plane's ``POST /_simulator/reset`` calls.
    """
    api = FastAPI(title="Zadig simulator", docs_url=None, redoc_url=None, openapi_url=None)
    api.state.store = store
    api.state.reset = reset
    for module in (routes_workflows, routes_tasks, routes_views, routes_control):
        api.include_router(module.router)
    api.add_exception_handler(SimulatedError, _simulated_error)
    api.add_exception_handler(HTTPException, _routing_error)
    return GatewayMiddleware(api, store)
