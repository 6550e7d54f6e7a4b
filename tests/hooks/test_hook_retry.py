"""Retries: which failures are retried, how long the hook waits, and what it logs."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests
from hook_testing import BASE_URL, SUCCESS, TASK_URL, VIEW_URL, internal_error, task_detail, zadig_error

from airflow_provider_zadig.exceptions import (
    ZadigAmbiguousRequestError,
    ZadigAPIError,
    ZadigBadRequestError,
    ZadigConnectionError,
    ZadigNotFoundError,
    ZadigRateLimitError,
    ZadigServerError,
)
from airflow_provider_zadig.hooks._retry import (
    RetrySettings,
    backoff_delay,
    is_transient,
    parse_retry_after,
    run_with_retries,
)

BAD_GATEWAY = {
    "status_code": 502,
    "text": "<html><body>Bad Gateway</body></html>",
    "headers": {"Content-Type": "text/html"},
}


def api_error(status: int) -> ZadigAPIError:
    return ZadigAPIError("failed", status_code=status)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ZadigConnectionError("reset"), True),
        (ZadigAmbiguousRequestError("maybe"), False),
        (api_error(429), True),
        (api_error(502), True),
        (api_error(503), True),
        (api_error(504), True),
        (api_error(500), False),
        (api_error(400), False),
        (api_error(401), False),
        (api_error(404), False),
        (ValueError("x"), False),
    ],
)
def test_is_transient(exc: BaseException, expected: bool) -> None:
    assert is_transient(exc) is expected


@pytest.mark.parametrize(
    ("attempt", "low", "high"), [(1, 0.5, 1.0), (2, 1.0, 2.0), (3, 2.0, 4.0), (10, 15.0, 30.0)]
)
def test_backoff_doubles_with_jitter_and_cap(attempt: int, low: float, high: float) -> None:
    delays = [backoff_delay(attempt, 1.0, 30.0) for _ in range(200)]
    assert min(delays) >= low
    assert max(delays) <= high
    assert len(set(delays)) > 1


def test_backoff_honours_retry_after() -> None:
    assert backoff_delay(1, 1.0, 30.0, retry_after=5.0) == 5.0
    assert backoff_delay(1, 1.0, 30.0, retry_after=120.0) == 120.0
    assert backoff_delay(1, 0.0, 30.0) == 0.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        ("0.5", 0.5),
        ("-3", 0.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:00", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0


def test_run_with_retries_logs_each_attempt(caplog: pytest.LogCaptureFixture) -> None:
    outcomes: list[Any] = [api_error(503), ZadigConnectionError("reset"), "done"]
    waits: list[float] = []

    def send() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    with caplog.at_level(logging.WARNING):
        result = run_with_retries(
            send,
            settings=RetrySettings(3, 1.0, 30.0),
            may_retry=is_transient,
            description="GET /openapi/x",
            sleep_function=waits.append,
        )
    assert result == "done"
    assert len(waits) == 2
    assert "GET /openapi/x failed (attempt 1 of 4)" in caplog.text
    assert "GET /openapi/x failed (attempt 2 of 4)" in caplog.text


def test_run_with_retries_stops_on_a_permanent_error() -> None:
    calls = []

    def send() -> None:
        calls.append(1)
        raise api_error(400)

    with pytest.raises(ZadigAPIError):
        run_with_retries(send, settings=RetrySettings(3, 1, 30), may_retry=is_transient, description="x")
    assert len(calls) == 1


def test_hook_retries_502_and_honours_retry_after(
    hook: Any, requests_mock: Any, sleeps: list[float], log_text: Any
) -> None:
    requests_mock.get(
        TASK_URL,
        [
            BAD_GATEWAY,
            {"exc": requests.exceptions.ConnectionError("Connection reset by peer")},
            {"status_code": 503, "text": "", "headers": {"Retry-After": "5"}},
            {"json": task_detail(status="passed")},
        ],
    )
    task = hook.get_workflow_task("build-images", 7)
    assert task.status.value == "passed"
    assert requests_mock.call_count == 4
    assert len(sleeps) == 3
    assert sleeps[2] >= 5.0
    assert max(sleeps[:2]) <= 2.0
    logs = log_text()
    for attempt in (1, 2, 3):
        assert f"GET /openapi/workflows/custom/task failed (attempt {attempt} of 4)" in logs


def test_hook_gives_up_after_max_retries(make_hook: Any, requests_mock: Any, sleeps: list[float]) -> None:
    hook = make_hook(extra={"max_retries": 2, "retry_backoff": 0.5})
    requests_mock.get(TASK_URL, **BAD_GATEWAY)
    with pytest.raises(ZadigServerError, match="HTTP 502"):
        hook.get_workflow_task("build-images", 7)
    assert requests_mock.call_count == 3
    assert len(sleeps) == 2
    assert all(wait <= 1.0 for wait in sleeps)


def test_hook_without_retries(make_hook: Any, requests_mock: Any) -> None:
    hook = make_hook(extra={"max_retries": 0})
    requests_mock.get(TASK_URL, exc=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(ZadigConnectionError, match=r"no response from Zadig at https://zadig\.example\.com"):
        hook.get_workflow_task("build-images", 7)
    assert requests_mock.call_count == 1


def test_hook_stops_when_retry_after_exceeds_max_wait(
    hook: Any, requests_mock: Any, sleeps: list[float], log_text: Any
) -> None:
    requests_mock.get(TASK_URL, status_code=429, headers={"Retry-After": "120"}, text="")
    with pytest.raises(ZadigRateLimitError) as excinfo:
        hook.get_workflow_task("build-images", 7)
    assert excinfo.value.retry_after == 120.0
    assert requests_mock.call_count == 1
    assert sleeps == []
    assert "longer than retry_max_wait" in log_text()


def test_hook_429_then_success(hook: Any, requests_mock: Any, sleeps: list[float]) -> None:
    requests_mock.get(
        f"{BASE_URL}/openapi/workflows/view",
        [{"status_code": 429, "headers": {"Retry-After": "2"}, "text": ""}, {"json": []}],
    )
    assert hook.list_workflow_views("demo") == []
    assert sleeps[0] >= 2.0


def test_plain_500_and_400_are_not_retried(hook: Any, requests_mock: Any) -> None:
    requests_mock.delete(
        TASK_URL, status_code=400, json=zadig_error(6163, "取消工作流任务失败", "redis down")
    )
    with pytest.raises(ZadigBadRequestError):
        hook.cancel_workflow_task("build-images", 7)
    requests_mock.get(TASK_URL, status_code=500, json=internal_error("boom"))
    with pytest.raises(ZadigServerError):
        hook.get_workflow_task("build-images", 7)
    assert requests_mock.call_count == 2


def test_cancel_and_view_edits_are_retried(hook: Any, requests_mock: Any) -> None:
    requests_mock.delete(TASK_URL, [BAD_GATEWAY, {"json": SUCCESS}])
    requests_mock.put(f"{VIEW_URL}/release", [{"status_code": 504, "text": ""}, {"json": SUCCESS}])
    requests_mock.delete(
        f"{VIEW_URL}/release", [{"exc": requests.exceptions.ConnectionError("reset")}, {"json": SUCCESS}]
    )
    assert hook.cancel_workflow_task("build-images", 7) is True
    hook.update_workflow_view("demo", "release", add=["a"])
    hook.delete_workflow_view("demo", "release")
    assert requests_mock.call_count == 6


def test_delete_retried_after_success_counts_as_deleted(hook: Any, requests_mock: Any) -> None:
    not_found = zadig_error(6543, "删除workflow失败", "mongo: no documents in result")
    requests_mock.delete(
        f"{BASE_URL}/openapi/workflows/custom",
        [{"exc": requests.exceptions.ReadTimeout("timed out")}, {"status_code": 400, "json": not_found}],
    )
    hook.delete_workflow("build-images", "demo")
    assert requests_mock.call_count == 2


def test_delete_of_a_missing_workflow_raises(hook: Any, requests_mock: Any) -> None:
    not_found = zadig_error(6543, "删除workflow失败", "mongo: no documents in result")
    requests_mock.delete(f"{BASE_URL}/openapi/workflows/custom", status_code=400, json=not_found)
    with pytest.raises(ZadigNotFoundError, match="Check workflow_key"):
        hook.delete_workflow("build-images", "demo")
