"""Error responses in every shape that Zadig and the gateways in front of it send."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
from hook_testing import BASE_URL, TASK_URL, TOKEN, internal_error, zadig_error

from airflow_provider_zadig.exceptions import (
    ZadigAPIError,
    ZadigAuthenticationError,
    ZadigBadRequestError,
    ZadigNotFoundError,
    ZadigPermissionError,
    ZadigRateLimitError,
    ZadigServerError,
)
from airflow_provider_zadig.hooks._errors import (
    MAX_BODY_CHARS,
    error_from_response,
    parse_error_body,
)

JSON = {"Content-Type": "application/json"}
HTML = {"Content-Type": "text/html"}


def error(status: int, body: Any = "", headers: dict[str, str] | None = None, **kwargs: Any) -> ZadigAPIError:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return error_from_response(
        status,
        headers or JSON,
        text,
        kwargs.pop("method", "GET"),
        kwargs.pop("path", "/openapi/x"),
        "zadig_x",
        **kwargs,
    )


def test_zadig_error_keeps_code_message_and_description() -> None:
    exc = error(400, zadig_error(6542, "查询workflow失败", "mongo: no documents in result"), method="POST")
    assert isinstance(exc, ZadigNotFoundError)
    assert exc.status_code == 400
    assert exc.code == 6542
    assert exc.server_message == "查询workflow失败"
    assert exc.description == "mongo: no documents in result"
    assert exc.method == "POST"
    assert exc.path == "/openapi/x"
    assert "查询workflow失败" in str(exc)
    assert "\\u" not in str(exc)


def test_plain_500_not_found_is_not_found() -> None:
    exc = error(500, internal_error("mongo: no documents in result"))
    assert isinstance(exc, ZadigNotFoundError)
    assert exc.status_code == 500
    assert exc.code == 500
    assert "GET /openapi/x failed with HTTP 500: mongo: no documents in result" in str(exc)


@pytest.mark.parametrize(
    "description",
    [
        "param colour not found in workflow build-images",
        "invalid choice value prod2 for param env",
        "undefined job type of type: foo",
        "工作流任务状态无法重试",
        "workflow name duplicated",
        "failed to unmarshal request data, error: EOF",
    ],
)
def test_plain_500_input_errors_are_bad_requests(description: str) -> None:
    exc = error(500, internal_error(description))
    assert type(exc) is ZadigBadRequestError
    assert description in str(exc)


def test_plain_500_other_errors_are_server_errors() -> None:
    exc = error(500, internal_error("context deadline exceeded"))
    assert type(exc) is ZadigServerError
    assert "aslan" in str(exc)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            400,
            zadig_error(6894, "删除视图失败", "find workflow view error: mongo: no documents in result"),
            ZadigNotFoundError,
        ),
        (500, internal_error("failed to find workflow view release for project demo"), ZadigNotFoundError),
        (500, internal_error("cannot find workflow task, workflow name: a, task id: 3"), ZadigNotFoundError),
        (400, zadig_error(7100, "创建预审批单失败", "failed to find project: demo"), ZadigNotFoundError),
        (400, zadig_error(6169, "批准工作流任务失败", "not found approval"), ZadigNotFoundError),
        (
            400,
            zadig_error(6163, "取消工作流任务失败", "task: build-images:20 is passed, cannot cancel"),
            ZadigBadRequestError,
        ),
        (
            400,
            {"code": 400, "message": "Bad Request", "description": "projectKey is required"},
            ZadigBadRequestError,
        ),
        (404, {"code": 404, "message": "Not Found", "description": "task not found"}, ZadigNotFoundError),
    ],
)
def test_classification_follows_the_body(status: int, body: Any, expected: type[ZadigAPIError]) -> None:
    assert type(error(status, body)) is expected


def test_empty_400_is_bad_request() -> None:
    exc = error(400, "")
    assert type(exc) is ZadigBadRequestError
    assert "empty body" in str(exc)
    assert "wrong type" in str(exc)


@pytest.mark.parametrize(
    ("status", "expected"), [(401, ZadigAuthenticationError), (403, ZadigPermissionError)]
)
def test_empty_401_and_403_name_connection_and_status(status: int, expected: type[ZadigAPIError]) -> None:
    exc = error(status, "", {"Content-Length": "0"})
    assert type(exc) is expected
    assert f"HTTP {status}" in str(exc)
    assert "'zadig_x'" in str(exc)
    assert "empty body" in str(exc)


def test_html_401_from_a_gateway() -> None:
    exc = error(
        401, "<html><head><title>401 Authorization Required</title></head><body>nginx</body></html>", HTML
    )
    assert type(exc) is ZadigAuthenticationError
    assert "HTML page: 401 Authorization Required" in str(exc)
    assert "API Token" in str(exc)


def test_html_502_from_a_proxy() -> None:
    exc = error(502, "<html><body><h1>Bad Gateway</h1></body></html>", HTML)
    assert type(exc) is ZadigServerError
    assert "HTML page: Bad Gateway" in str(exc)
    assert "retry later" in str(exc)


def test_non_json_text_body() -> None:
    exc = error(400, "bad request: taskId", {"Content-Type": "text/plain"})
    assert type(exc) is ZadigBadRequestError
    assert exc.description == "bad request: taskId"


def test_unknown_route_hints_at_url() -> None:
    exc = error(404, "Invalid path: /zadig/openapi/x", {"Content-Type": "text/plain"})
    assert type(exc) is ZadigAPIError
    assert "check the scheme, host and path prefix" in str(exc)


def test_redirect_names_the_target() -> None:
    exc = error(301, "", {"Location": "https://zadig.example.com/openapi/x"})
    assert type(exc) is ZadigAPIError
    assert "redirected the request to https://zadig.example.com/openapi/x" in str(exc)


def test_long_bodies_are_truncated() -> None:
    exc = error(500, internal_error("x" * 5000))
    assert len(str(exc)) < 1500
    assert exc.description is not None
    assert exc.description.endswith(f"({5000 - MAX_BODY_CHARS} more characters)")


def test_retry_after_seconds_and_date() -> None:
    assert error(429, "", {"Retry-After": "5"}).retry_after == 5.0
    limited = error(503, "", {"retry-after": "Wed, 21 Oct 2099 07:28:00 GMT"})
    assert limited.retry_after is not None
    assert limited.retry_after > 1000
    assert error(503, "").retry_after is None
    assert type(error(429, "")) is ZadigRateLimitError


def test_context_and_hint_for_execute() -> None:
    exc = error(
        400,
        zadig_error(6542, "查询workflow失败", "mongo: no documents in result"),
        method="POST",
        operation="execute_workflow",
        context={"project_key": "demo", "workflow_key": "Build & Deploy"},
    )
    message = str(exc)
    assert "Sent project_key='demo', workflow_key='Build & Deploy'" in message
    assert "the workflow key (not its display name) is required" in message


def test_token_in_a_body_is_redacted() -> None:
    exc = error(401, f"invalid token {TOKEN}", {"Content-Type": "text/plain"}, redact=(TOKEN,))
    assert TOKEN not in str(exc)


def test_error_body_parser_never_raises() -> None:
    assert parse_error_body("{", "application/json").kind == "text"
    assert parse_error_body("[1, 2]").kind == "json"
    assert parse_error_body("null").kind == "json"
    assert parse_error_body("   ").kind == "empty"
    assert parse_error_body('{"code": "x", "message": null}').code is None


def test_api_error_survives_pickling() -> None:
    exc = error(400, zadig_error(6161, "获取工作流任务失败", "mongo: no documents in result"))
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is ZadigNotFoundError
    assert copy.code == 6161
    assert str(copy) == str(exc)


# Through the hook: what each failed request raises, with requests-mock responding.


def test_hook_keeps_utf8_chinese_without_charset(hook: Any, requests_mock: Any) -> None:
    body = json.dumps(
        zadig_error(6542, "查询workflow失败", "mongo: no documents in result"), ensure_ascii=False
    )
    requests_mock.get(
        f"{BASE_URL}/openapi/workflows/custom/build/detail",
        content=body.encode("utf-8"),
        status_code=400,
        headers=JSON,
    )
    with pytest.raises(ZadigNotFoundError) as excinfo:
        hook.get_workflow("build", "demo")
    assert excinfo.value.server_message == "查询workflow失败"
    assert "查询workflow失败" in str(excinfo.value)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, "", ZadigAuthenticationError),
        (403, "", ZadigPermissionError),
        (401, "<html>401 Authorization Required</html>", ZadigAuthenticationError),
    ],
)
def test_hook_auth_failures_are_not_retried(
    hook: Any, requests_mock: Any, status: int, body: str, expected: type[ZadigAPIError]
) -> None:
    requests_mock.get(TASK_URL, text=body, status_code=status)
    with pytest.raises(expected) as excinfo:
        hook.get_workflow_task("build-images", 7)
    assert requests_mock.call_count == 1
    assert "'zadig_test'" in str(excinfo.value)
    assert f"HTTP {status}" in str(excinfo.value)


def test_hook_html_success_body(hook: Any, requests_mock: Any) -> None:
    requests_mock.get(TASK_URL, text="<!doctype html><html><title>Zadig</title></html>", headers=HTML)
    with pytest.raises(ZadigAPIError, match=r"not JSON.*HTML page: Zadig.*web UI") as excinfo:
        hook.get_workflow_task("build-images", 7)
    assert not isinstance(excinfo.value.__cause__, json.JSONDecodeError)


def test_hook_unexpected_json_shape(hook: Any, requests_mock: Any) -> None:
    requests_mock.get(TASK_URL, json={"status": "running"})
    with pytest.raises(ZadigAPIError, match=r"does not match the Zadig v3\.4 API.*task_id"):
        hook.get_workflow_task("build-images", 7)


def test_hook_plain_500_is_never_retried(hook: Any, requests_mock: Any) -> None:
    requests_mock.get(TASK_URL, json=internal_error("something broke"), status_code=500)
    with pytest.raises(ZadigServerError):
        hook.get_workflow_task("build-images", 7)
    assert requests_mock.call_count == 1
