"""The API token never appears in URLs, exception text, reprs or logs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
import requests
from hook_testing import BASE_URL, TASK_URL, TOKEN, RecordingSession, task_list, zadig_error

from airflow_provider_zadig.exceptions import ZadigAPIError, ZadigError
from airflow_provider_zadig.hooks import async_client
from airflow_provider_zadig.hooks._errors import MAX_BODY_CHARS
from airflow_provider_zadig.hooks._http import _BearerAuth
from airflow_provider_zadig.hooks.async_client import ZadigAsyncClient

FAILURES = [
    pytest.param({"status_code": 401, "text": ""}, id="empty-401"),
    pytest.param({"status_code": 401, "text": "<html>401 Authorization Required</html>"}, id="html-401"),
    pytest.param({"status_code": 403, "text": ""}, id="empty-403"),
    pytest.param({"status_code": 401, "text": f"token {TOKEN} is expired"}, id="echoed-token"),
    pytest.param({"status_code": 502, "text": "<html>Bad Gateway</html>"}, id="html-502"),
    pytest.param({"exc": requests.exceptions.ConnectionError("Connection refused")}, id="refused"),
    pytest.param({"exc": requests.exceptions.ReadTimeout("read timed out")}, id="timeout"),
]


def assert_no_token(text: str) -> None:
    assert TOKEN not in text


@pytest.mark.parametrize("failure", FAILURES)
def test_token_not_in_errors_or_logs(
    hook: Any, requests_mock: Any, log_text: Callable[[], str], capsys: Any, failure: dict[str, Any]
) -> None:
    requests_mock.get(TASK_URL, **failure)
    with pytest.raises(ZadigError) as excinfo:
        hook.get_workflow_task("build-images", 7)
    assert_no_token(str(excinfo.value))
    assert_no_token(repr(excinfo.value))
    assert_no_token(log_text())
    assert_no_token(capsys.readouterr().out)
    for request in requests_mock.request_history:
        assert_no_token(request.url)
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_token_not_in_ambiguous_execute_errors(
    hook: Any, requests_mock: Any, log_text: Callable[[], str]
) -> None:
    requests_mock.get(f"{BASE_URL}/openapi/workflows/custom/build-images/tasks", json=task_list())
    requests_mock.post(TASK_URL, exc=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(ZadigError) as excinfo:
        hook.execute_workflow("demo", "build-images")
    assert_no_token(str(excinfo.value))
    assert_no_token(log_text())


def test_token_not_in_api_error_logs(hook: Any, requests_mock: Any, log_text: Callable[[], str]) -> None:
    requests_mock.post(
        f"{BASE_URL}/openapi/ticket/approval",
        status_code=400,
        json=zadig_error(7050, "许可证", "license invalid"),
    )
    with pytest.raises(ZadigError) as excinfo:
        hook.create_approval_ticket("demo", "OA-1")
    assert "professional or enterprise license" in str(excinfo.value)
    assert_no_token(str(excinfo.value))
    assert_no_token(log_text())


def test_token_not_in_configuration_errors(make_hook: Any) -> None:
    hook = make_hook(extra={"max_retries": "lots"})
    with pytest.raises(ZadigError) as excinfo:
        hook.get_workflow_task("build-images", 7)
    assert_no_token(str(excinfo.value))


def test_token_not_in_reprs(hook: Any) -> None:
    assert_no_token(repr(hook.settings))
    assert_no_token(str(hook.settings))
    assert_no_token(repr(hook))
    assert_no_token(repr(_BearerAuth(TOKEN)))


async def test_async_client_logs_no_token(
    define_connection: Callable[..., str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    session = RecordingSession((401, ""))
    monkeypatch.setattr(async_client, "_shared_session", lambda: session)
    client = await ZadigAsyncClient.from_conn_id(define_connection())
    with (
        caplog.at_level(logging.DEBUG, logger="airflow_provider_zadig"),
        pytest.raises(ZadigError) as excinfo,
    ):
        await client.get_workflow_task("build-images", 7)
    assert "GET https://zadig.example.com/openapi/workflows/custom/task?taskId=7" in caplog.text
    assert_no_token(caplog.text)
    assert_no_token(str(excinfo.value))
    assert_no_token(repr(client.settings))


def test_token_cut_by_truncation_is_redacted(hook: Any, requests_mock: Any) -> None:
    # The token straddles the point where a long body is cut, so only its first half is quoted.
    body = "x" * (MAX_BODY_CHARS - len(TOKEN) // 2) + TOKEN + "y" * 100
    requests_mock.get(TASK_URL, status_code=500, text=body, headers={"Content-Type": "text/plain"})
    with pytest.raises(ZadigAPIError) as excinfo:
        hook.get_workflow_task("build-images", 7)
    assert TOKEN[: len(TOKEN) // 2] not in str(excinfo.value)
    assert TOKEN[: len(TOKEN) // 2] not in (excinfo.value.description or "")


def test_token_not_in_unexpected_body_errors(hook: Any, requests_mock: Any) -> None:
    requests_mock.get(TASK_URL, status_code=200, text=f"<html>session {TOKEN}</html>")
    with pytest.raises(ZadigAPIError) as excinfo:
        hook.get_workflow_task("build-images", 7)
    assert_no_token(str(excinfo.value))
    assert_no_token(excinfo.value.description or "")
