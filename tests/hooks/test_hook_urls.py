"""The sync hook and the async client send every request to the same URL, for every connection variant."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hook_testing import RecordingSession, task_detail

from airflow_provider_zadig.hooks import async_client
from airflow_provider_zadig.hooks._endpoints import RequestSpec
from airflow_provider_zadig.hooks.async_client import ZadigAsyncClient
from airflow_provider_zadig.hooks.zadig import ZadigHook

CONNECTION_VARIANTS = [
    pytest.param({"host": "https://zadig.example.com/"}, "https://zadig.example.com", id="trailing-slash"),
    pytest.param(
        {"host": "zadig.example.com", "schema": "https"}, "https://zadig.example.com", id="schema-field"
    ),
    pytest.param(
        {"host": "https://zadig.example.com/zadig", "port": 8443},
        "https://zadig.example.com:8443/zadig",
        id="prefix-and-port",
    ),
    pytest.param({"host": "http://zadig.example.com:8080/"}, "http://zadig.example.com:8080", id="http-port"),
    pytest.param({"host": "zadig.example.com"}, "https://zadig.example.com", id="bare-host"),
]
QUERY = (("taskId", "20"), ("workflowKey", "build-images"))


@pytest.mark.parametrize("endpoint", ["/openapi/workflows/custom/task", "openapi/workflows/custom/task"])
@pytest.mark.parametrize(("fields", "base_url"), CONNECTION_VARIANTS)
async def test_sync_and_async_urls_agree(
    fields: dict[str, Any],
    base_url: str,
    endpoint: str,
    define_connection: Callable[..., str],
    requests_mock: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conn_id = define_connection(**fields)
    spec = RequestSpec("GET", endpoint, "get_workflow_task", QUERY)
    expected = f"{base_url}/openapi/workflows/custom/task?taskId=20&workflowKey=build-images"

    requests_mock.get(expected, json=task_detail())
    ZadigHook(conn_id).send(spec)
    sync_url = requests_mock.last_request.url

    session = RecordingSession((200, task_detail()))
    monkeypatch.setattr(async_client, "_shared_session", lambda: session)
    client = await ZadigAsyncClient.from_conn_id(conn_id)
    await client.send(spec)
    async_url = session.calls[0]["url"]

    assert sync_url == expected
    assert async_url == expected
    assert "//openapi" not in sync_url.split("://", 1)[1]
    assert sync_url.startswith(base_url.split("://")[0] + "://")


async def test_https_is_never_downgraded(define_connection: Callable[..., str], requests_mock: Any) -> None:
    conn_id = define_connection(host="https://zadig.example.com", port=8080)
    requests_mock.get("https://zadig.example.com:8080/openapi/workflows/custom/task", json=task_detail())
    hook = ZadigHook(conn_id)
    hook.get_workflow_task("build-images", 7)
    client = await ZadigAsyncClient.from_conn_id(conn_id)
    assert hook.settings.base_url == client.settings.base_url == "https://zadig.example.com:8080"
    assert requests_mock.last_request.scheme == "https"
