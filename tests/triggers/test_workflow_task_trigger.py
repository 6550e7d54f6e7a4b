"""Unit tests of ZadigWorkflowTaskTrigger with an in-memory client: arguments, events, errors, on_kill."""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.serde import deserialize, serialize
from airflow.triggers.base import TriggerEvent
from structlog.testing import capture_logs

from airflow_provider_zadig.exceptions import (
    ZadigBadRequestError,
    ZadigConfigurationError,
    ZadigConnectionError,
    ZadigPermissionError,
    ZadigServerError,
)
from airflow_provider_zadig.models import WorkflowTask
from airflow_provider_zadig.triggers import workflow_task as trigger_module
from airflow_provider_zadig.triggers.workflow_task import ZadigWorkflowTaskTrigger
from airflow_provider_zadig.waiting import read_event

CLASSPATH = "airflow_provider_zadig.triggers.workflow_task.ZadigWorkflowTaskTrigger"
EVENT_KEYS = {
    "status",
    "workflow_key",
    "project_key",
    "task_id",
    "task_status",
    "message",
    "approval",
    "failed_job",
    "all_jobs_skipped",
}


def task_detail(status: str, approval_status: str = "") -> WorkflowTask:
    approval = {
        "name": "job-1-0-0-approval",
        "type": "approval",
        "status": approval_status,
        "spec": {"type": "native", "native_approval": {"approve_users": [], "needed_approvers": 1}},
    }
    stages = [
        {"name": "build", "status": "passed", "jobs": [{"name": "job-0-0-0-build", "type": "zadig-build"}]},
        {"name": "deploy", "status": "running" if approval_status else "", "jobs": [approval]},
    ]
    body = {
        "task_id": 42,
        "workflow_key": "build-images",
        "project_key": "demo",
        "status": status,
        "stages": stages,
    }
    return WorkflowTask.model_validate(body)


class FakeClient:
    """A client that returns the next outcome per read: a status string, a WorkflowTask or an exception."""

    def __init__(self, outcomes: list[Any], cancel_result: Any = True) -> None:
        self.outcomes = list(outcomes)
        self.reads: list[tuple[str, int]] = []
        self.cancels: list[tuple[str, int]] = []
        self.cancel_result = cancel_result
        # The real client's connection settings; the trigger reads retry_max_wait from them.
        self.settings = SimpleNamespace(retry_max_wait=30.0)

    async def get_workflow_task(self, workflow_key: str, task_id: int) -> WorkflowTask:
        self.reads.append((workflow_key, task_id))
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome if isinstance(outcome, WorkflowTask) else task_detail(outcome)

    async def cancel_workflow_task(self, workflow_key: str, task_id: int) -> bool:
        self.cancels.append((workflow_key, task_id))
        if isinstance(self.cancel_result, BaseException):
            raise self.cancel_result
        if self.cancel_result == "hang":
            await asyncio.sleep(3600)
        return bool(self.cancel_result)


@pytest.fixture
def use_client(monkeypatch: pytest.MonkeyPatch):
    """Make every trigger use the given FakeClient instead of loading a connection."""

    def install(client: FakeClient) -> FakeClient:
        async def fake_client(self: ZadigWorkflowTaskTrigger) -> FakeClient:
            return client

        monkeypatch.setattr(ZadigWorkflowTaskTrigger, "_client", fake_client)
        return client

    return install


def make_trigger(**overrides: Any) -> ZadigWorkflowTaskTrigger:
    kwargs: dict[str, Any] = {
        "conn_id": "zadig_default",
        "workflow_key": "build-images",
        "task_id": 42,
        "project_key": "demo",
        "check_interval": 0.01,
    }
    kwargs.update(overrides)
    return ZadigWorkflowTaskTrigger(**kwargs)


async def collect(trigger: ZadigWorkflowTaskTrigger) -> list[dict[str, Any]]:
    """Run the trigger to its end and return every payload, each checked as plain JSON and a valid event."""
    payloads = []
    async for event in trigger.run():
        assert isinstance(event, TriggerEvent)
        assert json.loads(json.dumps(event.payload)) == event.payload
        assert set(event.payload) == EVENT_KEYS
        read_event(event.payload, workflow_key="build-images", task_id=42)
        payloads.append(event.payload)
    return payloads


def messages(logs: list[dict[str, Any]], level: str) -> list[str]:
    """Return the messages of one level that ``structlog.testing.capture_logs`` captured."""
    return [entry["event"] for entry in logs if entry["log_level"] == level]


# --- arguments and serialization --------------------------------------------------------------


class TestSerialize:
    def test_defaults(self):
        trigger = ZadigWorkflowTaskTrigger("zadig_default", "build-images", 42)
        assert trigger.serialize() == (
            CLASSPATH,
            {
                "conn_id": "zadig_default",
                "workflow_key": "build-images",
                "task_id": 42,
                "project_key": None,
                "wait_for": "completion",
                "approval_name": None,
                "success_statuses": ["passed"],
                "failure_statuses": ["failed", "timeout", "cancelled", "reject"],
                "check_interval": 30.0,
                "deadline": None,
                "cancel_on_kill": False,
                "max_consecutive_failures": 5,
            },
        )

    def test_every_argument(self):
        trigger = ZadigWorkflowTaskTrigger(
            conn_id="zadig_prod",
            workflow_key="build-images",
            task_id="42",
            project_key="demo",
            wait_for="approval_decided",
            approval_name="approval",
            success_statuses=("passed",),
            failure_statuses=("failed", "reject"),
            check_interval=5,
            deadline=1_900_000_000,
            cancel_on_kill=True,
            max_consecutive_failures=8,
        )
        assert trigger.serialize() == (
            CLASSPATH,
            {
                "conn_id": "zadig_prod",
                "workflow_key": "build-images",
                "task_id": 42,
                "project_key": "demo",
                "wait_for": "approval_decided",
                "approval_name": "approval",
                "success_statuses": ["passed"],
                "failure_statuses": ["failed", "reject"],
                "check_interval": 5.0,
                "deadline": 1_900_000_000.0,
                "cancel_on_kill": True,
                "max_consecutive_failures": 8,
            },
        )

    def test_rebuild_gives_same_arguments(self):
        original = make_trigger(
            wait_for="approval_pending", approval_name="deploy", deadline=time.time() + 60
        )
        classpath, kwargs = original.serialize()
        rebuilt = ZadigWorkflowTaskTrigger(**kwargs)
        assert rebuilt.serialize() == (classpath, kwargs)

    def test_arguments_survive_airflow_serde_and_json(self):
        _, kwargs = make_trigger(deadline=1_900_000_000.5, cancel_on_kill=True).serialize()
        assert deserialize(serialize(kwargs)) == kwargs
        assert json.loads(json.dumps(kwargs)) == kwargs

    def test_repr_holds_no_token(self, monkeypatch: pytest.MonkeyPatch):
        conn = {"conn_type": "zadig", "host": "http://127.0.0.1:1", "password": "canary-7f3e9"}
        monkeypatch.setenv("AIRFLOW_CONN_ZADIG_DEFAULT", json.dumps(conn))
        trigger = make_trigger()
        assert "canary-7f3e9" not in repr(trigger)
        assert "canary-7f3e9" not in json.dumps(trigger.serialize())

    def test_airflow_task_id_kept_apart(self):
        trigger = make_trigger()
        # The triggerer sets ``task_id`` to the Airflow task id when it attaches the task instance.
        trigger.task_id = "wait_for_release"
        assert trigger.serialize()[1]["task_id"] == 42
        assert trigger.workflow_task_id == 42


class TestValidation:
    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"conn_id": ""}, "Invalid conn_id ''"),
            ({"workflow_key": None}, "Invalid workflow_key None"),
            ({"task_id": "abc"}, "Invalid task_id 'abc'"),
            ({"task_id": 0}, "Invalid task_id 0"),
            ({"project_key": 3}, "Invalid project_key 3"),
            ({"wait_for": "done"}, "Invalid wait_for 'done'"),
            ({"success_statuses": ["succeeded"]}, "Invalid success_statuses value 'succeeded'"),
            ({"approval_name": "deploy"}, "wait_for is 'completion'"),
            (
                {"check_interval": 0},
                "Invalid check_interval 0: expected a finite number of seconds greater than 0",
            ),
            ({"check_interval": "30"}, "Invalid check_interval '30'"),
            ({"check_interval": float("inf")}, "Invalid check_interval inf"),
            ({"deadline": "tomorrow"}, "Invalid deadline 'tomorrow'"),
            ({"deadline": float("nan")}, "Invalid deadline nan"),
            ({"cancel_on_kill": "yes"}, "Invalid cancel_on_kill 'yes': expected True or False"),
            ({"max_consecutive_failures": 0}, "Invalid max_consecutive_failures 0"),
            ({"max_consecutive_failures": True}, "Invalid max_consecutive_failures True"),
        ],
    )
    def test_invalid_argument_rejected(self, overrides, message):
        with pytest.raises(ZadigConfigurationError) as info:
            make_trigger(**overrides)
        assert message in str(info.value)


# --- run --------------------------------------------------------------------------------------


class TestRun:
    async def test_waits_through_statuses_then_succeeds(self, use_client):
        client = use_client(FakeClient(["waiting", "running", "running", "passed"]))
        payloads = await collect(make_trigger())
        assert len(payloads) == 1
        assert payloads[0]["status"] == "success"
        assert payloads[0]["task_status"] == "passed"
        assert payloads[0]["project_key"] == "demo"
        assert client.reads == [("build-images", 42)] * 4

    async def test_failure_event(self, use_client):
        use_client(FakeClient(["running", "failed"]))
        payloads = await collect(make_trigger())
        assert [payload["status"] for payload in payloads] == ["failure"]
        assert "status 'failed'" in payloads[0]["message"]

    async def test_approval_pending_event_carries_gate(self, use_client):
        use_client(FakeClient([task_detail("running"), task_detail("running", "wait_for_approval")]))
        payloads = await collect(make_trigger(wait_for="approval_pending"))
        assert payloads[0]["status"] == "success"
        assert payloads[0]["approval"]["job_task_name"] == "job-1-0-0-approval"

    async def test_legacy_stage_approval_decided(self, use_client):
        def legacy(task_status: str, decision: str) -> WorkflowTask:
            users = (
                [{"user_name": "admin", "reject_or_approve": decision, "comment": "late"}] if decision else []
            )
            approval = {"enabled": True, "reject_or_approve": decision, "approve_users": users}
            stages = [{"name": "deploy", "status": "running", "approval": approval, "jobs": []}]
            body = {"task_id": 42, "workflow_key": "build-images", "status": task_status, "stages": stages}
            return WorkflowTask.model_validate(body)

        use_client(FakeClient([legacy("wait_for_approval", ""), legacy("reject", "reject")]))
        payloads = await collect(make_trigger(wait_for="approval_decided", approval_name="deploy"))
        assert payloads[0]["status"] == "failure"
        assert payloads[0]["approval"]["decision"] == "reject"
        assert payloads[0]["approval"]["comments"] == ["admin: late"]
        assert "rejected by admin" in payloads[0]["message"]

    async def test_transient_errors_then_success(self, use_client):
        errors = [
            ZadigServerError("HTTP 502: <html><body>Bad Gateway</body></html>", status_code=502),
            ZadigConnectionError("Connection reset by peer"),
            ZadigServerError("HTTP 503", status_code=503),
        ]
        client = use_client(FakeClient(["running", *errors, *errors, "running", "passed"]))
        payloads = await collect(make_trigger(max_consecutive_failures=7))
        assert payloads[0]["status"] == "success"
        assert len(client.reads) == 9

    async def test_cap_gives_error_event(self, use_client):
        bad_gateway = ZadigServerError("HTTP 502: <html><body>Bad Gateway</body></html>", status_code=502)
        client = use_client(FakeClient(["running", bad_gateway]))
        payloads = await collect(make_trigger())
        assert payloads[0]["status"] == "error"
        assert payloads[0]["task_status"] == "running"
        assert "failed 5 times in a row" in payloads[0]["message"]
        assert "Bad Gateway" in payloads[0]["message"]
        assert len(client.reads) == 6

    @pytest.mark.parametrize(
        "exc",
        [
            ZadigBadRequestError("HTTP 400 code 6161", status_code=400, code=6161),
            ZadigPermissionError("HTTP 403 forbidden", status_code=403),
        ],
    )
    async def test_client_error_gives_error_event_at_once(self, use_client, exc):
        client = use_client(FakeClient(["running", exc]))
        payloads = await collect(make_trigger())
        assert payloads[0]["status"] == "error"
        assert type(exc).__name__ in payloads[0]["message"]
        assert len(client.reads) == 2

    async def test_unexpected_exception_gives_error_event(self, use_client):
        use_client(FakeClient([ValueError("unexpected body")]))
        payloads = await collect(make_trigger())
        assert payloads[0]["status"] == "error"
        assert "ValueError: unexpected body" in payloads[0]["message"]

    async def test_connection_failure_gives_error_event(self, monkeypatch: pytest.MonkeyPatch):
        async def broken_client(self: ZadigWorkflowTaskTrigger) -> None:
            raise ZadigConfigurationError("Connection 'zadig_default': invalid extra 'verify'")

        monkeypatch.setattr(ZadigWorkflowTaskTrigger, "_client", broken_client)
        payloads = await collect(make_trigger())
        assert payloads[0]["status"] == "error"
        assert "Loading the Zadig connection 'zadig_default' failed" in payloads[0]["message"]
        assert payloads[0]["task_status"] is None

    async def test_past_deadline_gives_timeout_event(self, use_client):
        client = use_client(FakeClient(["running"]))
        payloads = await collect(make_trigger(deadline=time.time() - 1))
        assert payloads[0]["status"] == "timeout"
        assert payloads[0]["task_status"] == "running"
        assert client.cancels == []
        assert len(client.reads) == 1

    async def test_deadline_cuts_long_interval(self, use_client):
        client = use_client(FakeClient(["running"]))
        trigger = make_trigger(check_interval=3600, deadline=time.time() + 0.05)
        payloads = await asyncio.wait_for(collect(trigger), timeout=30)
        assert payloads[0]["status"] == "timeout"
        assert client.cancels == []

    async def test_finished_task_reported_even_after_deadline(self, use_client):
        use_client(FakeClient(["passed"]))
        payloads = await collect(make_trigger(deadline=time.time() - 1))
        assert payloads[0]["status"] == "success"

    async def test_retry_after_sets_pause(self, use_client, monkeypatch: pytest.MonkeyPatch):
        pauses: list[float] = []
        real_sleep = asyncio.sleep

        async def recording_sleep(seconds: float) -> None:
            pauses.append(seconds)
            await real_sleep(0)

        monkeypatch.setattr(trigger_module.asyncio, "sleep", recording_sleep)
        busy = ZadigServerError("HTTP 503", status_code=503)
        busy.retry_after = 5.0
        use_client(FakeClient(["running", busy, "passed"]))
        payloads = await collect(make_trigger())
        assert payloads[0]["status"] == "success"
        assert pauses[0] == 0.01
        assert pauses[1] >= 5.0

    async def test_logs_one_line_per_status_change(self, use_client):
        use_client(FakeClient(["running", "running", "running", "passed"]))
        with capture_logs() as logs:
            await collect(make_trigger())
        status_lines = [message for message in messages(logs, "info") if "task status" in message]
        assert status_lines == [
            "Zadig workflow 'build-images' task 42: task status running",
            "Zadig workflow 'build-images' task 42: task status passed",
        ]


# --- on_kill ----------------------------------------------------------------------------------


class TestOnKill:
    async def test_cancels_once_when_asked(self, use_client):
        client = use_client(FakeClient(["running"]))
        await make_trigger(cancel_on_kill=True).on_kill()
        assert client.cancels == [("build-images", 42)]

    async def test_leaves_task_running_by_default(self, use_client):
        client = use_client(FakeClient(["running"]))
        await make_trigger().on_kill()
        assert client.cancels == []

    async def test_cancel_error_is_logged_not_raised(self, use_client):
        use_client(FakeClient(["running"], cancel_result=ZadigPermissionError("HTTP 403", status_code=403)))
        with capture_logs() as logs:
            await make_trigger(cancel_on_kill=True).on_kill()
        warnings = messages(logs, "warning")
        assert len(warnings) == 1
        assert warnings[0].startswith("Cancelling Zadig workflow 'build-images' task 42 failed")

    async def test_cancel_has_own_timeout(self, use_client, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.setattr(trigger_module, "CANCEL_TIMEOUT", 0.05)
        use_client(FakeClient(["running"], cancel_result="hang"))
        with capture_logs() as logs:
            await asyncio.wait_for(make_trigger(cancel_on_kill=True).on_kill(), timeout=30)
        assert messages(logs, "warning") == [
            "Cancelling Zadig workflow 'build-images' task 42 took over 0.05 s; cancel it in Zadig"
        ]

    async def test_finished_task_logged(self, use_client):
        use_client(FakeClient(["passed"], cancel_result=False))
        with capture_logs() as logs:
            await make_trigger(cancel_on_kill=True).on_kill()
        assert messages(logs, "info") == [
            "Zadig workflow 'build-images' task 42 had already finished, nothing to cancel"
        ]

    async def test_cleanup_never_cancels(self, use_client):
        client = use_client(FakeClient(["running"]))
        await make_trigger(cancel_on_kill=True).cleanup()
        assert client.cancels == []
