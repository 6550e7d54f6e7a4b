"""
Creating requests are never sent twice blindly.

Each test counts the creating requests on the wire. After a failure that hides the outcome (a read
timeout, a reset after sending, a 502/503/504 from a gateway), the hook checks the server first. It
sends the request again only where Zadig itself rejects a duplicate, or where the failure proves that
Zadig never received it (a connect timeout or HTTP 429). Execute and task retry are never sent again
after a failure that hides the outcome.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from hook_testing import (
    APPROVE_URL,
    BASE_URL,
    SUCCESS,
    TASK_URL,
    TICKET_URL,
    VIEW_URL,
    WORKFLOW_V4_URL,
    internal_error,
    jwt_token,
    task_detail,
    task_list,
    vote,
    zadig_error,
)

from airflow_provider_zadig.exceptions import (
    ZadigAmbiguousRequestError,
    ZadigBadRequestError,
    ZadigConnectionError,
    ZadigPermissionError,
    ZadigRateLimitError,
)

TASKS_URL = f"{BASE_URL}/openapi/workflows/custom/build-images/tasks"
RETRY_URL = f"{BASE_URL}/openapi/workflows/custom/build-images/task/7"
CREATED = {"project_name": "simple-service-demo", "workflow_name": "build-images", "task_id": 5}
BAD_GATEWAY = {
    "status_code": 502,
    "text": "<html>Bad Gateway</html>",
    "headers": {"Content-Type": "text/html"},
}
READ_TIMEOUT = {"exc": requests.exceptions.ReadTimeout("read timed out")}
RESET = {"exc": requests.exceptions.ConnectionError("('Connection aborted.', RemoteDisconnected())")}


@pytest.fixture
def bot_hook(make_hook: Any) -> Any:
    """A hook whose token is a JWT of the user ``release-bot``, as Zadig API tokens are."""
    return make_hook(password=jwt_token("release-bot"))


def posts(requests_mock: Any, url: str) -> int:
    return sum(
        1
        for request in requests_mock.request_history
        if request.method == "POST" and request.url.split("?")[0] == url
    )


def execute(hook: Any) -> Any:
    return hook.execute_workflow(project_key="simple-service-demo", workflow_key="build-images")


# Execute: Zadig has no idempotency key, so the request is sent at most once once it may have arrived.


@pytest.mark.parametrize("failure", [BAD_GATEWAY, READ_TIMEOUT, RESET], ids=["502", "read-timeout", "reset"])
def test_execute_adopts_single_user_task(bot_hook: Any, requests_mock: Any, failure: Any) -> None:
    requests_mock.get(
        TASKS_URL,
        [
            {"json": task_list((4, "release-bot"))},
            {"json": task_list((5, "release-bot"), (4, "release-bot"))},
        ],
    )
    requests_mock.post(TASK_URL, **failure)
    result = execute(bot_hook)
    assert result.task_id == 5
    assert result.workflow_key == "build-images"
    assert posts(requests_mock, TASK_URL) == 1


def test_execute_without_new_task_is_ambiguous(bot_hook: Any, requests_mock: Any) -> None:
    requests_mock.get(TASKS_URL, json=task_list((4, "release-bot")))
    requests_mock.post(TASK_URL, **READ_TIMEOUT)
    with pytest.raises(ZadigAmbiguousRequestError) as excinfo:
        execute(bot_hook)
    message = str(excinfo.value)
    assert "No task newer than task 4 has appeared yet" in message
    assert "Zadig does not detect duplicate executions" in message
    assert posts(requests_mock, TASK_URL) == 1


def test_execute_ignores_tasks_of_other_users(bot_hook: Any, requests_mock: Any) -> None:
    requests_mock.get(
        TASKS_URL, [{"json": task_list((4, "a"))}, {"json": task_list((5, "webhook"), (4, "a"))}]
    )
    requests_mock.post(TASK_URL, **BAD_GATEWAY)
    with pytest.raises(ZadigAmbiguousRequestError, match=r"New tasks 5 appeared \(created by webhook\)"):
        execute(bot_hook)
    assert posts(requests_mock, TASK_URL) == 1


def test_execute_two_user_tasks_ambiguous(bot_hook: Any, requests_mock: Any) -> None:
    requests_mock.get(
        TASKS_URL, [{"json": task_list()}, {"json": task_list((2, "release-bot"), (1, "release-bot"))}]
    )
    requests_mock.post(TASK_URL, **RESET)
    with pytest.raises(ZadigAmbiguousRequestError, match="not exactly one of them is from 'release-bot'"):
        execute(bot_hook)
    assert posts(requests_mock, TASK_URL) == 1


def test_execute_with_a_token_that_names_no_user(hook: Any, requests_mock: Any) -> None:
    requests_mock.get(TASKS_URL, [{"json": task_list((4, "a"))}, {"json": task_list((5, "a"), (4, "a"))}])
    requests_mock.post(TASK_URL, **READ_TIMEOUT)
    with pytest.raises(ZadigAmbiguousRequestError, match="does not name its user"):
        execute(hook)
    assert posts(requests_mock, TASK_URL) == 1


def test_execute_when_the_check_fails_too(bot_hook: Any, requests_mock: Any, sleeps: list[float]) -> None:
    requests_mock.get(TASKS_URL, [{"json": task_list((4, "release-bot"))}, BAD_GATEWAY])
    requests_mock.post(TASK_URL, **BAD_GATEWAY)
    with pytest.raises(ZadigAmbiguousRequestError, match="Listing the tasks to check failed too"):
        execute(bot_hook)
    assert posts(requests_mock, TASK_URL) == 1


def test_execute_not_sent_after_read_failure(bot_hook: Any, requests_mock: Any) -> None:
    requests_mock.get(TASKS_URL, status_code=401, text="")
    requests_mock.post(TASK_URL, json=CREATED)
    with pytest.raises(Exception, match="HTTP 401"):
        execute(bot_hook)
    assert posts(requests_mock, TASK_URL) == 0


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (500, internal_error("invalid choice value prod2 for param env"), ZadigBadRequestError),
        (500, internal_error("param colour not found in workflow build-images"), ZadigBadRequestError),
        (403, "", ZadigPermissionError),
        (400, zadig_error(6160, "创建工作流任务失败", "workflow is disabled"), ZadigBadRequestError),
    ],
)
def test_execute_permanent_errors_are_sent_once(
    bot_hook: Any, requests_mock: Any, status: int, body: Any, expected: type[Exception]
) -> None:
    requests_mock.get(TASKS_URL, json=task_list())
    kwargs = {"json": body} if isinstance(body, dict) else {"text": body}
    requests_mock.post(TASK_URL, status_code=status, **kwargs)
    with pytest.raises(expected):
        execute(bot_hook)
    assert posts(requests_mock, TASK_URL) == 1
    assert requests_mock.call_count == 2


def test_execute_resent_after_429(bot_hook: Any, requests_mock: Any, sleeps: list[float]) -> None:
    requests_mock.get(TASKS_URL, json=task_list())
    requests_mock.post(
        TASK_URL, [{"status_code": 429, "headers": {"Retry-After": "3"}, "text": ""}, {"json": CREATED}]
    )
    assert execute(bot_hook).task_id == 5
    assert sleeps[0] >= 3
    assert posts(requests_mock, TASK_URL) == 2


def test_execute_resent_after_connect_timeout(bot_hook: Any, requests_mock: Any, sleeps: list[float]) -> None:
    requests_mock.get(TASKS_URL, json=task_list())
    requests_mock.post(
        TASK_URL, [{"exc": requests.exceptions.ConnectTimeout("connect timed out")}, {"json": CREATED}]
    )
    assert execute(bot_hook).task_id == 5


def test_execute_rate_limited_until_retries_run_out(make_hook: Any, requests_mock: Any) -> None:
    hook = make_hook(extra={"max_retries": 1})
    requests_mock.get(TASKS_URL, json=task_list())
    requests_mock.post(TASK_URL, status_code=429, text="")
    with pytest.raises(ZadigRateLimitError):
        execute(hook)
    assert posts(requests_mock, TASK_URL) == 2


def test_execute_refused_connection_is_not_ambiguous(make_hook: Any, requests_mock: Any) -> None:
    hook = make_hook(extra={"max_retries": 0})
    requests_mock.get(TASKS_URL, json=task_list())
    requests_mock.post(TASK_URL, exc=requests.exceptions.ConnectTimeout("connect timed out"))
    with pytest.raises(ZadigConnectionError) as excinfo:
        execute(hook)
    assert not isinstance(excinfo.value, ZadigAmbiguousRequestError)


# Task retry: read the task again; never sent twice.


def test_task_retry_confirmed_by_status(hook: Any, requests_mock: Any) -> None:
    requests_mock.post(RETRY_URL, **BAD_GATEWAY)
    requests_mock.get(TASK_URL, json=task_detail(status="waiting"))
    hook.retry_workflow_task("build-images", 7)
    assert posts(requests_mock, RETRY_URL) == 1


def test_task_retry_still_failed_is_ambiguous(hook: Any, requests_mock: Any) -> None:
    requests_mock.post(RETRY_URL, **READ_TIMEOUT)
    requests_mock.get(TASK_URL, json=task_detail(status="failed"))
    with pytest.raises(ZadigAmbiguousRequestError, match="The task is still failed"):
        hook.retry_workflow_task("build-images", 7)
    assert posts(requests_mock, RETRY_URL) == 1


def test_task_retry_rejected_status_sent_once(hook: Any, requests_mock: Any) -> None:
    requests_mock.post(RETRY_URL, status_code=500, json=internal_error("工作流任务状态无法重试"))
    with pytest.raises(ZadigBadRequestError, match="Only a task that ended failed"):
        hook.retry_workflow_task("build-images", 7)
    assert posts(requests_mock, RETRY_URL) == 1


# Approve: Zadig refuses a second vote of the same user, so a re-send after a check is safe.


def decided_detail() -> dict[str, Any]:
    detail = task_detail()
    job = detail["stages"][1]["jobs"][0]
    job["status"] = "passed"
    job["spec"]["native_approval"]["approve_users"] = [vote("release-bot", "approve")]
    return detail


def test_approve_confirmed_by_reading_the_gate(bot_hook: Any, requests_mock: Any) -> None:
    requests_mock.get(TASK_URL, [{"json": task_detail()}, {"json": decided_detail()}])
    requests_mock.post(APPROVE_URL, **READ_TIMEOUT)
    gate = bot_hook.approve_workflow_task("build-images", 7, "approval")
    assert gate.decision == "approve"
    assert posts(requests_mock, APPROVE_URL) == 1


def test_approve_resent_when_the_vote_is_missing(bot_hook: Any, requests_mock: Any) -> None:
    requests_mock.get(
        TASK_URL, [{"json": task_detail()}, {"json": task_detail()}, {"json": decided_detail()}]
    )
    already = zadig_error(6169, "批准工作流任务失败", "release-bot have approve already")
    requests_mock.post(APPROVE_URL, [BAD_GATEWAY, {"status_code": 400, "json": already}])
    gate = bot_hook.approve_workflow_task("build-images", 7, "approval")
    assert gate.decision == "approve"
    assert posts(requests_mock, APPROVE_URL) == 2


def test_approve_failing_twice_is_ambiguous(bot_hook: Any, requests_mock: Any) -> None:
    requests_mock.get(TASK_URL, json=task_detail())
    requests_mock.post(APPROVE_URL, **READ_TIMEOUT)
    with pytest.raises(ZadigAmbiguousRequestError, match="The second attempt failed in the same way"):
        bot_hook.approve_workflow_task("build-images", 7, "approval")
    assert posts(requests_mock, APPROVE_URL) == 2


def test_approve_when_the_check_fails(bot_hook: Any, requests_mock: Any) -> None:
    requests_mock.get(
        TASK_URL, [{"json": task_detail()}, {"status_code": 500, "json": internal_error("boom")}]
    )
    requests_mock.post(APPROVE_URL, **BAD_GATEWAY)
    with pytest.raises(ZadigAmbiguousRequestError, match="Reading the task to check failed too"):
        bot_hook.approve_workflow_task("build-images", 7, "approval")
    assert posts(requests_mock, APPROVE_URL) == 1


# Ticket, view and workflow creation: Zadig refuses duplicates, so one re-send after a check is safe.


def test_ticket_resent_and_duplicate_counts_as_created(hook: Any, requests_mock: Any) -> None:
    duplicate = zadig_error(
        7100, "创建预审批单失败", "E11000 duplicate key error collection: ticket index: approval_id_1"
    )
    requests_mock.post(TICKET_URL, [BAD_GATEWAY, {"status_code": 400, "json": duplicate}])
    hook.create_approval_ticket("demo", "OA-1")
    assert posts(requests_mock, TICKET_URL) == 2


def test_ticket_duplicate_on_first_attempt_is_an_error(hook: Any, requests_mock: Any) -> None:
    duplicate = zadig_error(7100, "创建预审批单失败", "E11000 duplicate key error")
    requests_mock.post(TICKET_URL, status_code=400, json=duplicate)
    with pytest.raises(ZadigBadRequestError, match="approval_id already exists"):
        hook.create_approval_ticket("demo", "OA-1")
    assert posts(requests_mock, TICKET_URL) == 1


def test_ticket_failing_twice_is_ambiguous(hook: Any, requests_mock: Any) -> None:
    requests_mock.post(TICKET_URL, **READ_TIMEOUT)
    with pytest.raises(ZadigAmbiguousRequestError):
        hook.create_approval_ticket("demo", "OA-1")
    assert posts(requests_mock, TICKET_URL) == 2


def test_view_creation_confirmed_by_listing(hook: Any, requests_mock: Any) -> None:
    requests_mock.post(VIEW_URL, **READ_TIMEOUT)
    requests_mock.get(VIEW_URL, json=[{"name": "release", "project_key": "demo", "workflows": []}])
    hook.create_workflow_view("demo", "release", ["a"])
    assert posts(requests_mock, VIEW_URL) == 1


def test_view_creation_resent_when_missing(hook: Any, requests_mock: Any) -> None:
    duplicate = zadig_error(6892, "创建视图失败", "mongo duplicate key error")
    requests_mock.post(VIEW_URL, [BAD_GATEWAY, {"status_code": 400, "json": duplicate}])
    requests_mock.get(VIEW_URL, json=[])
    hook.create_workflow_view("demo", "release", ["a"])
    assert posts(requests_mock, VIEW_URL) == 2


def test_view_creation_when_the_check_fails(hook: Any, requests_mock: Any) -> None:
    requests_mock.post(VIEW_URL, **RESET)
    requests_mock.get(VIEW_URL, status_code=403, text="")
    with pytest.raises(ZadigAmbiguousRequestError, match="Listing the views to check failed too"):
        hook.create_workflow_view("demo", "release", ["a"])
    assert posts(requests_mock, VIEW_URL) == 1


DEFINITION = {"name": "wf-new", "project": "demo", "stages": []}
DETAIL_URL = f"{BASE_URL}/openapi/workflows/custom/wf-new/detail"


def test_workflow_creation_confirmed_by_reading(hook: Any, requests_mock: Any) -> None:
    requests_mock.post(WORKFLOW_V4_URL, status_code=503, text="")
    requests_mock.get(DETAIL_URL, json={"workflow_key": "wf-new", "project_key": "demo"})
    hook.create_workflow(DEFINITION)
    assert posts(requests_mock, WORKFLOW_V4_URL) == 1


@pytest.mark.parametrize(
    "second",
    [
        {"json": SUCCESS},
        {
            "status_code": 400,
            "json": zadig_error(6540, "新建或更新wokflow失败", "与项目 [demo] 中的工作流 [wf-new] 标识相同"),
        },
    ],
    ids=["created", "duplicate"],
)
def test_workflow_creation_resent_when_missing(hook: Any, requests_mock: Any, second: Any) -> None:
    requests_mock.post(WORKFLOW_V4_URL, [READ_TIMEOUT, second])
    requests_mock.get(DETAIL_URL, status_code=500, json=internal_error("mongo: no documents in result"))
    hook.create_workflow(DEFINITION)
    assert posts(requests_mock, WORKFLOW_V4_URL) == 2


def test_workflow_creation_first_duplicate_raises(hook: Any, requests_mock: Any) -> None:
    requests_mock.post(
        WORKFLOW_V4_URL,
        status_code=400,
        json=zadig_error(6540, "新建或更新wokflow失败", "与项目 [demo] 中的工作流 [x] 标识相同"),
    )
    with pytest.raises(ZadigBadRequestError, match="unique across all Zadig projects"):
        hook.create_workflow(DEFINITION)
    assert posts(requests_mock, WORKFLOW_V4_URL) == 1


def test_approve_resent_after_approval_ended(bot_hook: Any, requests_mock: Any) -> None:
    requests_mock.get(
        TASK_URL, [{"json": task_detail()}, {"json": task_detail()}, {"json": decided_detail()}]
    )
    not_pending = zadig_error(6169, "批准工作流任务失败", "not found approval")
    requests_mock.post(APPROVE_URL, [READ_TIMEOUT, {"status_code": 400, "json": not_pending}])
    gate = bot_hook.approve_workflow_task("build-images", 7, "approval")
    assert gate.decision == "approve"
    assert posts(requests_mock, APPROVE_URL) == 2
