"""
Shared fixtures: one Zadig simulator for the whole test session, reset before each test that uses it.

``SIMULATOR_TOKEN`` is a JWT shaped like a real Zadig API token for the user ``admin`` (name claim
``admin``), so code that reads the token's ``name`` claim gets the same user that the simulator
records as ``task_creator``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator

import pytest

# Airflow reads its configuration and metadata database from AIRFLOW_HOME when it is first imported.
# In-process tests (DagBag, provider metadata, the task runtime) get a throwaway home so that they never
# read or write ~/airflow. Tests that run the airflow CLI create their own home as well.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="zadig-tests-airflow-home-")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

from airflow_provider_zadig.simulator import ZadigSimulator, build_api_token

SIMULATOR_TOKEN = build_api_token("admin")
#: Connection id that the ``zadig_connection`` fixture defines.
SIMULATOR_CONN_ID = "zadig_default"


@pytest.fixture(scope="session")
def zadig_simulator() -> Iterator[ZadigSimulator]:
    """Return the session's simulator as the previous test left it. Prefer ``simulator``."""
    with ZadigSimulator(token=SIMULATOR_TOKEN, step_seconds=0.02) as sim:
        yield sim


@pytest.fixture
def simulator(zadig_simulator: ZadigSimulator) -> ZadigSimulator:
    """Return the session's simulator, reset to its seed data and settings."""
    zadig_simulator.reset()
    return zadig_simulator


@pytest.fixture
def zadig_connection(simulator: ZadigSimulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """Define the Airflow connection ``zadig_default`` pointing at the reset simulator; return its id."""
    conn = {"conn_type": "zadig", "host": simulator.url, "password": SIMULATOR_TOKEN}
    monkeypatch.setenv(f"AIRFLOW_CONN_{SIMULATOR_CONN_ID.upper()}", json.dumps(conn))
    return SIMULATOR_CONN_ID
