"""Approving: which name is sent, both approval shapes, and Zadig's responses to the approve call."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hook_testing import (
    APPROVE_URL,
    SUCCESS,
    TASK_URL,
    approval_job,
    build_job,
    legacy_task_detail,
    task_detail,
    vote,
    zadig_error,
)

from airflow_provider_zadig.exceptions import (
    ZadigConfigurationError,
    ZadigNotFoundError,
    ZadigPermissionError,
)
from airflow_provider_zadig.hooks._retry import is_transient


def approve_posts(requests_mock: Any) -> list[dict[str, Any]]:
    return [json.loads(request.body) for request in requests_mock.request_history if request.method == "POST"]


@pytest.mark.parametrize("name", ["deploy", "approval", "job-1-0-0-approval", None])
def test_any_name_resolves_to_the_job_task_name(hook: Any, requests_mock: Any, name: str | None) -> None:
    requests_mock.get(TASK_URL, json=task_detail())
    requests_mock.post(APPROVE_URL, json=SUCCESS)
    hook.approve_workflow_task("build-images", 7, name, comment="ok")
    (body,) = approve_posts(requests_mock)
    assert body == {
        "task_id": 7,
        "workflow_key": "build-images",
        "stage_name": "job-1-0-0-approval",
        "approve": True,
        "comment": "ok",
    }


def test_approval_job_reported_with_job_type_key(hook: Any, requests_mock: Any) -> None:
    stages = [
        {
            "name": "deploy-gate",
            "status": "running",
            "jobs": [{"name": "approval-prod", "job_type": "approval", "status": "wait_for_approval"}],
        }
    ]
    requests_mock.get(TASK_URL, json=task_detail(stages=stages))
    requests_mock.post(APPROVE_URL, json=SUCCESS)
    hook.approve_workflow_task("release", 7, "deploy-gate")
    assert approve_posts(requests_mock)[0]["stage_name"] == "approval-prod"


def test_legacy_stage_approval_sends_the_stage_name(hook: Any, requests_mock: Any) -> None:
    requests_mock.get(
        TASK_URL, [{"json": legacy_task_detail()}, {"json": legacy_task_detail(decision="approve")}]
    )
    requests_mock.post(APPROVE_URL, json=SUCCESS)
    gate = hook.approve_workflow_task("build-images", 7, "deploy", approve=True)
    assert approve_posts(requests_mock)[0]["stage_name"] == "deploy"
    assert gate.legacy is True
    assert gate.decision == "approve"


def test_reject_sends_approve_false(hook: Any, requests_mock: Any) -> None:
    requests_mock.get(TASK_URL, json=task_detail())
    requests_mock.post(APPROVE_URL, json=SUCCESS)
    hook.approve_workflow_task("build-images", 7, "approval", approve=False, comment="not today")
    assert approve_posts(requests_mock)[0]["approve"] is False


def test_unknown_name_lists_the_known_approvals(hook: Any, requests_mock: Any) -> None:
    requests_mock.get(TASK_URL, json=task_detail())
    with pytest.raises(ZadigConfigurationError) as excinfo:
        hook.approve_workflow_task("build-images", 7, "deploy-prod")
    message = str(excinfo.value)
    assert "No approval named 'deploy-prod' in task 7 of workflow 'build-images'" in message
    assert "stage 'deploy' / job 'approval' / job task 'job-1-0-0-approval'" in message
    assert approve_posts(requests_mock) == []


def test_task_without_approvals(hook: Any, requests_mock: Any) -> None:
    requests_mock.get(TASK_URL, json=task_detail(stages=[{"name": "build", "jobs": [build_job()]}]))
    with pytest.raises(ZadigConfigurationError, match="has no approval to decide"):
        hook.approve_workflow_task("build-images", 7)


@pytest.mark.parametrize(
    ("kind", "app"), [("lark", "Feishu (Lark)"), ("dingtalk", "DingTalk"), ("workwx", "WeCom (WeChat Work)")]
)
def test_chat_app_approval_raises(hook: Any, requests_mock: Any, kind: str, app: str) -> None:
    stages = [{"name": "deploy", "status": "running", "jobs": [approval_job(approval_type=kind)]}]
    requests_mock.get(TASK_URL, json=task_detail(stages=stages))
    with pytest.raises(ZadigConfigurationError, match=re.escape(f"is a {app} approval: decide it in {app}")):
        hook.approve_workflow_task("build-images", 7, "approval")
    assert approve_posts(requests_mock) == []


def test_decided_approval_is_returned_without_sending(hook: Any, requests_mock: Any) -> None:
    stages = [
        {
            "name": "deploy",
            "status": "passed",
            "jobs": [approval_job(status="passed", votes=[vote("admin", "approve")])],
        }
    ]
    requests_mock.get(TASK_URL, json=task_detail(status="passed", stages=stages))
    gate = hook.approve_workflow_task("build-images", 7, "approval")
    assert gate.decision == "approve"
    assert approve_posts(requests_mock) == []


@pytest.mark.parametrize(
    ("earlier_vote", "approve"), [("approve", True), ("reject", True), ("reject", False)]
)
def test_second_vote_counts_as_done(
    hook: Any, requests_mock: Any, log_text: Any, earlier_vote: str, approve: bool
) -> None:
    requests_mock.get(TASK_URL, json=task_detail())
    rejection = zadig_error(6169, "批准工作流任务失败", f"svc-user have {earlier_vote} already")
    requests_mock.post(APPROVE_URL, status_code=400, json=rejection)
    gate = hook.approve_workflow_task("build-images", 7, "approval", approve=approve)
    assert gate.job_task_name == "job-1-0-0-approval"
    assert len(approve_posts(requests_mock)) == 1
    assert f"already voted {earlier_vote}" in log_text()


def test_user_without_authority_is_a_permanent_permission_error(hook: Any, requests_mock: Any) -> None:
    requests_mock.get(TASK_URL, json=task_detail())
    rejection = zadig_error(6169, "批准工作流任务失败", "user svc-user has no authority to Approve")
    requests_mock.post(APPROVE_URL, status_code=400, json=rejection)
    with pytest.raises(ZadigPermissionError) as excinfo:
        hook.approve_workflow_task("build-images", 7, "approval")
    exc = excinfo.value
    assert "User 'svc-user'" in str(exc)
    assert "'zadig_test'" in str(exc)
    assert exc.code == 6169
    assert exc.status_code == 400
    assert is_transient(exc) is False
    assert len(approve_posts(requests_mock)) == 1


def test_not_found_approval_lists_the_approvals(hook: Any, requests_mock: Any) -> None:
    requests_mock.get(TASK_URL, json=task_detail())
    rejection = zadig_error(6169, "批准工作流任务失败", "not found approval")
    requests_mock.post(APPROVE_URL, status_code=400, json=rejection)
    with pytest.raises(ZadigNotFoundError) as excinfo:
        hook.approve_workflow_task("build-images", 7, "deploy")
    message = str(excinfo.value)
    assert "no pending approval 'job-1-0-0-approval'" in message
    assert "job 'approval'" in message
    assert excinfo.value.code == 6169


def test_approval_decided_by_someone_else_meanwhile(hook: Any, requests_mock: Any) -> None:
    decided = task_detail()
    decided["stages"][1]["jobs"][0].update(status="passed")
    decided["stages"][1]["jobs"][0]["spec"]["native_approval"]["approve_users"] = [vote("li", "approve")]
    requests_mock.get(TASK_URL, [{"json": task_detail()}, {"json": decided}])
    requests_mock.post(
        APPROVE_URL, status_code=400, json=zadig_error(6169, "批准工作流任务失败", "not found approval")
    )
    gate = hook.approve_workflow_task("build-images", 7, "approval")
    assert gate.decision == "approve"
    assert gate.comments == []
    assert len(approve_posts(requests_mock)) == 1
