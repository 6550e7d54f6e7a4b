"""
Every JSON example of the Zadig v3.4 workflow OpenAPI docs page parses as the hook parses it.

``data/docs-*.json`` are the page's examples that are valid JSON, copied unchanged.
``data/docs-*.comments-removed.json`` are examples that the page annotates with ``//`` or ``#``
comments or ends with a trailing comma: the comments and the trailing commas were removed and
nothing else. Examples with missing commas or bare keys are left out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from airflow_provider_zadig.exceptions import (
    ZadigAPIError,
    ZadigBadRequestError,
    ZadigNotFoundError,
    ZadigServerError,
)
from airflow_provider_zadig.hooks._endpoints import cancel_workflow_task
from airflow_provider_zadig.hooks._errors import error_from_response, is_finished_task_cancel
from airflow_provider_zadig.hooks._response import read_response
from airflow_provider_zadig.models import (
    REDACTED,
    ApproveRequest,
    CreateWorkflowViewRequest,
    ExecuteWorkflowResult,
    JobInput,
    UpdateWorkflowViewRequest,
    WorkflowDefinition,
    WorkflowDetail,
    WorkflowList,
    WorkflowStatus,
    WorkflowTask,
    WorkflowTaskList,
    WorkflowView,
)

DATA = Path(__file__).parent / "data"

SUCCESS_EXAMPLES = [
    "docs-cancel-success.json",
    "docs-retry-success.json",
    "docs-approve-success.json",
    "docs-delete-workflow-success.json",
    "docs-create-view-success.json",
    "docs-edit-view-success.json",
    "docs-delete-view-success.json",
    "docs-ticket-success.json",
]
ERROR_EXAMPLES = {
    "docs-task-list-error.json": ZadigBadRequestError,
    "docs-retry-error.json": ZadigNotFoundError,
    "docs-delete-view-error.json": ZadigNotFoundError,
    "docs-ticket-error.json": ZadigServerError,
    "docs-task-detail-error.comments-removed.json": ZadigNotFoundError,
    "docs-cancel-error-passed.comments-removed.json": ZadigBadRequestError,
    "docs-cancel-error-missing.comments-removed.json": ZadigNotFoundError,
    "docs-approve-error.comments-removed.json": ZadigBadRequestError,
}
INPUT_EXAMPLES = [
    "docs-input-custom-deploy.comments-removed.json",
    "docs-input-freestyle.comments-removed.json",
    "docs-input-plugin.comments-removed.json",
    "docs-input-sql.comments-removed.json",
    "docs-input-zadig-scanning.comments-removed.json",
]
MODEL_EXAMPLES = [
    "docs-workflow-list.json",
    "docs-task-list.json",
    "docs-workflow-detail.comments-removed.json",
    "docs-task-detail.comments-removed.json",
    "docs-execute-response.comments-removed.json",
    "docs-view-list.comments-removed.json",
    "docs-approve-request.json",
    "docs-create-workflow-request.json",
    "docs-create-view-request.json",
    "docs-edit-view-request.json",
]


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def test_every_example_file_is_checked() -> None:
    checked = set(SUCCESS_EXAMPLES) | set(ERROR_EXAMPLES) | set(INPUT_EXAMPLES) | set(MODEL_EXAMPLES)
    assert {path.name for path in DATA.glob("*.json")} == checked


def test_workflow_list() -> None:
    workflows = WorkflowList.model_validate(load("docs-workflow-list.json")).workflows
    assert [workflow.workflow_key for workflow in workflows] == ["just-deploy", "xiaxianfuwu"]
    assert workflows[1].workflow_name == "offline service"
    assert workflows[0].update_time == 1686217885


def test_task_list() -> None:
    page = WorkflowTaskList.model_validate(load("docs-task-list.json"))
    assert page.total == 15
    (task,) = page.workflow_tasks
    assert task.task_id == 15
    assert task.status is WorkflowStatus.PASSED
    assert task.task_creator == "webhook"


def test_workflow_detail() -> None:
    detail = WorkflowDetail.model_validate(load("docs-workflow-detail.comments-removed.json"))
    assert detail.workflow_key == "build-deploy"
    assert detail.job_names == ["build", "deploy", "default"]
    assert [stage.name for stage in detail.stages] == ["build", "deploy"]
    assert detail.stages[0].approval is not None
    assert detail.stages[0].approval["enabled"] is False
    code = detail.get_param("code")
    assert code is not None
    assert code.repo is not None
    assert code.repo.repo_name == "picture"
    assert detail.concurrency_limit == 1
    assert detail.notify_ctls is not None


def test_task_detail() -> None:
    task = WorkflowTask.model_validate(load("docs-task-detail.comments-removed.json"))
    assert task.task_id == 24
    assert task.status is WorkflowStatus.RUNNING
    assert task.project_key == "simple-service-demo"
    assert [stage.name for stage in task.stages] == ["构建", "部署", "通用任务", "自定义任务"]
    envs = task.stages[0].jobs[0].spec["envs"]
    assert [env["value"] for env in envs] == ["admin", REDACTED, "1"]
    gate = task.find_approval("部署")
    assert gate is not None
    assert gate.legacy is True
    assert gate.decision == "approve"
    assert gate.comments == ["admin: LGTM"]
    assert gate.needed_approvers == 1
    assert "job 'say-hi' (plugin): passed" in task.describe_stages()
    assert task.failed_jobs() == []


def test_execute_response() -> None:
    result = ExecuteWorkflowResult.model_validate(load("docs-execute-response.comments-removed.json"))
    assert result.task_id == 20
    assert result.workflow_key == "openapi-test"
    assert result.project_key == "simple-service-demo"


def test_view_list() -> None:
    views = TypeAdapter(list[WorkflowView]).validate_python(load("docs-view-list.comments-removed.json"))
    assert views[0].name == "test-view"
    assert views[0].workflow_keys == ["xiaxianfuwu"]


def test_approve_request() -> None:
    body = load("docs-approve-request.json")
    assert ApproveRequest.model_validate(body).to_body() == body


def test_create_workflow_request() -> None:
    body = load("docs-create-workflow-request.json")
    definition = WorkflowDefinition.model_validate(body)
    assert definition.to_body() == body
    assert [stage.name for stage in definition.stages] == ["构建", "部署", "测试", "分发", "镜像分发"]


def test_create_view_request() -> None:
    body = load("docs-create-view-request.json")
    request = CreateWorkflowViewRequest.model_validate(body)
    sent = request.to_body()
    assert sent["name"] == "view-demo"
    assert [entry["workflow_key"] for entry in sent["workflow_list"]] == ["dev", "nacos-config-update"]
    assert all(entry["workflow_type"] == "custom" for entry in sent["workflow_list"])


def test_edit_view_request() -> None:
    body = load("docs-edit-view-request.json")
    assert UpdateWorkflowViewRequest.model_validate(body).to_body() == body


@pytest.mark.parametrize("name", INPUT_EXAMPLES)
def test_job_inputs(name: str) -> None:
    body = load(name)
    assert JobInput.model_validate(body).to_body() == body


@pytest.mark.parametrize("name", SUCCESS_EXAMPLES)
def test_success_bodies_are_accepted(name: str) -> None:
    from airflow_provider_zadig.hooks._connection import ZadigConnectionSettings

    settings = ZadigConnectionSettings(conn_id="docs", base_url="https://zadig.example.com", token="t")
    content = (DATA / name).read_bytes()
    assert read_response(cancel_workflow_task("wf", 1), settings, 200, {}, content)["message"] == "success"


@pytest.mark.parametrize(("name", "expected"), ERROR_EXAMPLES.items())
def test_error_bodies_map_to_exceptions(name: str, expected: type[ZadigAPIError]) -> None:
    body = load(name)
    # Zadig sends its 6xxx and 7xxx codes with HTTP 400, and other codes as the HTTP status.
    status = 400 if body["code"] >= 600 else body["code"]
    exc = error_from_response(status, {}, json.dumps(body, ensure_ascii=False), "GET", "/openapi/x", "docs")
    assert type(exc) is expected
    assert exc.code == body["code"]
    assert exc.description == body["description"]
    if name.startswith("docs-cancel-error-passed"):
        assert is_finished_task_cancel(exc)
