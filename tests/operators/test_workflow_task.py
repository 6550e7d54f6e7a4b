"""The approve, cancel and retry operators against the Zadig simulator over HTTP."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred
from workflow_runtime import (
    FakeSupervisor,
    install_supervisor,
    make_context,
    make_dag,
    run_deferred,
    run_task,
)

from airflow_provider_zadig.exceptions import ZadigNotFoundError, ZadigWaitTimeoutError
from airflow_provider_zadig.hooks.zadig import ZadigHook
from airflow_provider_zadig.operators.workflow_task import (
    ZadigApproveWorkflowTaskOperator,
    ZadigCancelWorkflowTaskOperator,
    ZadigRetryWorkflowTaskOperator,
)
from airflow_provider_zadig.simulator import ZadigSimulator
from airflow_provider_zadig.simulator.seed import approval_spec

TASK_PATH = "/openapi/workflows/custom/task"
APPROVE_PATH = "/openapi/workflows/custom/task/approve"
GATED_PROJECT = "simple-service-demo"


@pytest.fixture
def supervisor(monkeypatch: pytest.MonkeyPatch) -> FakeSupervisor:
    return install_supervisor(monkeypatch)


@pytest.fixture
def hook(zadig_connection: str) -> ZadigHook:
    return ZadigHook(zadig_conn_id=zadig_connection)


def start_gated_task(
    simulator: ZadigSimulator, hook: ZadigHook, workflow_key: str = "build-images", **definition: Any
) -> int:
    """Start a task of a workflow with an approval, wait until the approval is pending, return its id."""
    if workflow_key != "build-images":
        hook.create_workflow(gated_workflow(workflow_key, **definition))
    task_id = hook.execute_workflow(GATED_PROJECT, workflow_key).task_id
    deadline = time.monotonic() + 10
    while not any(gate.is_pending for gate in hook.get_workflow_task(workflow_key, task_id).approval_gates()):
        assert time.monotonic() < deadline, "the approval never became pending"
        time.sleep(0.01)
    simulator.clear_requests()
    return task_id


def gated_workflow(key: str, approval: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": key,
        "project": GATED_PROJECT,
        "concurrency_limit": -1,
        "stages": [
            {"name": "gate", "jobs": [{"name": "approval-prod", "type": "approval", "spec": approval}]},
            {
                "name": "deploy",
                "jobs": [{"name": "deploy-svc", "type": "zadig-deploy", "spec": {"env": "prod"}}],
            },
        ],
    }


def add_connection(simulator: ZadigSimulator, monkeypatch: pytest.MonkeyPatch, user: str) -> str:
    """Define a connection whose token belongs to ``user``; return its id."""
    token = f"token-of-{user}"
    simulator.add_user(token, user)
    conn_id = f"zadig_{user}"
    conn = {"conn_type": "zadig", "host": simulator.url, "password": token}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return conn_id


def approve_operator(**overrides: Any) -> ZadigApproveWorkflowTaskOperator:
    kwargs: dict[str, Any] = {"task_id": "approve", "workflow_key": "build-images", "workflow_task_id": 1}
    kwargs.update(overrides)
    with make_dag():
        return ZadigApproveWorkflowTaskOperator(**kwargs)


def cancel_operator(**overrides: Any) -> ZadigCancelWorkflowTaskOperator:
    kwargs: dict[str, Any] = {"task_id": "cancel", "workflow_key": "build-deploy", "workflow_task_id": 1}
    kwargs.update(overrides)
    with make_dag():
        return ZadigCancelWorkflowTaskOperator(**kwargs)


def retry_operator(**overrides: Any) -> ZadigRetryWorkflowTaskOperator:
    kwargs: dict[str, Any] = {
        "task_id": "retry",
        "workflow_key": "build-deploy",
        "workflow_task_id": 1,
        "project_key": "lilian-test",
        "check_interval": 0.02,
    }
    kwargs.update(overrides)
    with make_dag():
        return ZadigRetryWorkflowTaskOperator(**kwargs)


class TestApprove:
    @pytest.mark.parametrize("approval_name", [None, "deploy", "approval", "job-1-0-0-approval"])
    def test_approves_pending_gate(
        self,
        simulator: ZadigSimulator,
        hook: ZadigHook,
        supervisor: FakeSupervisor,
        approval_name: str | None,
    ) -> None:
        task_id = start_gated_task(simulator, hook)
        operator = approve_operator(
            workflow_task_id=str(task_id), approval_name=approval_name, comment="ship it"
        )

        result = run_task(operator, make_context(supervisor, operator))

        assert result == "job-1-0-0-approval"
        assert simulator.count_requests("POST", APPROVE_PATH) == 1
        detail = simulator.wait_for_task_status("build-images", task_id, "passed")
        approval = detail["stages"][1]["jobs"][0]["spec"]["native_approval"]["approve_users"][0]
        assert approval["comment"] == "ship it"

    def test_rejects(self, simulator: ZadigSimulator, hook: ZadigHook, supervisor: FakeSupervisor) -> None:
        task_id = start_gated_task(simulator, hook)
        operator = approve_operator(workflow_task_id=task_id, approve=False)

        run_task(operator, make_context(supervisor, operator))

        simulator.wait_for_task_status("build-images", task_id, "reject")

    def test_pushes_task_link(
        self, simulator: ZadigSimulator, hook: ZadigHook, supervisor: FakeSupervisor
    ) -> None:
        task_id = start_gated_task(simulator, hook)
        operator = approve_operator(workflow_task_id=task_id, project_key=GATED_PROJECT)

        run_task(operator, make_context(supervisor, operator))

        url = supervisor.xcom("approve", "zadig_task_url")
        assert url.endswith(f"/pipelines/custom/build-images/{task_id}?display_name=build-images")

    def test_second_vote_of_same_user_succeeds(
        self, simulator: ZadigSimulator, hook: ZadigHook, supervisor: FakeSupervisor
    ) -> None:
        approval = approval_spec(["admin", "alice"], needed=2)
        task_id = start_gated_task(simulator, hook, "two-approvers", approval=approval)
        first = approve_operator(workflow_key="two-approvers", workflow_task_id=task_id)
        run_task(first, make_context(supervisor, first))
        second = approve_operator(workflow_key="two-approvers", workflow_task_id=task_id)

        assert run_task(second, make_context(supervisor, second)) == "job-0-0-0-approval-prod"
        assert simulator.count_requests("POST", APPROVE_PATH) == 2
        assert simulator.get_task("two-approvers", task_id)["status"] == "running"

    def test_not_an_approver_fails_without_retry(
        self,
        simulator: ZadigSimulator,
        hook: ZadigHook,
        supervisor: FakeSupervisor,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        task_id = start_gated_task(simulator, hook)
        conn_id = add_connection(simulator, monkeypatch, "bob")
        operator = approve_operator(workflow_task_id=task_id, zadig_conn_id=conn_id)

        with pytest.raises(AirflowFailException, match="'bob'") as failure:
            run_task(operator, make_context(supervisor, operator))

        assert "not an approver" in str(failure.value)
        assert simulator.count_requests("POST", APPROVE_PATH) == 1

    def test_in_app_approval_fails_without_retry(
        self, simulator: ZadigSimulator, hook: ZadigHook, supervisor: FakeSupervisor
    ) -> None:
        lark = {
            "timeout": 60,
            "type": "lark",
            "lark_approval": {"approval_id": "lark-1", "approval_nodes": []},
        }
        task_id = start_gated_task(simulator, hook, "lark-gate", approval=lark)
        operator = approve_operator(workflow_key="lark-gate", workflow_task_id=task_id)

        with pytest.raises(AirflowFailException, match="Lark"):
            run_task(operator, make_context(supervisor, operator))

        assert simulator.count_requests("POST", APPROVE_PATH) == 0

    def test_gate_rejected_before_vote_fails(
        self, simulator: ZadigSimulator, hook: ZadigHook, supervisor: FakeSupervisor
    ) -> None:
        task_id = start_gated_task(simulator, hook)
        hook.approve_workflow_task("build-images", task_id, approve=False)
        simulator.wait_for_task_status("build-images", task_id, "reject")
        operator = approve_operator(workflow_task_id=task_id)

        with pytest.raises(AirflowFailException, match=r"requested approve, but .* was rejected"):
            run_task(operator, make_context(supervisor, operator))

    @pytest.mark.parametrize("task_id", ["abc", "", "1.5", 0, -3, True, None])
    def test_invalid_task_id_fails_before_request(
        self, simulator: ZadigSimulator, zadig_connection: str, supervisor: FakeSupervisor, task_id: Any
    ) -> None:
        operator = approve_operator(workflow_task_id=task_id)

        with pytest.raises(AirflowFailException, match="workflow_task_id"):
            run_task(operator, make_context(supervisor, operator))

        assert simulator.requests == []

    def test_unrendered_approval_name_fails_before_request(
        self, simulator: ZadigSimulator, zadig_connection: str, supervisor: FakeSupervisor
    ) -> None:
        operator = approve_operator(approval_name="{{ params.gate }}")

        with pytest.raises(AirflowFailException, match="approval_name"):
            run_task(operator, make_context(supervisor, operator))

        assert simulator.requests == []


class TestCancel:
    def test_cancels_running_task(
        self, simulator: ZadigSimulator, hook: ZadigHook, supervisor: FakeSupervisor
    ) -> None:
        simulator.settings.step_seconds = 3600
        task_id = hook.execute_workflow("lilian-test", "build-deploy").task_id
        operator = cancel_operator(workflow_task_id=f" {task_id} ")

        assert run_task(operator, make_context(supervisor, operator)) is True

        assert simulator.count_requests("DELETE", TASK_PATH) == 1
        assert simulator.get_task("build-deploy", task_id)["status"] == "cancelled"
        assert supervisor.xcom("cancel", "zadig_task_url").endswith(
            f"/build-deploy/{task_id}?display_name=build-deploy"
        )

    @pytest.mark.parametrize("status", ["passed", "failed", "reject"])
    def test_finished_task_left_alone(
        self, simulator: ZadigSimulator, hook: ZadigHook, supervisor: FakeSupervisor, status: str
    ) -> None:
        task_id = hook.execute_workflow("lilian-test", "build-deploy").task_id
        simulator.set_task_status("build-deploy", task_id, status)
        operator = cancel_operator(workflow_task_id=task_id)

        assert run_task(operator, make_context(supervisor, operator)) is False

        assert simulator.count_requests("DELETE", TASK_PATH) == 0
        assert simulator.get_task("build-deploy", task_id)["status"] == status

    def test_unknown_task_fails_without_retry(
        self, simulator: ZadigSimulator, zadig_connection: str, supervisor: FakeSupervisor
    ) -> None:
        operator = cancel_operator(workflow_task_id=404)

        with pytest.raises(AirflowFailException) as failure:
            run_task(operator, make_context(supervisor, operator))

        assert isinstance(failure.value.__cause__, ZadigNotFoundError)
        assert simulator.count_requests("DELETE", TASK_PATH) == 0


class TestRetry:
    @pytest.fixture
    def failed_task(self, simulator: ZadigSimulator, hook: ZadigHook) -> int:
        simulator.set_job_outcome("build-deploy", "deploy", "failed", "rollout stuck")
        task_id = hook.execute_workflow("lilian-test", "build-deploy").task_id
        simulator.wait_for_task_status("build-deploy", task_id, "failed")
        simulator.set_job_outcome("build-deploy", "deploy", "passed")
        simulator.clear_requests()
        return task_id

    def test_retries_without_waiting(
        self, simulator: ZadigSimulator, supervisor: FakeSupervisor, failed_task: int
    ) -> None:
        operator = retry_operator(workflow_task_id=str(failed_task))

        assert run_task(operator, make_context(supervisor, operator)) == failed_task

        assert (
            simulator.count_requests("POST", f"/openapi/workflows/custom/build-deploy/task/{failed_task}")
            == 1
        )
        assert supervisor.xcom("retry", "zadig_task_id") == failed_task
        assert supervisor.xcom("retry", "zadig_project_key") == "lilian-test"

    def test_retries_and_waits(
        self, simulator: ZadigSimulator, supervisor: FakeSupervisor, failed_task: int
    ) -> None:
        operator = retry_operator(workflow_task_id=failed_task, wait_for_completion=True)

        assert run_task(operator, make_context(supervisor, operator)) == failed_task

        assert simulator.get_task("build-deploy", failed_task)["status"] == "passed"

    def test_retries_and_waits_deferred(
        self, simulator: ZadigSimulator, supervisor: FakeSupervisor, failed_task: int
    ) -> None:
        operator = retry_operator(workflow_task_id=failed_task, wait_for_completion=True, deferrable=True)
        with pytest.raises(TaskDeferred) as deferred:
            run_task(operator, make_context(supervisor, operator))

        result = run_deferred(lambda: retry_operator(deferrable=True), supervisor, deferred.value)

        assert result == failed_task
        assert simulator.get_task("build-deploy", failed_task)["status"] == "passed"

    def test_wait_timeout_cancels_once(
        self, simulator: ZadigSimulator, supervisor: FakeSupervisor, failed_task: int
    ) -> None:
        simulator.settings.step_seconds = 3600
        operator = retry_operator(workflow_task_id=failed_task, wait_for_completion=True, timeout=0.3)

        with pytest.raises(ZadigWaitTimeoutError):
            run_task(operator, make_context(supervisor, operator))

        assert simulator.count_requests("DELETE", TASK_PATH) == 1

    def test_airflow_retry_follows_retried_task(
        self, simulator: ZadigSimulator, supervisor: FakeSupervisor, failed_task: int
    ) -> None:
        simulator.settings.step_seconds = 3600
        first = retry_operator(
            workflow_task_id=failed_task,
            wait_for_completion=True,
            timeout=0.2,
            cancel_on_timeout=False,
            retries=1,
        )
        with pytest.raises(ZadigWaitTimeoutError):
            run_task(first, make_context(supervisor, first))
        simulator.set_task_status("build-deploy", failed_task, "running", freeze=False)
        simulator.settings.step_seconds = 0.02
        second = retry_operator(workflow_task_id=failed_task, wait_for_completion=True, retries=1)

        assert run_task(second, make_context(supervisor, second, try_number=2)) == failed_task

        assert (
            simulator.count_requests("POST", f"/openapi/workflows/custom/build-deploy/task/{failed_task}")
            == 1
        )
        assert simulator.get_task("build-deploy", failed_task)["status"] == "passed"

    @pytest.mark.parametrize("status", ["running", "passed", "waiting"])
    def test_non_retryable_status_fails_without_retry(
        self, simulator: ZadigSimulator, hook: ZadigHook, supervisor: FakeSupervisor, status: str
    ) -> None:
        task_id = hook.execute_workflow("lilian-test", "build-deploy").task_id
        simulator.set_task_status("build-deploy", task_id, status)
        simulator.clear_requests()
        operator = retry_operator(workflow_task_id=task_id)

        with pytest.raises(AirflowFailException, match=f"its status is {status!r}"):
            run_task(operator, make_context(supervisor, operator))

        assert [r.method for r in simulator.requests] == ["GET"]
