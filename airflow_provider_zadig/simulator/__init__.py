"""
A local Zadig v3.4 server for tests and demos.

:class:`ZadigSimulator` serves the workflow OpenAPI on 127.0.0.1 from a background thread. It starts
with the projects and workflows used as examples in Zadig's v3.4 workflow OpenAPI documentation.
Tasks move through their statuses on a clock (``step_seconds``), with native approvals and
concurrency limits, and errors come back with Zadig's exact bodies. A request log, fault injection
and an HTTP control plane under ``/_simulator/`` help tests check and steer it.

Run it from a shell with ``python -m airflow_provider_zadig.simulator --port 8080 --token T``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_zadig.simulator.server import ZadigSimulator
    from airflow_provider_zadig.simulator.state import Fault, RecordedRequest, SimulatorSettings
    from airflow_provider_zadig.simulator.users import SimulatorUser, build_api_token

__all__ = [
    "Fault",
    "RecordedRequest",
    "SimulatorSettings",
    "SimulatorUser",
    "ZadigSimulator",
    "build_api_token",
]

# Public names and their modules. They are imported on first use, so that the pytest plugin and
# build_api_token do not pull in the web server stack (FastAPI, uvicorn).
_EXPORTS = {
    "ZadigSimulator": "server",
    "Fault": "state",
    "RecordedRequest": "state",
    "SimulatorSettings": "state",
    "SimulatorUser": "users",
    "build_api_token": "users",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
