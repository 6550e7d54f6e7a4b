"""Approval gates in both shapes: approval jobs (Zadig v3.1 and later) and stage approvals (older servers)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_zadig.models import WorkflowStatus, WorkflowTask


def approval_job(
    status: str, votes: list[dict[str, Any]] | None = None, kind: str = "native", needed: int = 1
) -> dict[str, Any]:
    return {
        "name": "job-1-0-0-approval-prod",
        "type": "approval",
        "status": status,
        "spec": {
            "type": kind,
            f"{kind}_approval": {"approve_users": votes or [], "needed_approvers": needed},
        },
    }


def job_task(stage_status: str, job: dict[str, Any], task_status: str = "running") -> WorkflowTask:
    return WorkflowTask.model_validate(
        {
            "task_id": 3,
            "status": task_status,
            "stages": [
                {
                    "name": "build",
                    "status": "passed",
                    "jobs": [{"name": "job-0-0-0-build", "type": "zadig-build", "status": "passed"}],
                },
                {"name": "deploy-gate", "status": stage_status, "jobs": [job]},
            ],
        }
    )


def legacy_task(
    approval: dict[str, Any], stage_status: str = "running", task_status: str = "running"
) -> WorkflowTask:
    return WorkflowTask.model_validate(
        {
            "task_id": 3,
            "status": task_status,
            "stages": [
                {
                    "name": "deploy",
                    "status": stage_status,
                    "approval": {"enabled": True, **approval},
                    "jobs": [{"name": "a-myapp-1-deploy-myapps", "type": "zadig-deploy", "status": ""}],
                }
            ],
        }
    )


def test_pending_approval_job() -> None:
    task = job_task("running", approval_job("wait_for_approval"))
    (gate,) = task.approval_gates()
    assert gate.is_pending
    assert not gate.is_decided
    assert gate.stage_name == "deploy-gate"
    assert gate.job_name == "approval-prod"
    assert gate.job_task_name == "job-1-0-0-approval-prod"
    assert gate.can_approve_through_api
    assert not gate.legacy


@pytest.mark.parametrize("name", ["deploy-gate", "approval-prod", "job-1-0-0-approval-prod", None])
def test_find_approval_by_any_name(name: str | None) -> None:
    gate = job_task("running", approval_job("wait_for_approval")).find_approval(name)
    assert gate is not None
    assert gate.job_task_name == "job-1-0-0-approval-prod"


def test_unknown_approval_name() -> None:
    assert job_task("running", approval_job("wait_for_approval")).find_approval("build") is None


@pytest.mark.parametrize(
    ("status", "votes", "decision"),
    [
        ("passed", [], "approve"),
        ("reject", [], "reject"),
        (
            "wait_for_approval",
            [{"user_name": "li", "reject_or_approve": "reject", "comment": "no"}],
            "reject",
        ),
        ("wait_for_approval", [{"user_name": "li", "reject_or_approve": "approve"}], "approve"),
        ("timeout", [], ""),
    ],
)
def test_approval_job_decisions(status: str, votes: list[dict[str, Any]], decision: str) -> None:
    (gate,) = job_task("running", approval_job(status, votes)).approval_gates()
    assert gate.decision == decision
    assert gate.is_decided


def test_approval_job_needs_enough_votes() -> None:
    votes = [{"user_name": "li", "reject_or_approve": "approve", "comment": "ok"}]
    (gate,) = job_task("running", approval_job("wait_for_approval", votes, needed=2)).approval_gates()
    assert gate.decision == ""
    assert gate.is_pending
    assert gate.comments == ["li: ok"]


@pytest.mark.parametrize("kind", ["lark", "dingtalk", "workwx"])
def test_chat_app_approvals_not_api_decidable(kind: str) -> None:
    (gate,) = job_task("running", approval_job("wait_for_approval", kind=kind)).approval_gates()
    assert gate.approval_type == kind
    assert gate.is_pending
    assert not gate.can_approve_through_api


def test_pending_legacy_stage_approval() -> None:
    task = legacy_task(
        {"reject_or_approve": "", "approve_users": [{"user_name": "admin"}]}, task_status="wait_for_approval"
    )
    (gate,) = task.approval_gates()
    assert gate.legacy
    assert gate.is_pending
    assert gate.job_task_name == "deploy"
    assert gate.job_name is None


def test_legacy_stage_without_started_jobs_pending() -> None:
    (gate,) = legacy_task({"reject_or_approve": ""}).approval_gates()
    assert gate.status is WorkflowStatus.WAIT_FOR_APPROVAL


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_decided_legacy_stage_approval(decision: str) -> None:
    task = legacy_task(
        {
            "reject_or_approve": decision,
            "approve_users": [{"user_name": "admin", "reject_or_approve": decision, "comment": "c"}],
        },
        stage_status="passed" if decision == "approve" else "reject",
    )
    (gate,) = task.approval_gates()
    assert gate.decision == decision
    assert gate.comments == ["admin: c"]


def test_disabled_legacy_approval_is_no_gate() -> None:
    task = WorkflowTask.model_validate(
        {"task_id": 1, "stages": [{"name": "deploy", "approval": {"enabled": False}, "jobs": []}]}
    )
    assert task.approval_gates() == []
    assert task.find_approval() is None


def test_task_waiting_without_stage_details() -> None:
    task = WorkflowTask.model_validate(
        {
            "task_id": 1,
            "status": "wait_for_approval",
            "stages": [{"name": "build", "status": "passed"}, {"name": "deploy"}],
        }
    )
    (gate,) = task.approval_gates()
    assert gate.is_pending
    assert gate.stage_name == "deploy"
    assert gate.job_task_name is None
    assert not gate.can_approve_through_api
