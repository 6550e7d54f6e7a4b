"""What the hook puts on the wire for every endpoint: method, path, query, body and headers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hook_testing import (
    APPROVE_URL,
    BASE_URL,
    SUCCESS,
    TASK_URL,
    TICKET_URL,
    TOKEN,
    VIEW_URL,
    WORKFLOW_V4_URL,
    task_detail,
    task_list,
    vote,
)

from airflow_provider_zadig.exceptions import ZadigConfigurationError
from airflow_provider_zadig.hooks._base import CONNECTION_TEST_PROJECT

DOCS_WORKFLOW_LIST = {
    "workflows": [
        {
            "workflow_key": "just-deploy",
            "workflow_name": "just-deploy",
            "update_by": "admin",
            "update_time": 1,
            "type": "custom",
        },
        {
            "workflow_key": "xiaxianfuwu",
            "workflow_name": "offline service",
            "update_by": "admin",
            "update_time": 2,
            "type": "custom",
        },
    ]
}


def check_request(request: Any, method: str, url: str, body: Any = None) -> None:
    """Assert one request's method, full URL, JSON body (or no body) and headers."""
    assert request.method == method
    assert request.url == url
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Accept"] == "application/json"
    assert TOKEN not in request.url
    if body is None:
        assert request.body is None
        assert "Content-Type" not in request.headers
    else:
        assert request.headers["Content-Type"] == "application/json; charset=utf-8"
        assert json.loads(request.body.decode("utf-8")) == body


def test_list_workflows(hook: Any, requests_mock: Any) -> None:
    requests_mock.get(f"{BASE_URL}/openapi/workflows", json=DOCS_WORKFLOW_LIST)
    workflows = hook.list_workflows("lilian-test", view_name="test view")
    assert [workflow.workflow_key for workflow in workflows] == ["just-deploy", "xiaxianfuwu"]
    assert workflows[1].workflow_name == "offline service"
    check_request(
        requests_mock.last_request,
        "GET",
        f"{BASE_URL}/openapi/workflows?projectKey=lilian-test&viewName=test%20view",
    )


def test_get_workflow(hook: Any, requests_mock: Any) -> None:
    detail = {
        "workflow_key": "build-deploy",
        "project_key": "lilian-test",
        "params": [{"name": "db", "type": "string", "value": "secret-value", "is_credential": True}],
        "stages": [{"name": "build", "jobs": [{"name": "build", "type": "zadig-build"}]}],
    }
    requests_mock.get(f"{BASE_URL}/openapi/workflows/custom/build-deploy/detail", json=detail)
    workflow = hook.get_workflow("build-deploy", "lilian-test")
    assert workflow.job_names == ["build"]
    assert workflow.params[0].value == "***"
    check_request(
        requests_mock.last_request,
        "GET",
        f"{BASE_URL}/openapi/workflows/custom/build-deploy/detail?projectKey=lilian-test",
    )


def test_list_workflow_tasks_always_sends_paging(hook: Any, requests_mock: Any) -> None:
    url = f"{BASE_URL}/openapi/workflows/custom/build-images/tasks"
    requests_mock.get(url, json=task_list((3, "admin"), (2, "admin"), total=3))
    page = hook.list_workflow_tasks("build-images", "simple-service-demo")
    assert page.total == 3
    assert [task.task_id for task in page.workflow_tasks] == [3, 2]
    check_request(
        requests_mock.last_request, "GET", f"{url}?projectKey=simple-service-demo&pageNum=1&pageSize=50"
    )
    hook.list_workflow_tasks("build-images", "simple-service-demo", page_num=4, page_size=5)
    check_request(
        requests_mock.last_request, "GET", f"{url}?projectKey=simple-service-demo&pageNum=4&pageSize=5"
    )


@pytest.mark.parametrize(("page_num", "page_size"), [(0, 10), (1, 0), (-1, 5), (1, True)])
def test_list_workflow_tasks_rejects_bad_paging(
    hook: Any, requests_mock: Any, page_num: Any, page_size: Any
) -> None:
    with pytest.raises(ZadigConfigurationError, match="must be a positive integer"):
        hook.list_workflow_tasks("build-images", "demo", page_num=page_num, page_size=page_size)
    assert requests_mock.call_count == 0


def test_iter_workflow_tasks_stops_at_total(hook: Any, requests_mock: Any) -> None:
    url = f"{BASE_URL}/openapi/workflows/custom/build-images/tasks"
    requests_mock.get(
        url,
        [
            {"json": task_list((5, "a"), (4, "a"), total=5)},
            {"json": task_list((3, "a"), (2, "a"), total=5)},
            {"json": task_list((1, "a"), total=5)},
        ],
    )
    ids = [task.task_id for task in hook.iter_workflow_tasks("build-images", "demo", page_size=2)]
    assert ids == [5, 4, 3, 2, 1]
    pages = [request.url.split("pageNum=")[1] for request in requests_mock.request_history]
    assert pages == ["1&pageSize=2", "2&pageSize=2", "3&pageSize=2"]


def test_iter_workflow_tasks_stops_at_empty_page(hook: Any, requests_mock: Any) -> None:
    url = f"{BASE_URL}/openapi/workflows/custom/build-images/tasks"
    requests_mock.get(url, [{"json": task_list((9, "a"), (8, "a"), total=10)}, {"json": task_list(total=10)}])
    assert [task.task_id for task in hook.iter_workflow_tasks("build-images", "demo", page_size=2)] == [9, 8]
    assert requests_mock.call_count == 2


def test_get_workflow_task(hook: Any, requests_mock: Any) -> None:
    requests_mock.get(TASK_URL, json=task_detail(task_id=7))
    task = hook.get_workflow_task("build-images", "7")
    assert task.task_id == 7
    check_request(requests_mock.last_request, "GET", f"{TASK_URL}?taskId=7&workflowKey=build-images")


@pytest.mark.parametrize("task_id", [0, -3, "abc", None, True, 1.5])
def test_invalid_task_id_is_rejected_before_sending(hook: Any, requests_mock: Any, task_id: Any) -> None:
    with pytest.raises(ZadigConfigurationError, match="task_id must be a positive integer"):
        hook.get_workflow_task("build-images", task_id)
    assert requests_mock.call_count == 0


@pytest.mark.parametrize("workflow_key", ["", "   ", None])
def test_empty_workflow_key_is_rejected_before_sending(
    hook: Any, requests_mock: Any, workflow_key: Any
) -> None:
    with pytest.raises(ZadigConfigurationError, match="workflow_key must be a non-empty string"):
        hook.cancel_workflow_task(workflow_key, 3)
    assert requests_mock.call_count == 0


def test_execute_workflow(hook: Any, requests_mock: Any) -> None:
    tasks_url = f"{BASE_URL}/openapi/workflows/custom/build-images/tasks"
    requests_mock.get(tasks_url, json=task_list((4, "admin")))
    requests_mock.post(
        TASK_URL, json={"project_name": "simple-service-demo", "workflow_name": "build-images", "task_id": 5}
    )
    result = hook.execute_workflow(
        project_key="simple-service-demo",
        workflow_key="build-images",
        parameters=[{"name": "replicas", "value": 3}, {"name": "branch", "value": "主干"}],
        inputs=[{"job_name": "build-myapps", "parameters": {"registry": "r"}}],
    )
    assert result.task_id == 5
    assert result.workflow_key == "build-images"
    assert result.project_key == "simple-service-demo"
    check_request(
        requests_mock.request_history[0],
        "GET",
        f"{tasks_url}?projectKey=simple-service-demo&pageNum=1&pageSize=10",
    )
    check_request(
        requests_mock.last_request,
        "POST",
        TASK_URL,
        {
            "project_key": "simple-service-demo",
            "workflow_key": "build-images",
            "parameters": [
                {"name": "replicas", "type": "string", "value": "3"},
                {"name": "branch", "type": "string", "value": "主干"},
            ],
            "inputs": [{"job_name": "build-myapps", "job_type": "", "parameters": {"registry": "r"}}],
        },
    )
    assert "主干".encode() in requests_mock.last_request.body


def test_execute_rejects_invalid_arguments_before_sending(hook: Any, requests_mock: Any) -> None:
    with pytest.raises(ZadigConfigurationError, match=r"parameters\.0\.repo.*prs"):
        hook.execute_workflow(
            "demo",
            "wf",
            parameters=[
                {
                    "name": "code",
                    "type": "repo",
                    "repo": {"codehost_name": "g", "repo_namespace": "t", "repo_name": "s", "prs": "x"},
                }
            ],
        )
    with pytest.raises(ZadigConfigurationError, match="workflow_key"):
        hook.execute_workflow("demo", "")
    assert requests_mock.call_count == 0


def test_cancel_sends_query_and_no_body(hook: Any, requests_mock: Any) -> None:
    requests_mock.delete(TASK_URL, json=SUCCESS)
    assert hook.cancel_workflow_task("build-images", 20) is True
    check_request(requests_mock.last_request, "DELETE", f"{TASK_URL}?taskId=20&workflowKey=build-images")


def test_retry_workflow_task(hook: Any, requests_mock: Any) -> None:
    url = f"{BASE_URL}/openapi/workflows/custom/build-images/task/7"
    requests_mock.post(url, json=SUCCESS)
    hook.retry_workflow_task("build-images", 7, project_key="simple-service-demo")
    check_request(requests_mock.last_request, "POST", f"{url}?projectKey=simple-service-demo")
    hook.retry_workflow_task("build-images", 7)
    check_request(requests_mock.last_request, "POST", url)


def test_approve_workflow_task(hook: Any, requests_mock: Any) -> None:
    decided = task_detail()
    decided["stages"][1]["jobs"][0]["spec"]["native_approval"]["approve_users"] = [
        vote("admin", "approve", "通过")
    ]
    decided["stages"][1]["jobs"][0]["status"] = "passed"
    requests_mock.get(TASK_URL, [{"json": task_detail()}, {"json": decided}])
    requests_mock.post(APPROVE_URL, json=SUCCESS)
    gate = hook.approve_workflow_task("build-images", 7, "deploy", comment="通过")
    assert gate.decision == "approve"
    assert gate.comments == ["admin: 通过"]
    check_request(
        requests_mock.request_history[1],
        "POST",
        APPROVE_URL,
        {
            "task_id": 7,
            "workflow_key": "build-images",
            "stage_name": "job-1-0-0-approval",
            "approve": True,
            "comment": "通过",
        },
    )


def test_delete_workflow(hook: Any, requests_mock: Any) -> None:
    requests_mock.delete(f"{BASE_URL}/openapi/workflows/custom", json=SUCCESS)
    hook.delete_workflow("build-images", "simple-service-demo")
    check_request(
        requests_mock.last_request,
        "DELETE",
        f"{BASE_URL}/openapi/workflows/custom?workflowKey=build-images&projectKey=simple-service-demo",
    )


def test_list_workflow_views(hook: Any, requests_mock: Any) -> None:
    views = [
        {
            "name": "test-view",
            "project_key": "lilian-test",
            "workflows": [{"workflow_key": "xiaxianfuwu", "workflow_type": "custom"}],
            "update_time": 1,
            "update_by": "admin",
        }
    ]
    requests_mock.get(VIEW_URL, json=views)
    result = hook.list_workflow_views("lilian-test")
    assert result[0].workflow_keys == ["xiaxianfuwu"]
    check_request(requests_mock.last_request, "GET", f"{VIEW_URL}?projectKey=lilian-test")


def test_create_workflow_view(hook: Any, requests_mock: Any) -> None:
    requests_mock.post(VIEW_URL, json=SUCCESS)
    hook.create_workflow_view(
        "demo", "view-demo", ["dev", {"workflow_key": "old", "workflow_type": "product_workflow"}, "dev"]
    )
    check_request(
        requests_mock.last_request,
        "POST",
        VIEW_URL,
        {
            "project_key": "demo",
            "name": "view-demo",
            "workflow_list": [
                {"workflow_key": "dev", "workflow_type": "custom", "enabled": True},
                {"workflow_key": "old", "workflow_type": "product", "enabled": True},
            ],
        },
    )


def test_update_workflow_view_merges(hook: Any, requests_mock: Any) -> None:
    requests_mock.put(f"{VIEW_URL}/release", json=SUCCESS)
    hook.update_workflow_view(
        "demo",
        "release",
        add=["wf-b", {"workflow_key": "wf-b", "workflow_type": "common_workflow"}],
        remove=["wf-old"],
    )
    check_request(
        requests_mock.last_request,
        "PUT",
        f"{VIEW_URL}/release?projectKey=demo",
        {
            "workflow_list": [
                {"workflow_key": "wf-b", "workflow_type": "custom", "enabled": True},
                {"workflow_key": "wf-old", "workflow_type": "custom", "enabled": False},
            ]
        },
    )


def test_update_workflow_view_rejects_conflicts(hook: Any, requests_mock: Any) -> None:
    with pytest.raises(ZadigConfigurationError, match="wf-b are in both add and remove"):
        hook.update_workflow_view("demo", "release", add=["wf-b"], remove=["wf-b"])
    with pytest.raises(ZadigConfigurationError, match="workflow_type"):
        hook.update_workflow_view("demo", "release", add=[{"workflow_key": "a", "workflow_type": "pipeline"}])
    hook.update_workflow_view("demo", "release")
    assert requests_mock.call_count == 0


def test_delete_workflow_view_quotes_the_name(hook: Any, requests_mock: Any) -> None:
    requests_mock.delete(f"{VIEW_URL}/%E5%8F%91%E5%B8%83%20view", json=SUCCESS)
    hook.delete_workflow_view("demo", "发布 view")
    check_request(
        requests_mock.last_request, "DELETE", f"{VIEW_URL}/%E5%8F%91%E5%B8%83%20view?projectKey=demo"
    )


def test_create_workflow(hook: Any, requests_mock: Any) -> None:
    requests_mock.post(WORKFLOW_V4_URL, json=SUCCESS)
    definition = {
        "name": "wf-new",
        "project": "demo",
        "concurrency_limit": 1,
        "stages": [
            {"name": "构建", "jobs": [{"name": "build", "type": "zadig-build", "spec": {}, "isCreate": True}]}
        ],
    }
    hook.create_workflow(definition, view_name="release")
    check_request(requests_mock.last_request, "POST", f"{WORKFLOW_V4_URL}?viewName=release", definition)


def test_update_workflow(hook: Any, requests_mock: Any) -> None:
    requests_mock.put(f"{WORKFLOW_V4_URL}/wf-new", json=SUCCESS)
    definition = {"name": "wf-new", "project": "demo", "stages": []}
    hook.update_workflow("wf-new", definition)
    check_request(requests_mock.last_request, "PUT", f"{WORKFLOW_V4_URL}/wf-new?projectName=demo", definition)


def test_update_workflow_refuses_a_rename(hook: Any, requests_mock: Any) -> None:
    with pytest.raises(ZadigConfigurationError, match="Zadig would rename the workflow"):
        hook.update_workflow("wf-old", {"name": "wf-new", "project": "demo"})
    assert requests_mock.call_count == 0


def test_create_approval_ticket(hook: Any, requests_mock: Any) -> None:
    requests_mock.post(TICKET_URL, json=SUCCESS)
    hook.create_approval_ticket(
        "demo",
        "OA-1",
        envs="prod",
        services=["svc", {"service_name": "web", "service_module": "nginx"}],
        users=["ops@example.com", {"name": "Li", "email": "li@example.com"}],
        execution_window_start=100,
        execution_window_end=200,
    )
    check_request(
        requests_mock.last_request,
        "POST",
        TICKET_URL,
        {
            "project_key": "demo",
            "approval_id": "OA-1",
            "status": 1,
            "envs": ["prod"],
            "services": [
                {"service_name": "svc", "service_module": ""},
                {"service_name": "web", "service_module": "nginx"},
            ],
            "users": [{"name": "", "email": "ops@example.com"}, {"name": "Li", "email": "li@example.com"}],
            "execution_window_start": 100,
            "execution_window_end": 200,
        },
    )


def test_create_approval_ticket_validates_window(hook: Any, requests_mock: Any) -> None:
    with pytest.raises(ZadigConfigurationError, match="start 300 is after end 200"):
        hook.create_approval_ticket("demo", "OA-1", execution_window_start=300, execution_window_end=200)
    assert requests_mock.call_count == 0


def test_test_connection_success(hook: Any, requests_mock: Any) -> None:
    requests_mock.get(f"{BASE_URL}/openapi/workflows", json={"workflows": []})
    ok, message = hook.test_connection()
    assert ok is True
    assert "https://zadig.example.com" in message
    check_request(
        requests_mock.last_request,
        "GET",
        f"{BASE_URL}/openapi/workflows?projectKey={CONNECTION_TEST_PROJECT}",
    )


def test_test_connection_bad_token(hook: Any, requests_mock: Any) -> None:
    requests_mock.get(f"{BASE_URL}/openapi/workflows", status_code=401, text="")
    ok, message = hook.test_connection()
    assert ok is False
    assert "HTTP 401" in message
    assert "'zadig_test'" in message
    assert TOKEN not in message
    assert requests_mock.call_count == 1


def test_test_connection_web_ui_instead_of_api(hook: Any, requests_mock: Any) -> None:
    requests_mock.get(f"{BASE_URL}/openapi/workflows", text="<html><title>Zadig</title></html>")
    ok, message = hook.test_connection()
    assert ok is False
    assert "not JSON" in message


def test_test_connection_other_json(hook: Any, requests_mock: Any) -> None:
    requests_mock.get(f"{BASE_URL}/openapi/workflows", json={"hello": "world"})
    ok, message = hook.test_connection()
    assert ok is False
    assert "not as the Zadig API does" in message


def test_test_connection_invalid_settings(make_hook: Any) -> None:
    ok, message = make_hook(extra={"timeout": "x"}).test_connection()
    assert ok is False
    assert "extra 'timeout'" in message


def test_get_task_web_url(make_hook: Any) -> None:
    hook = make_hook(host="https://zadig.example.com/zadig/")
    url = hook.get_task_web_url("demo", "build-images", 42, display_name="Build images")
    assert url == (
        "https://zadig.example.com/zadig/v1/projects/detail/demo/pipelines/custom/build-images/42"
        "?display_name=Build%20images"
    )


def test_session_is_reused_and_closed(hook: Any, requests_mock: Any) -> None:
    requests_mock.get(TASK_URL, json=task_detail())
    session = hook.get_conn()
    hook.get_workflow_task("build-images", 7)
    assert hook.get_conn() is session
    hook.close()
    assert hook.get_conn() is not session


def test_hook_as_context_manager(hook: Any, requests_mock: Any) -> None:
    requests_mock.get(TASK_URL, json=task_detail())
    with hook as opened:
        assert opened is hook
        session = opened.get_conn()
        opened.get_workflow_task("build-images", 7)
    assert hook.get_conn() is not session
