"""The async client: the same requests and errors as the sync hook, one shared session per event loop."""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from hook_testing import (
    BASE_URL,
    CONN_ID,
    SUCCESS,
    TASK_URL,
    TOKEN,
    RecordingSession,
    internal_error,
    task_detail,
    zadig_error,
)

from airflow_provider_zadig.exceptions import (
    ZadigAPIError,
    ZadigAuthenticationError,
    ZadigConnectionError,
    ZadigNotFoundError,
)
from airflow_provider_zadig.hooks import async_client
from airflow_provider_zadig.hooks._connection import ZadigConnectionSettings
from airflow_provider_zadig.hooks.async_client import ZadigAsyncClient, close_shared_sessions
from airflow_provider_zadig.hooks.zadig import ZadigHook

pytestmark = pytest.mark.usefixtures("shared_session_cleanup")

CANCEL_FINISHED = zadig_error(6163, "取消工作流任务失败", "task: build-images:20 is passed, cannot cancel")
CANCEL_MISSING = zadig_error(6163, "取消工作流任务失败", "mongo: no documents in result")


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> RecordingSession:
    recording = RecordingSession()
    monkeypatch.setattr(async_client, "_shared_session", lambda: recording)
    return recording


@pytest.fixture
async def client(define_connection: Callable[..., str]) -> ZadigAsyncClient:
    return await ZadigAsyncClient.from_conn_id(define_connection())


async def test_from_conn_id_uses_the_async_connection_getter(
    define_connection: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.providers.common.compat import connection as compat_connection

    calls: list[str] = []
    original = compat_connection.get_async_connection

    async def recording_getter(conn_id: str, hook: Any = None) -> Any:
        calls.append(conn_id)
        return await original(conn_id, hook)

    monkeypatch.setattr(compat_connection, "get_async_connection", recording_getter)
    conn_id = define_connection(extra={"timeout": 7, "extra__zadig__verify": "false"})
    client = await ZadigAsyncClient.from_conn_id(conn_id)
    assert calls == [conn_id]
    assert client.settings.timeout == 7
    assert client.settings.verify is False
    assert client.settings.token == TOKEN


async def test_get_workflow_task_request(client: ZadigAsyncClient, session: RecordingSession) -> None:
    session.answers.append((200, task_detail(task_id=20)))
    task = await client.get_workflow_task("build-images", 20)
    assert task.task_id == 20
    (call,) = session.calls
    assert call["method"] == "GET"
    assert call["url"] == f"{TASK_URL}?taskId=20&workflowKey=build-images"
    assert call["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert "Content-Type" not in call["headers"]
    assert call["data"] is None
    assert call["allow_redirects"] is False
    assert call["ssl"] is True
    assert call["proxy"] is None
    assert call["timeout"].total == 30


async def test_per_request_settings(define_connection: Callable[..., str], session: RecordingSession) -> None:
    extra = {"verify": "false", "timeout": 4, "proxies": {"https": "http://proxy.example.com:3128"}}
    client = await ZadigAsyncClient.from_conn_id(define_connection(extra=extra))
    session.answers.append((200, task_detail()))
    await client.get_workflow_task("build-images", 7)
    (call,) = session.calls
    assert call["ssl"] is False
    assert call["timeout"].total == 4
    assert call["proxy"] == "http://proxy.example.com:3128"


async def test_environment_proxy_applies(
    client: ZadigAsyncClient, session: RecordingSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy.example.com:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session.answers.extend([(200, task_detail()), (200, task_detail())])
    await client.get_workflow_task("build-images", 7)
    monkeypatch.setenv("NO_PROXY", "zadig.example.com")
    await client.get_workflow_task("build-images", 7)
    assert [call["proxy"] for call in session.calls] == ["http://env-proxy.example.com:3128", None]


async def test_netrc_entry_does_not_break_requests(
    simulator: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # aiohttp fails a request that has both netrc credentials and an Authorization header.
    netrc = tmp_path / "netrc"
    netrc.write_text("default login someone password secret\n", encoding="utf-8")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    settings = ZadigConnectionSettings(conn_id=CONN_ID, base_url=simulator.url, token=simulator.token)
    page = await ZadigAsyncClient(settings).list_workflow_tasks("build-images", "simple-service-demo")
    assert page.total == 0


async def test_ca_bundle_becomes_an_ssl_context(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[str] = []
    monkeypatch.setattr(
        async_client.ssl,
        "create_default_context",
        lambda cafile: created.append(cafile) or ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT),
    )
    async_client._ca_bundle_context.cache_clear()
    first = async_client._ssl_option("/etc/zadig-ca.pem")
    second = async_client._ssl_option("/etc/zadig-ca.pem")
    assert isinstance(first, ssl.SSLContext)
    assert first is second
    assert created == ["/etc/zadig-ca.pem"]
    async_client._ca_bundle_context.cache_clear()


async def test_cancel_sends_query_and_no_body(client: ZadigAsyncClient, session: RecordingSession) -> None:
    session.answers.append((200, SUCCESS))
    assert await client.cancel_workflow_task("build-images", 20) is True
    (call,) = session.calls
    assert call["method"] == "DELETE"
    assert call["url"] == f"{TASK_URL}?taskId=20&workflowKey=build-images"
    assert call["data"] is None


async def test_cancel_of_a_passed_task_returns_false(
    client: ZadigAsyncClient, session: RecordingSession
) -> None:
    session.answers.append((400, CANCEL_FINISHED))
    assert await client.cancel_workflow_task("build-images", 20) is False


async def test_cancel_of_a_missing_task_raises(client: ZadigAsyncClient, session: RecordingSession) -> None:
    session.answers.append((400, CANCEL_MISSING))
    with pytest.raises(ZadigNotFoundError):
        await client.cancel_workflow_task("build-images", 20)


async def test_list_workflow_tasks(client: ZadigAsyncClient, session: RecordingSession) -> None:
    session.answers.append((200, {"total": 0, "workflow_tasks": []}))
    page = await client.list_workflow_tasks("build-images", "demo")
    assert page.total == 0
    assert session.calls[0]["url"].endswith("/tasks?projectKey=demo&pageNum=1&pageSize=50")


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, ""),
        (403, ""),
        (401, "<html>401 Authorization Required</html>"),
        (502, "<html><body>Bad Gateway</body></html>"),
        (500, internal_error("mongo: no documents in result")),
        (500, internal_error("boom")),
        (400, CANCEL_MISSING),
        (200, "<html><title>Zadig</title></html>"),
    ],
)
async def test_errors_match_the_sync_hook(
    client: ZadigAsyncClient,
    session: RecordingSession,
    requests_mock: Any,
    define_connection: Callable[..., str],
    status: int,
    body: Any,
) -> None:
    if isinstance(body, dict):
        requests_mock.get(TASK_URL, status_code=status, json=body)
    else:
        requests_mock.get(TASK_URL, status_code=status, text=body, headers={"Content-Type": "text/html"})
    with pytest.raises(ZadigAPIError) as sync_error:
        ZadigHook(define_connection()).get_workflow_task("build-images", 7)

    session.answers.append((status, body))
    with pytest.raises(ZadigAPIError) as async_error:
        await client.get_workflow_task("build-images", 7)
    assert type(async_error.value) is type(sync_error.value)
    assert str(async_error.value) == str(sync_error.value)
    assert async_error.value.status_code == status
    assert len(session.calls) == 1


@pytest.mark.parametrize(
    "failure",
    [
        aiohttp.ServerDisconnectedError(),
        asyncio.TimeoutError(),
        aiohttp.ClientOSError(104, "Connection reset by peer"),
    ],
    ids=["disconnected", "timeout", "reset"],
)
async def test_connection_failures_are_not_retried(
    client: ZadigAsyncClient, session: RecordingSession, failure: BaseException
) -> None:
    session.answers.append(failure)
    with pytest.raises(ZadigConnectionError, match=f"no response from Zadig at {BASE_URL}") as excinfo:
        await client.get_workflow_task("build-images", 7)
    assert excinfo.value.__cause__ is failure
    assert len(session.calls) == 1


async def test_authentication_error_names_the_connection(
    client: ZadigAsyncClient, session: RecordingSession
) -> None:
    session.answers.append((401, ""))
    with pytest.raises(ZadigAuthenticationError) as excinfo:
        await client.get_workflow_task("build-images", 7)
    assert f"'{CONN_ID}'" in str(excinfo.value)
    assert TOKEN not in str(excinfo.value)


async def test_one_session_per_event_loop() -> None:
    first = async_client._shared_session()
    assert async_client._shared_session() is first

    def other_loop() -> aiohttp.ClientSession:
        async def use_and_close() -> aiohttp.ClientSession:
            session = async_client._shared_session()
            await close_shared_sessions()
            return session

        return asyncio.run(use_and_close())

    result: list[aiohttp.ClientSession] = []
    thread = threading.Thread(target=lambda: result.append(other_loop()))
    thread.start()
    thread.join()
    assert result[0] is not first
    assert result[0].closed

    await close_shared_sessions()
    assert first.closed
    replacement = async_client._shared_session()
    assert replacement is not first
    assert not replacement.closed


async def test_body_is_utf8_json(client: ZadigAsyncClient, session: RecordingSession) -> None:
    from airflow_provider_zadig.hooks._endpoints import approve_workflow_task

    spec = approve_workflow_task(
        {"task_id": 7, "workflow_key": "wf", "stage_name": "s", "approve": True, "comment": "通过"}
    )
    await client.send(spec)
    (call,) = session.calls
    assert call["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(call["data"].decode("utf-8"))["comment"] == "通过"
