"""
Airflow retries of ZadigExecuteWorkflowOperator: follow the earlier try's Zadig task, never start a second.

Each try gets a new context from ``workflow_runtime``, with Airflow's own ``TaskStateStoreAccessor``.
The in-memory supervisor keeps the task state per task instance across tries, as Airflow's
``task_state_store`` table does. Airflow before 3.3 is played by a context without the store.
"""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred
from structlog.testing import capture_logs
from workflow_runtime import (
    RELEASE_WORKFLOW,
    FakeSupervisor,
    create_release_workflow,
    install_supervisor,
    make_context,
    make_dag,
    run_deferred,
    run_task,
)

from airflow_provider_zadig.exceptions import ZadigAmbiguousRequestError, ZadigError, ZadigWorkflowTaskError
from airflow_provider_zadig.operators import _durable
from airflow_provider_zadig.operators.workflow import ZadigExecuteWorkflowOperator
from airflow_provider_zadig.simulator import ZadigSimulator

TASK_PATH = "/openapi/workflows/custom/task"
PROJECT = RELEASE_WORKFLOW["project"]
WORKFLOW = RELEASE_WORKFLOW["name"]
RETRY_PATH = f"/openapi/workflows/custom/{WORKFLOW}/task/1"


@pytest.fixture
def supervisor(monkeypatch: pytest.MonkeyPatch) -> FakeSupervisor:
    return install_supervisor(monkeypatch)


@pytest.fixture
def release(zadig_connection: str, simulator: ZadigSimulator) -> str:
    create_release_workflow(zadig_connection)
    simulator.clear_requests()
    return zadig_connection


def make_operator(**overrides: Any) -> ZadigExecuteWorkflowOperator:
    kwargs: dict[str, Any] = {
        "task_id": "run_release",
        "project_key": PROJECT,
        "workflow_key": WORKFLOW,
        "check_interval": 0.02,
        "retries": 2,
    }
    kwargs.update(overrides)
    with make_dag():
        return ZadigExecuteWorkflowOperator(**kwargs)


def fail_first_try_while_waiting(
    simulator: ZadigSimulator, supervisor: FakeSupervisor, **overrides: Any
) -> None:
    """Run try 1: the execute request succeeds, then reading the task fails with HTTP 403."""
    simulator.settings.step_seconds = 3600
    simulator.add_fault("GET", TASK_PATH, status=403, times=1)
    operator = make_operator(**overrides)
    context = make_context(supervisor, operator, try_number=1)
    if overrides.get("deferrable"):
        with pytest.raises(TaskDeferred) as deferred:
            run_task(operator, context)
        # The trigger's read fails, so execute_complete fails the try.
        with pytest.raises(ZadigError, match="403"):
            run_deferred(lambda: make_operator(**overrides), supervisor, deferred.value)
    else:
        with pytest.raises(ZadigError, match="403"):
            run_task(operator, context)
    assert simulator.count_requests("POST", TASK_PATH) == 1


def run_try(
    supervisor: FakeSupervisor,
    try_number: int,
    context_kwargs: dict[str, Any] | None = None,
    **overrides: Any,
) -> Any:
    """Run one try of a new operator instance, as Airflow does for each try."""
    operator = make_operator(**overrides)
    context_kwargs = context_kwargs or {}
    return run_task(operator, make_context(supervisor, operator, try_number=try_number, **context_kwargs))


class TestReattach:
    def test_running_task_followed(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        fail_first_try_while_waiting(simulator, supervisor)
        simulator.set_task_status(WORKFLOW, 1, "running", freeze=False)
        simulator.settings.step_seconds = 0.02

        assert run_try(supervisor, 2) == 1

        assert simulator.count_requests("POST", TASK_PATH) == 1
        assert simulator.get_task(WORKFLOW, 1)["status"] == "passed"
        assert supervisor.xcom("run_release", "zadig_task_id") == 1

    @pytest.mark.parametrize("deferrable", [False, True], ids=["blocking", "deferred"])
    def test_passed_task_succeeds_at_once(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor, deferrable: bool
    ) -> None:
        fail_first_try_while_waiting(simulator, supervisor, deferrable=deferrable)
        simulator.set_task_status(WORKFLOW, 1, "passed")
        simulator.clear_requests()

        assert run_try(supervisor, 2, deferrable=deferrable) == 1

        assert simulator.count_requests("POST", TASK_PATH) == 0
        assert simulator.count_requests("GET", TASK_PATH) == 1

    def test_running_task_followed_when_deferred(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        first = make_operator(deferrable=True)
        with pytest.raises(TaskDeferred):
            run_task(first, make_context(supervisor, first, try_number=1))
        # Try 1 ends while deferred, for example because its worker was lost.
        second = make_operator(deferrable=True)

        with pytest.raises(TaskDeferred) as deferred:
            run_task(second, make_context(supervisor, second, try_number=2))
        result = run_deferred(
            lambda: make_operator(deferrable=True), supervisor, deferred.value, try_number=2
        )

        assert result == 1
        assert deferred.value.trigger.serialize()[1]["task_id"] == 1
        assert simulator.count_requests("POST", TASK_PATH) == 1

    def test_cleared_task_executes_again(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        assert run_try(supervisor, 1) == 1
        # Clearing sets max_tries to try_number + retries, so try 2 starts a new series of tries.
        assert run_try(supervisor, 2, context_kwargs={"max_tries": 1 + 2}) == 2

        assert simulator.count_requests("POST", TASK_PATH) == 2
        assert supervisor.stored_state("run_release")["zadig_workflow_task"]["task_id"] == 2

    def test_not_durable_executes_again(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        fail_first_try_while_waiting(simulator, supervisor, durable=False)
        simulator.settings.step_seconds = 0.02

        assert run_try(supervisor, 2, durable=False) == 2
        assert simulator.count_requests("POST", TASK_PATH) == 2

    def test_vanished_task_executes_again(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        fail_first_try_while_waiting(simulator, supervisor)
        supervisor.stored_state("run_release")["zadig_workflow_task"]["task_id"] = 7
        simulator.settings.step_seconds = 0.02

        assert run_try(supervisor, 2) == 2


class TestFailedTaskPolicy:
    @pytest.fixture
    def failed_first_try(self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor) -> None:
        simulator.set_job_outcome(WORKFLOW, "deploy-svc", "failed", "rollout stuck")
        operator = make_operator()
        with pytest.raises(ZadigWorkflowTaskError):
            run_task(operator, make_context(supervisor, operator, try_number=1))
        simulator.set_job_outcome(WORKFLOW, "deploy-svc", "passed")
        simulator.clear_requests()

    @pytest.mark.usefixtures("failed_first_try")
    def test_new_executes_new_task(self, simulator: ZadigSimulator, supervisor: FakeSupervisor) -> None:
        assert run_try(supervisor, 2) == 2

        assert simulator.count_requests("POST", TASK_PATH) == 1
        assert simulator.get_task(WORKFLOW, 1)["status"] == "failed"

    @pytest.mark.usefixtures("failed_first_try")
    def test_retry_reruns_same_task(self, simulator: ZadigSimulator, supervisor: FakeSupervisor) -> None:
        assert run_try(supervisor, 2, failed_task_policy="retry") == 1

        assert simulator.count_requests("POST", TASK_PATH) == 0
        assert simulator.count_requests("POST", RETRY_PATH) == 1
        assert simulator.get_task(WORKFLOW, 1)["status"] == "passed"

    @pytest.mark.usefixtures("failed_first_try")
    def test_retry_reruns_same_task_when_deferred(
        self, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        operator = make_operator(failed_task_policy="retry", deferrable=True)
        with pytest.raises(TaskDeferred) as deferred:
            run_task(operator, make_context(supervisor, operator, try_number=2))

        assert run_deferred(lambda: make_operator(deferrable=True), supervisor, deferred.value) == 1
        assert simulator.count_requests("POST", TASK_PATH) == 0
        assert simulator.count_requests("POST", RETRY_PATH) == 1

    @pytest.mark.usefixtures("failed_first_try")
    def test_fail_stops_without_request(self, simulator: ZadigSimulator, supervisor: FakeSupervisor) -> None:
        with pytest.raises(AirflowFailException, match="failed_task_policy='fail'"):
            run_try(supervisor, 2, failed_task_policy="fail")

        assert [r.method for r in simulator.requests] == ["GET"]


class TestWithoutTaskStateStore:
    """Airflow before 3.3 has no ``task_state_store``: the context simply lacks the key."""

    def test_each_try_executes_with_warning(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        simulator.settings.step_seconds = 3600
        simulator.add_fault("GET", TASK_PATH, status=403, times=1)
        first = make_operator()
        with pytest.raises(ZadigError):
            run_task(first, make_context(supervisor, first, with_task_state_store=False))
        simulator.settings.step_seconds = 0.02
        second = make_operator()

        with capture_logs() as logs:
            result = run_task(
                second, make_context(supervisor, second, try_number=2, with_task_state_store=False)
            )

        assert result == 2
        assert simulator.count_requests("POST", TASK_PATH) == 2
        assert any("no task_state_store" in entry["event"] for entry in logs)

    def test_run_marker_finds_task(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        simulator.settings.step_seconds = 3600
        simulator.add_fault("GET", TASK_PATH, status=403, times=1)
        first = make_operator(run_marker_parameter="AIRFLOW_RUN")
        with pytest.raises(ZadigError):
            run_task(first, make_context(supervisor, first, with_task_state_store=False))
        marker = simulator.get_task(WORKFLOW, 1)["params"]
        simulator.set_task_status(WORKFLOW, 1, "passed")
        second = make_operator(run_marker_parameter="AIRFLOW_RUN")

        result = run_task(second, make_context(supervisor, second, try_number=2, with_task_state_store=False))

        assert result == 1
        assert simulator.count_requests("POST", TASK_PATH) == 1
        marker_value = next(param["value"] for param in marker if param["name"] == "AIRFLOW_RUN")
        assert marker_value == "zadig_release/manual__2026-12-04T10:00:00+00:00/run_release/-1/1"

    def test_run_marker_ignores_other_runs(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        from airflow_provider_zadig.hooks.zadig import ZadigHook

        other_run = [{"name": "AIRFLOW_RUN", "value": "zadig_release/other_run/run_release/-1/1"}]
        ZadigHook(zadig_conn_id=release).execute_workflow(PROJECT, WORKFLOW, other_run)
        operator = make_operator(run_marker_parameter="AIRFLOW_RUN")

        result = run_task(
            operator, make_context(supervisor, operator, try_number=2, with_task_state_store=False)
        )

        assert result == 2

    def test_run_marker_must_exist_on_workflow(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        operator = make_operator(run_marker_parameter="AIRFLOW_TRY")

        with pytest.raises(AirflowFailException, match="has no parameter 'AIRFLOW_TRY'"):
            run_task(operator, make_context(supervisor, operator))

        assert simulator.count_requests("POST", TASK_PATH) == 0

    def test_run_marker_covers_lost_store_write(
        self,
        release: str,
        simulator: ZadigSimulator,
        supervisor: FakeSupervisor,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The worker dies after the execute request and before the task state is written."""

        def crash(self: Any, ref: Any) -> None:
            raise SystemExit("worker lost")

        with monkeypatch.context() as patch:
            patch.setattr(_durable.TaskRecord, "save", crash)
            first = make_operator(run_marker_parameter="AIRFLOW_RUN")
            with pytest.raises(SystemExit):
                run_task(first, make_context(supervisor, first))
        assert supervisor.stored_state("run_release") == {}

        assert run_try(supervisor, 2, run_marker_parameter="AIRFLOW_RUN") == 1
        assert simulator.count_requests("POST", TASK_PATH) == 1


class TestLostExecuteResponse:
    """The execute request's response is lost, so the hook cannot tell whether a task started."""

    def test_fails_without_retry(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        simulator.add_fault("POST", TASK_PATH, status=502, times=1)
        operator = make_operator()

        with pytest.raises(AirflowFailException, match="Set run_marker_parameter") as caught:
            run_task(operator, make_context(supervisor, operator))

        assert isinstance(caught.value.__cause__, ZadigAmbiguousRequestError)
        assert simulator.count_requests("POST", TASK_PATH) == 1

    def test_retried_with_run_marker(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        simulator.add_fault("POST", TASK_PATH, status=502, times=1)
        operator = make_operator(run_marker_parameter="AIRFLOW_RUN")

        with pytest.raises(ZadigAmbiguousRequestError):
            run_task(operator, make_context(supervisor, operator))

        assert simulator.count_requests("POST", TASK_PATH) == 1
