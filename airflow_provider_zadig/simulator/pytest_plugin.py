"""
pytest fixtures for testing DAGs and code that talk to Zadig, against the local simulator.

Installing airflow-provider-zadig registers this plugin with pytest (entry point ``pytest11``), so the
fixtures are available in every test without imports. Fixtures:

* ``zadig_simulator_server``: one started :class:`ZadigSimulator` for the whole session;
* ``zadig_sim``: that simulator reset to its seed data, for one test;
* ``zadig_sim_conn_id``: defines the Airflow connection (``zadig_default`` unless the ini option
  ``zadig_simulator_conn_id`` sets another id) through an ``AIRFLOW_CONN_...`` environment variable
  pointing at ``zadig_sim``, and returns its id.

Ini options: ``zadig_simulator_step_seconds`` (default 0.05), ``zadig_simulator_version`` (3.4.0) and
``zadig_simulator_conn_id``. The token is :data:`SIMULATOR_TOKEN`, a JWT for the user ``admin``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from airflow_provider_zadig.simulator.users import build_api_token

if TYPE_CHECKING:
    from airflow_provider_zadig.simulator.server import ZadigSimulator

SIMULATOR_TOKEN = build_api_token("admin")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("zadig_simulator_step_seconds", "seconds between task status changes", default="0.05")
    parser.addini("zadig_simulator_version", "Zadig version the simulator behaves as", default="3.4.0")
    parser.addini(
        "zadig_simulator_conn_id", "Airflow connection id for the simulator", default="zadig_default"
    )


@pytest.fixture(scope="session")
def zadig_simulator_server(pytestconfig: pytest.Config) -> Iterator[ZadigSimulator]:
    """Start one simulator for the session; prefer ``zadig_sim``, which resets it first."""
    # Imported here so that loading the plugin does not import the web stack.
    from airflow_provider_zadig.simulator.server import ZadigSimulator

    step_seconds = float(pytestconfig.getini("zadig_simulator_step_seconds"))
    version = str(pytestconfig.getini("zadig_simulator_version"))
    with ZadigSimulator(token=SIMULATOR_TOKEN, step_seconds=step_seconds, version=version) as simulator:
        yield simulator


@pytest.fixture
def zadig_sim(zadig_simulator_server: ZadigSimulator) -> ZadigSimulator:
    """Return the session's simulator reset to its seed data, settings, empty request log and no faults."""
    zadig_simulator_server.reset()
    return zadig_simulator_server


@pytest.fixture
def zadig_sim_conn_id(
    zadig_sim: ZadigSimulator, pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch
) -> str:
    """Point an Airflow connection at the simulator for one test and return the connection id."""
    conn_id = str(pytestconfig.getini("zadig_simulator_conn_id"))
    conn = {"conn_type": "zadig", "host": zadig_sim.url, "password": zadig_sim.token}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return conn_id
