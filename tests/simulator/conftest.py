"""Fixtures for the simulator's own tests: plain ``requests`` clients that speak to it over HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from zadig_api import ZadigApi

from airflow_provider_zadig.simulator import SimulatorUser, ZadigSimulator


@pytest.fixture
def api(simulator: ZadigSimulator) -> ZadigApi:
    """Return a client authenticated as the administrator ``admin``."""
    return ZadigApi(simulator, simulator.token)


@pytest.fixture
def api_as(simulator: ZadigSimulator) -> Callable[..., ZadigApi]:
    """Return a factory of clients for other users: ``api_as("alice", role="viewer")``."""

    def make(name: str, role: str = "member") -> ZadigApi:
        token = f"token-of-{name}"
        simulator.add_user(token, SimulatorUser(name, role=role))
        return ZadigApi(simulator, token)

    return make
