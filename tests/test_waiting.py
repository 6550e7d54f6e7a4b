"""Tests of the wait criteria, the evaluation of a poll, the event shape and the blocking poll loop."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest

from airflow_provider_zadig.exceptions import (
    ZadigConfigurationError,
    ZadigConnectionError,
    ZadigError,
    ZadigNotFoundError,
    ZadigPermissionError,
    ZadigServerError,
    ZadigWaitTimeoutError,
    ZadigWorkflowTaskError,
)
from airflow_provider_zadig.models import WorkflowStatus, WorkflowTask
from airflow_provider_zadig.waiting import (
    WAIT_FOR_CHOICES,
    StatusChangeTracker,
    TaskWatch,
    WaitCriteria,
    WaitResult,
    build_event,
    coerce_task_id,
    evaluate,
    parse_event,
    read_event,
    wait_for_task,
)

LOG = logging.getLogger("tests.waiting")

EVENT_KEYS = [
    "status",
    "workflow_key",
    "project_key",
    "task_id",
    "task_status",
    "message",
    "approval",
    "failed_job",
    "all_jobs_skipped",
]


# --- task detail builders ---------------------------------------------------------------------


def job(
    name: str, status: str = "", job_type: str = "zadig-build", index: str = "0-0", error: str = ""
) -> dict:
    return {"name": f"job-{index}-0-{name}", "type": job_type, "status": status, "error": error}


def approval_job(
    name: str,
    status: str = "",
    index: str = "1-0",
    votes: tuple[tuple[str, str, str], ...] = (),
    approval_type: str = "native",
    needed: int = 1,
) -> dict:
    users = [
        {"user_name": user, "reject_or_approve": decision, "comment": comment}
        for user, decision, comment in votes
    ]
    kind = {"approve_users": users, "needed_approvers": needed}
    spec = {"type": approval_type, "timeout": 60, f"{approval_type}_approval": kind}
    return {"name": f"job-{index}-0-{name}", "type": "approval", "status": status, "spec": spec}


def make_task(status: str, stages: list[dict] | None = None, **extra: Any) -> WorkflowTask:
    body = {
        "task_id": 42,
        "workflow_key": "build-images",
        "project_key": "simple-service-demo",
        "status": status,
        "stages": stages or [],
    }
    body.update(extra)
    return WorkflowTask.model_validate(body)


def gated_task(
    task_status: str, approval_status: str, votes=(), approval_type: str = "native"
) -> WorkflowTask:
    """Build a v3.4 task: stage ``build``, then stage ``deploy`` with an approval job and a deploy job."""
    build_status = "passed" if approval_status else "running"
    deploy_status = "running" if approval_status else ""
    return make_task(
        task_status,
        [
            {"name": "build", "status": build_status, "jobs": [job("build-myapps", build_status)]},
            {
                "name": "deploy",
                "status": deploy_status,
                "jobs": [
                    approval_job("approval", approval_status, votes=votes, approval_type=approval_type),
                    job("deploy-myapps", "", "zadig-deploy", index="1-1"),
                ],
            },
        ],
    )


def legacy_task(task_status: str, stage_status: str, decision: str = "", comment: str = "") -> WorkflowTask:
    """An older server's task: the approval is an object on stage ``deploy``."""
    users = [{"user_name": "admin", "reject_or_approve": decision, "comment": comment}] if decision else []
    approval = {"enabled": True, "reject_or_approve": decision, "approve_users": users, "needed_approvers": 1}
    return make_task(
        task_status,
        [
            {"name": "build", "status": "passed", "jobs": [job("build", "passed")]},
            {
                "name": "deploy",
                "status": stage_status,
                "approval": approval,
                "jobs": [job("deploy", "", index="1-0")],
            },
        ],
    )


def completion(**kwargs: Any) -> WaitCriteria:
    return WaitCriteria("completion", **kwargs)


# --- WaitCriteria -----------------------------------------------------------------------------


class TestWaitCriteria:
    def test_defaults(self):
        criteria = WaitCriteria()
        assert criteria.wait_for == "completion"
        assert criteria.approval_name is None
        assert criteria.success_statuses == ("passed",)
        assert criteria.failure_statuses == ("failed", "timeout", "cancelled", "reject")

    def test_wait_for_choices(self):
        assert WAIT_FOR_CHOICES == ("completion", "approval_pending", "approval_decided")

    def test_invalid_wait_for_names_value(self):
        with pytest.raises(
            ZadigConfigurationError, match=r"Invalid wait_for 'complete': use one of 'completion'"
        ):
            WaitCriteria("complete")

    def test_unknown_status_names_value_and_fix(self):
        with pytest.raises(ZadigConfigurationError) as info:
            WaitCriteria(success_statuses=["passed", "succeeded"])
        assert "'succeeded'" in str(info.value)
        assert "success_statuses" in str(info.value)
        assert "wait_for_approval" in str(info.value)

    def test_empty_status_rejected(self):
        with pytest.raises(ZadigConfigurationError, match="failure_statuses value ''"):
            WaitCriteria(failure_statuses=["failed", ""])

    def test_non_string_status_rejected(self):
        with pytest.raises(ZadigConfigurationError, match="success_statuses value 5"):
            WaitCriteria(success_statuses=[5])

    def test_non_iterable_statuses_rejected(self):
        with pytest.raises(ZadigConfigurationError, match="give a list"):
            WaitCriteria(success_statuses=5)  # type: ignore[arg-type]

    def test_overlapping_sets_rejected(self):
        with pytest.raises(ZadigConfigurationError, match="'failed' is in both"):
            WaitCriteria(success_statuses=["passed", "failed"])

    def test_empty_success_set_rejected(self):
        with pytest.raises(ZadigConfigurationError, match="success_statuses is empty"):
            WaitCriteria(success_statuses=[])

    def test_single_string_is_one_status(self):
        assert WaitCriteria(success_statuses="passed").success_statuses == ("passed",)

    def test_enum_members_become_plain_strings(self):
        criteria = WaitCriteria(success_statuses=[WorkflowStatus.PASSED, "passed"])
        assert criteria.success_statuses == ("passed",)
        assert type(criteria.success_statuses[0]) is str

    def test_approval_name_needs_approval_mode(self):
        with pytest.raises(ZadigConfigurationError, match="wait_for is 'completion'"):
            WaitCriteria("completion", approval_name="deploy")

    def test_blank_approval_name_rejected(self):
        with pytest.raises(ZadigConfigurationError, match="Invalid approval_name ' '"):
            WaitCriteria("approval_pending", approval_name=" ")

    def test_equal_when_same_values(self):
        assert WaitCriteria("approval_pending", "deploy") == WaitCriteria("approval_pending", "deploy")
        assert WaitCriteria("approval_pending") != WaitCriteria("approval_decided")


class TestCoerceTaskId:
    @pytest.mark.parametrize(("value", "expected"), [(42, 42), ("42", 42), (" 7 ", 7)])
    def test_valid(self, value, expected):
        assert coerce_task_id(value) == expected

    @pytest.mark.parametrize("value", ["abc", "None", "", 0, -1, True, 4.2, None, "4.2"])
    def test_invalid(self, value):
        with pytest.raises(ZadigConfigurationError, match="Invalid workflow_task_id"):
            coerce_task_id(value)

    def test_message_names_argument_and_xcom(self):
        with pytest.raises(ZadigConfigurationError) as info:
            coerce_task_id("None", "task_id")
        assert "Invalid task_id 'None'" in str(info.value)
        assert "xcom_pull" in str(info.value)


# --- evaluate: completion ---------------------------------------------------------------------


class TestEvaluateCompletion:
    def test_passed_succeeds(self):
        result = evaluate(make_task("passed"), completion())
        assert result is not None
        assert result.status == "success"
        assert result.task_status == "passed"
        assert result.workflow_key == "build-images"
        assert result.project_key == "simple-service-demo"
        assert result.task_id == 42

    @pytest.mark.parametrize(
        "status",
        [
            "waiting",
            "created",
            "queued",
            "running",
            "prepare",
            "wait_for_approval",
            "waiting_approve",
            "pause",
        ],
    )
    def test_non_terminal_keeps_waiting(self, status):
        assert evaluate(make_task(status), completion()) is None

    def test_unknown_status_keeps_waiting(self):
        assert evaluate(make_task("brand_new_status"), completion()) is None

    def test_failed_names_workflow_task_status_and_job(self):
        stages = [
            {
                "name": "build",
                "status": "failed",
                "jobs": [job("build-myapps", "failed", error="exit code 2: make: *** [test] Error 1")],
            }
        ]
        result = evaluate(make_task("failed", stages), completion())
        assert result is not None
        assert result.status == "failure"
        assert result.failed_job == "build-myapps"
        assert "Zadig workflow 'build-images' task 42" in result.message
        assert "status 'failed'" in result.message
        assert "job 'build-myapps' in stage 'build' failed: exit code 2" in result.message

    def test_cancelled_names_revoker(self):
        result = evaluate(make_task("cancelled", task_revoker="alice"), completion())
        assert result is not None
        assert result.status == "failure"
        assert "cancelled by alice" in result.message

    def test_terminal_status_outside_both_sets_fails(self):
        criteria = completion(failure_statuses=["failed"])
        result = evaluate(make_task("cancelled"), criteria)
        assert result is not None
        assert result.status == "failure"
        assert "not a success status (passed)" in result.message

    def test_custom_failure_status_ends_non_terminal(self):
        criteria = completion(failure_statuses=["failed", "pause"])
        result = evaluate(make_task("pause"), criteria)
        assert result is not None
        assert result.status == "failure"

    def test_custom_success_status(self):
        criteria = completion(success_statuses=["running"])
        result = evaluate(make_task("running"), criteria)
        assert result is not None
        assert result.status == "success"

    def test_reject_names_approver_comment(self):
        task = gated_task("reject", "reject", votes=(("admin", "reject", "not on a Friday"),))
        result = evaluate(task, completion())
        assert result is not None
        assert result.status == "failure"
        assert "rejected by admin" in result.message
        assert "admin commented 'not on a Friday'" in result.message

    def test_all_jobs_skipped_reported(self):
        stages = [{"name": "build", "status": "skipped", "jobs": [job("a", "skipped")]}]
        result = evaluate(make_task("passed", stages), completion())
        assert result is not None
        assert result.all_jobs_skipped is True

    def test_caller_keys_win(self):
        task = WorkflowTask.model_validate({"task_id": 42, "status": "passed"})
        result = evaluate(task, completion(), workflow_key="build-images", project_key="demo")
        assert result is not None
        assert result.workflow_key == "build-images"
        assert result.project_key == "demo"

    def test_long_message_truncated(self):
        result = evaluate(make_task("failed", error="x" * 5000), completion())
        assert result is not None
        assert len(result.message) <= 1000
        assert result.message.endswith("...(truncated)")


# --- evaluate: approval_pending ---------------------------------------------------------------


class TestEvaluateApprovalPending:
    def test_job_shape_pending_succeeds_with_gate(self):
        result = evaluate(gated_task("running", "wait_for_approval"), WaitCriteria("approval_pending"))
        assert result is not None
        assert result.status == "success"
        assert result.approval == {
            "stage_name": "deploy",
            "job_name": "approval",
            "job_task_name": "job-1-0-0-approval",
            "approval_type": "native",
            "status": "wait_for_approval",
            "decision": "",
            "comments": [],
        }
        assert "approval_name='job-1-0-0-approval'" in result.message

    @pytest.mark.parametrize("name", ["deploy", "approval", "job-1-0-0-approval"])
    def test_named_by_stage_job_or_job_task_name(self, name):
        criteria = WaitCriteria("approval_pending", approval_name=name)
        result = evaluate(gated_task("running", "wait_for_approval"), criteria)
        assert result is not None
        assert result.status == "success"

    def test_legacy_stage_shape_pending(self):
        result = evaluate(legacy_task("wait_for_approval", "running"), WaitCriteria("approval_pending"))
        assert result is not None
        assert result.status == "success"
        assert result.approval is not None
        assert result.approval["stage_name"] == "deploy"
        assert result.approval["job_task_name"] == "deploy"

    def test_task_status_only_pending(self):
        task = make_task("wait_for_approval", [{"name": "deploy", "status": "running", "jobs": []}])
        result = evaluate(task, WaitCriteria("approval_pending"))
        assert result is not None
        assert result.status == "success"
        assert result.approval is not None
        assert result.approval["job_task_name"] is None
        assert "Zadig web UI" in result.message

    def test_not_yet_pending_keeps_waiting(self):
        assert evaluate(gated_task("running", ""), WaitCriteria("approval_pending")) is None

    @pytest.mark.parametrize(
        ("kind", "app"), [("lark", "Lark (Feishu)"), ("dingtalk", "DingTalk"), ("workwx", "WeCom")]
    )
    def test_chat_app_approval_reported_with_note(self, kind, app):
        task = gated_task("running", "wait_for_approval", approval_type=kind)
        result = evaluate(task, WaitCriteria("approval_pending"))
        assert result is not None
        assert result.status == "success"
        assert result.approval is not None
        assert result.approval["approval_type"] == kind
        assert f"decide it in {app}" in result.message
        assert "the Zadig API cannot approve it" in result.message

    def test_named_gate_decided_before_seen_fails(self):
        task = gated_task("running", "passed", votes=(("admin", "approve", "ok"),))
        result = evaluate(task, WaitCriteria("approval_pending", approval_name="approval"))
        assert result is not None
        assert result.status == "failure"
        assert "was approved by admin" in result.message
        assert "before the wait saw it pending" in result.message

    def test_named_stage_waits_for_its_next_approval(self):
        decided = approval_job("first", "passed", index="1-0", votes=(("admin", "approve", ""),))
        stages = [
            {"name": "gates", "status": "running", "jobs": [decided, approval_job("second", "", index="1-1")]}
        ]
        criteria = WaitCriteria("approval_pending", approval_name="gates")
        assert evaluate(make_task("running", stages), criteria) is None
        stages[0]["jobs"][1] = approval_job("second", "wait_for_approval", index="1-1")
        result = evaluate(make_task("running", stages), criteria)
        assert result is not None
        assert result.status == "success"
        assert result.approval is not None
        assert result.approval["job_name"] == "second"

    def test_task_ended_first_fails(self):
        task = make_task("failed", [{"name": "build", "status": "failed", "jobs": [job("build", "failed")]}])
        result = evaluate(task, WaitCriteria("approval_pending"))
        assert result is not None
        assert result.status == "failure"
        assert "ended with status 'failed' before a pending approval" in result.message
        assert "the task has no approval" in result.message

    def test_unknown_name_listed_when_task_ends(self):
        task = gated_task("cancelled", "cancelled")
        result = evaluate(task, WaitCriteria("approval_pending", approval_name="deploy-gate"))
        assert result is not None
        assert result.status == "failure"
        assert "no approval named 'deploy-gate'" in result.message
        assert "'job-1-0-0-approval'" in result.message

    def test_unknown_name_fails_while_task_runs(self):
        task = gated_task("running", "wait_for_approval")
        result = evaluate(task, WaitCriteria("approval_pending", approval_name="aproval"))
        assert result is not None
        assert result.status == "failure"
        assert "no approval named 'aproval'" in result.message
        assert "'job-1-0-0-approval'" in result.message

    def test_unknown_name_fails_for_decided_wait(self):
        task = gated_task("running", "wait_for_approval")
        result = evaluate(task, WaitCriteria("approval_decided", approval_name="aproval"))
        assert result is not None
        assert result.status == "failure"
        assert "no approval named 'aproval'" in result.message


# --- evaluate: approval_decided ---------------------------------------------------------------


class TestEvaluateApprovalDecided:
    def test_approved_succeeds(self):
        task = gated_task("running", "passed", votes=(("admin", "approve", "ship it"),))
        result = evaluate(task, WaitCriteria("approval_decided"))
        assert result is not None
        assert result.status == "success"
        assert result.approval is not None
        assert result.approval["decision"] == "approve"
        assert result.approval["comments"] == ["admin: ship it"]
        assert "approved by admin" in result.message

    def test_rejected_fails_with_comments(self):
        task = gated_task("reject", "reject", votes=(("admin", "reject", "tests are red"),))
        result = evaluate(task, WaitCriteria("approval_decided", approval_name="approval"))
        assert result is not None
        assert result.status == "failure"
        assert "rejected by admin" in result.message
        assert "admin commented 'tests are red'" in result.message

    def test_pending_keeps_waiting(self):
        assert evaluate(gated_task("running", "wait_for_approval"), WaitCriteria("approval_decided")) is None

    def test_approval_timeout_fails_without_decision(self):
        result = evaluate(gated_task("timeout", "timeout"), WaitCriteria("approval_decided"))
        assert result is not None
        assert result.status == "failure"
        assert "ended with status 'timeout' without a decision" in result.message

    def test_legacy_stage_approved(self):
        task = legacy_task("running", "running", decision="approve", comment="fine")
        result = evaluate(task, WaitCriteria("approval_decided", approval_name="deploy"))
        assert result is not None
        assert result.status == "success"
        assert "admin commented 'fine'" in result.message

    def test_legacy_stage_rejected(self):
        task = legacy_task("reject", "reject", decision="reject", comment="no")
        result = evaluate(task, WaitCriteria("approval_decided"))
        assert result is not None
        assert result.status == "failure"
        assert "rejected by admin" in result.message

    def test_every_approval_must_be_approved(self):
        approved = approval_job("first", "passed", index="0-0", votes=(("admin", "approve", ""),))
        stages = [
            {"name": "gate-1", "status": "passed", "jobs": [approved]},
            {"name": "gate-2", "status": "", "jobs": [approval_job("second", "", index="1-0")]},
        ]
        criteria = WaitCriteria("approval_decided")
        assert evaluate(make_task("running", stages), criteria) is None
        stages[1]["jobs"] = [approval_job("second", "passed", index="1-0", votes=(("bob", "approve", ""),))]
        result = evaluate(make_task("running", stages), criteria)
        assert result is not None
        assert result.status == "success"
        assert result.approval is not None
        assert result.approval["job_name"] == "second"

    def test_task_ended_without_approval_fails(self):
        result = evaluate(make_task("passed"), WaitCriteria("approval_decided"))
        assert result is not None
        assert result.status == "failure"
        assert "the task has no approval" in result.message

    def test_decision_read_from_task_status_on_older_servers(self):
        watch = TaskWatch(WaitCriteria("approval_decided"), workflow_key="release", task_id=7, log=LOG)
        deploy = [{"name": "deploy", "status": "running", "jobs": []}]
        assert watch.observe(make_task("running", deploy, task_id=7)) is None
        assert watch.observe(make_task("wait_for_approval", deploy, task_id=7)) is None
        result = watch.observe(make_task("running", deploy, task_id=7))
        assert result is not None
        assert result.status == "success"
        assert result.approval is not None
        assert result.approval["decision"] == "approve"

    def test_rejection_read_from_task_status_on_older_servers(self):
        watch = TaskWatch(WaitCriteria("approval_decided"), workflow_key="release", task_id=7, log=LOG)
        deploy = [{"name": "deploy", "status": "running", "jobs": []}]
        assert watch.observe(make_task("wait_for_approval", deploy, task_id=7)) is None
        result = watch.observe(make_task("reject", deploy, task_id=7))
        assert result is not None
        assert result.status == "failure"
        assert "was rejected" in result.message


# --- the status sequence of an approval gate, polled through one watch -------------------------


def test_status_sequence_keeps_waiting_then_succeeds(caplog):
    statuses = [
        "created",
        "running",
        "wait_for_approval",
        "wait_for_approval",
        "waiting_approve",
        "prepare",
        "debug_before",
        "running",
        "passed",
    ]
    completion_watch = TaskWatch(completion(), workflow_key="release", task_id=7, log=LOG)
    pending_watch_results = []
    caplog.set_level(logging.INFO, logger=LOG.name)
    results = []
    for status in statuses:
        task = make_task(status, [{"name": "deploy", "status": "running", "jobs": []}], task_id=7)
        results.append(completion_watch.observe(task))
        pending_watch_results.append(evaluate(task, WaitCriteria("approval_pending")))
    assert results[:-1] == [None] * (len(statuses) - 1)
    final = results[-1]
    assert final is not None
    assert final.status == "success"
    pending = [result.status if result else None for result in pending_watch_results]
    assert pending == [None, None, "success", "success", "success", None, None, None, "failure"]
    messages = [record.getMessage() for record in caplog.records]
    assert len([message for message in messages if "task status" in message]) == 8
    assert len([message for message in messages if "waits for a decision" in message]) == 1


# --- StatusChangeTracker ----------------------------------------------------------------------


class TestStatusChangeTracker:
    def test_one_info_line_per_change(self, caplog):
        caplog.set_level(logging.DEBUG, logger=LOG.name)
        tracker = StatusChangeTracker(LOG, "Zadig workflow 'build-images' task 42")
        tracker.update(gated_task("running", ""))
        first = [r for r in caplog.records if r.levelno == logging.INFO]
        assert [r.getMessage() for r in first] == [
            "Zadig workflow 'build-images' task 42: task status running",
            "Zadig workflow 'build-images' task 42: stage 'build': running",
            "Zadig workflow 'build-images' task 42: job 'build-myapps' in stage 'build': running",
        ]
        caplog.clear()
        assert tracker.update(gated_task("running", "")) == []
        assert [r.levelno for r in caplog.records] == [logging.DEBUG]

    def test_pending_approval_logged_once_with_name(self, caplog):
        caplog.set_level(logging.INFO, logger=LOG.name)
        tracker = StatusChangeTracker(LOG, "task")
        tracker.update(gated_task("running", "wait_for_approval"))
        tracker.update(gated_task("running", "wait_for_approval"))
        lines = [r.getMessage() for r in caplog.records if "waits for a decision" in r.getMessage()]
        assert len(lines) == 1
        assert "approval 'approval' in stage 'deploy'" in lines[0]
        assert "job-1-0-0-approval" in lines[0]

    def test_hint_for_pause(self):
        tracker = StatusChangeTracker(LOG, "task")
        changes = tracker.update(make_task("pause"))
        assert changes == ["task status pause (a stage with manual execution waits to be started in Zadig)"]

    def test_failed_job_error_logged(self):
        tracker = StatusChangeTracker(LOG, "task")
        stages = [{"name": "build", "status": "failed", "jobs": [job("b", "failed", error="boom")]}]
        changes = tracker.update(make_task("failed", stages))
        assert "job 'b' in stage 'build': failed (boom)" in changes


# --- events -----------------------------------------------------------------------------------


def sample_result(status: str = "success", **overrides: Any) -> WaitResult:
    values: dict[str, Any] = {
        "status": status,
        "workflow_key": "build-images",
        "project_key": "simple-service-demo",
        "task_id": 42,
        "task_status": "passed",
        "message": "done",
        "approval": None,
        "failed_job": None,
        "all_jobs_skipped": False,
    }
    values.update(overrides)
    return WaitResult(**values)


class TestEvents:
    def test_event_has_one_shape(self):
        event = build_event(sample_result())
        assert list(event) == EVENT_KEYS

    def test_event_is_plain_json(self):
        result = evaluate(gated_task("running", "wait_for_approval"), WaitCriteria("approval_pending"))
        assert result is not None
        event = build_event(result)
        assert json.loads(json.dumps(event)) == event

    def test_round_trip(self):
        result = evaluate(gated_task("reject", "reject", votes=(("a", "reject", "no"),)), completion())
        assert result is not None
        assert read_event(build_event(result)) == result

    def test_error_exception_not_in_event(self):
        result = sample_result("error", error=RuntimeError("boom"))
        assert "error" not in build_event(result)
        assert read_event(build_event(result)).error is None

    @pytest.mark.parametrize(
        ("event", "problem"),
        [
            (None, "it is a NoneType, not a dict"),
            ("success", "it is a str, not a dict"),
            ({"status": "success"}, "'workflow_key' is missing"),
            ({**build_event(sample_result()), "task_id": "42"}, "'task_id' has the invalid value '42'"),
            ({**build_event(sample_result()), "task_id": True}, "'task_id' has the invalid value True"),
            ({**build_event(sample_result()), "status": "done"}, "'status' has the invalid value 'done'"),
            (
                {**build_event(sample_result()), "all_jobs_skipped": 1},
                "'all_jobs_skipped' has the invalid value 1",
            ),
        ],
    )
    def test_invalid_event_rejected(self, event, problem):
        with pytest.raises(ZadigWorkflowTaskError) as info:
            read_event(event)
        assert f"Invalid event from the Zadig trigger: {problem}." in str(info.value)

    def test_event_for_other_task_rejected(self):
        with pytest.raises(ZadigWorkflowTaskError, match="task 42, but this Airflow task waits on workflow"):
            read_event(build_event(sample_result()), workflow_key="build-images", task_id=43)

    def test_event_for_other_workflow_rejected(self):
        with pytest.raises(ZadigWorkflowTaskError, match="waits on workflow 'other' task 42"):
            parse_event(build_event(sample_result()), workflow_key="other", task_id=42)

    def test_parse_success_returns_result(self):
        result = parse_event(build_event(sample_result()), workflow_key="build-images", task_id=42)
        assert result.succeeded

    def test_parse_failure_raises_task_error(self):
        event = build_event(
            sample_result("failure", task_status="failed", failed_job="build", message="it broke")
        )
        with pytest.raises(ZadigWorkflowTaskError, match="it broke") as info:
            parse_event(event, task_id=42)
        assert type(info.value) is ZadigWorkflowTaskError
        assert info.value.task_id == 42
        assert info.value.workflow_key == "build-images"
        assert info.value.status == "failed"
        assert info.value.failed_job == "build"

    def test_parse_timeout_raises_timeout_error(self):
        with pytest.raises(ZadigWaitTimeoutError, match="too slow") as info:
            parse_event(build_event(sample_result("timeout", task_status="running", message="too slow")))
        assert info.value.task_id == 42

    def test_parse_error_raises_zadig_error(self):
        with pytest.raises(ZadigError, match="cannot read") as info:
            parse_event(build_event(sample_result("error", task_status=None, message="cannot read")))
        assert type(info.value) is ZadigError

    def test_blocking_error_chained_to_cause(self):
        cause = ZadigPermissionError("403", status_code=403)
        with pytest.raises(ZadigError) as info:
            sample_result("error", error=cause).raise_for_status()
        assert info.value.__cause__ is cause


# --- TaskWatch failure handling ---------------------------------------------------------------


def server_error(status: int, retry_after: float | None = None) -> ZadigServerError:
    exc = ZadigServerError(
        f"GET /openapi/workflows/custom/task: HTTP {status} <html>Bad Gateway</html>", status_code=status
    )
    exc.retry_after = retry_after
    return exc


class TestTaskWatchFailures:
    def make_watch(self, **kwargs: Any) -> TaskWatch:
        return TaskWatch(
            completion(), workflow_key="build-images", task_id=42, log=LOG, check_interval=0.5, **kwargs
        )

    def test_transient_errors_tolerated_until_cap(self):
        watch = self.make_watch(max_consecutive_failures=3)
        watch.observe(make_task("running"))
        assert watch.record_failure(server_error(502)) is None
        assert watch.record_failure(ZadigConnectionError("Connection reset by peer")) is None
        result = watch.record_failure(server_error(503))
        assert result is not None
        assert result.status == "error"
        assert "failed 3 times in a row" in result.message
        assert "HTTP 503" in result.message
        assert "The last task status read was 'running'" in result.message
        assert result.task_status == "running"

    def test_success_resets_count(self):
        watch = self.make_watch(max_consecutive_failures=2)
        assert watch.record_failure(server_error(502)) is None
        assert watch.observe(make_task("running")) is None
        assert watch.record_failure(server_error(502)) is None

    @pytest.mark.parametrize(
        "exc",
        [
            ZadigPermissionError("HTTP 403 forbidden", status_code=403),
            ZadigNotFoundError("task not found", status_code=404),
            ZadigServerError("plain 500", status_code=500),
            ValueError("unexpected body"),
        ],
    )
    def test_non_transient_error_stops_at_once(self, exc):
        result = self.make_watch().record_failure(exc)
        assert result is not None
        assert result.status == "error"
        assert type(exc).__name__ in result.message
        assert result.error is exc

    def test_retry_after_is_lower_bound(self):
        watch = self.make_watch()
        watch.record_failure(server_error(503, retry_after=4.0))
        assert watch.next_pause >= 4.0

    def test_retry_after_capped(self):
        watch = self.make_watch()
        watch.record_failure(server_error(429, retry_after=86400.0))
        assert watch.next_pause == 300.0

    def test_retry_after_capped_by_connection(self):
        watch = self.make_watch()
        watch.max_retry_after = 30.0
        watch.record_failure(server_error(429, retry_after=120.0))
        assert watch.next_pause <= 30.0
        assert watch.next_pause >= 0.5

    def test_backoff_grows_and_resets(self):
        watch = self.make_watch(max_consecutive_failures=10)
        pauses = []
        for _ in range(4):
            watch.record_failure(server_error(502))
            pauses.append(watch.next_pause)
        assert pauses[3] > pauses[0]
        watch.observe(make_task("running"))
        assert watch.next_pause == 0.5

    def test_timed_out_message(self):
        watch = self.make_watch()
        watch.observe(make_task("running"))
        result = watch.timed_out(0.0)
        assert result.status == "timeout"
        assert "did not reach a final status (passed for success) before the wait deadline" in result.message
        assert "1970-01-01 00:00:00 UTC" in result.message
        assert result.task_status == "running"


# --- wait_for_task ----------------------------------------------------------------------------


class FakeHook:
    """Returns or raises the given outcomes in order, one per call."""

    def __init__(self, outcomes: list[Any]) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, int]] = []

    def get_workflow_task(self, workflow_key: str, task_id: int) -> WorkflowTask:
        self.calls.append((workflow_key, task_id))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return make_task(outcome)


class TestWaitForTask:
    def run(
        self, hook: FakeHook, deadline: float | None = None, **kwargs: Any
    ) -> tuple[WaitResult, list[float]]:
        pauses: list[float] = []
        result = wait_for_task(
            hook, "build-images", 42, completion(), 0.05, deadline, LOG, sleep=pauses.append, **kwargs
        )
        return result, pauses

    def test_polls_until_success(self):
        hook = FakeHook(["waiting", "running", "passed"])
        result, pauses = self.run(hook)
        assert result.status == "success"
        assert hook.calls == [("build-images", 42)] * 3
        assert pauses == [0.05, 0.05]

    def test_transient_errors_then_success(self):
        outcomes = ["running", server_error(502), ZadigConnectionError("reset"), server_error(503, 0.01)]
        hook = FakeHook([*outcomes, "running", "passed"])
        result, _ = self.run(hook)
        assert result.status == "success"
        assert len(hook.calls) == 6

    def test_cap_gives_error(self):
        hook = FakeHook(["running"] + [server_error(502)] * 5)
        result, _ = self.run(hook)
        assert result.status == "error"
        assert len(hook.calls) == 6
        assert "failed 5 times in a row" in result.message

    def test_forbidden_gives_error_at_once(self):
        hook = FakeHook([ZadigPermissionError("HTTP 403", status_code=403)])
        result, pauses = self.run(hook)
        assert result.status == "error"
        assert pauses == []
        with pytest.raises(ZadigError):
            result.raise_for_status()

    def test_deadline_gives_timeout(self):
        hook = FakeHook(["running"])
        result, pauses = self.run(hook, deadline=time.time() - 1)
        assert result.status == "timeout"
        assert pauses == []
        with pytest.raises(ZadigWaitTimeoutError):
            result.raise_for_status()

    def test_pause_never_passes_deadline(self):
        hook = FakeHook(["running", "running"])
        pauses: list[float] = []

        def sleep(seconds: float) -> None:
            pauses.append(seconds)
            time.sleep(seconds)

        deadline = time.time() + 0.01
        result = wait_for_task(hook, "build-images", 42, completion(), 30.0, deadline, LOG, sleep=sleep)
        assert result.status == "timeout"
        assert all(pause <= 0.01 for pause in pauses)

    def test_failure_result_raises_task_error(self):
        result, _ = self.run(FakeHook(["failed"]))
        with pytest.raises(ZadigWorkflowTaskError, match="status 'failed'"):
            result.raise_for_status()
