"""Fixtures of the hook tests: connections defined through environment variables, and no real waiting."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hook_testing import BASE_URL, CONN_ID, TOKEN

from airflow_provider_zadig.hooks import _retry
from airflow_provider_zadig.hooks.zadig import ZadigHook


@pytest.fixture
def define_connection(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Return a function that defines an Airflow connection in the environment and returns its id."""

    def define(conn_id: str = CONN_ID, *, extra: dict[str, Any] | None = None, **fields: Any) -> str:
        connection: dict[str, Any] = {"conn_type": "zadig", "host": BASE_URL, "password": TOKEN, **fields}
        if extra is not None:
            connection["extra"] = json.dumps(extra)
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
        return conn_id

    return define


@pytest.fixture
def make_hook(define_connection: Callable[..., str]) -> Callable[..., ZadigHook]:
    """Return a function that defines a connection and returns a hook for it."""

    def make(conn_id: str = CONN_ID, **kwargs: Any) -> ZadigHook:
        return ZadigHook(zadig_conn_id=define_connection(conn_id, **kwargs))

    return make


@pytest.fixture
def hook(make_hook: Callable[..., ZadigHook]) -> ZadigHook:
    """A hook on ``https://zadig.example.com`` with the canary token and the default retry settings."""
    return make_hook()


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the waits between retries instead of waiting."""
    recorded: list[float] = []
    monkeypatch.setattr(_retry, "sleep", recorded.append)
    return recorded


@pytest.fixture
async def shared_session_cleanup() -> Any:
    """Close the async clients' shared aiohttp session of the test's event loop after the test."""
    from airflow_provider_zadig.hooks.async_client import close_shared_sessions

    yield
    await close_shared_sessions()


@pytest.fixture
def log_text(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], str]]:
    """
    Return a function that returns every log message so far, from the hook's ``self.log``
    (structlog in Airflow 3) and from standard-library loggers.
    """
    from structlog.testing import capture_logs

    caplog.set_level(logging.DEBUG)
    with capture_logs() as structured:
        yield lambda: "\n".join(
            [str(entry.get("event", "")) for entry in structured]
            + [record.getMessage() for record in caplog.records]
        )
