"""
ZadigExecuteWorkflowOperator against the Zadig simulator over HTTP, in blocking and deferred modes.

The Airflow side runs in-process through ``workflow_runtime``: Airflow's own task instance, XCom,
task state store and template code, with only the supervisor channel replaced by an in-memory fake.
Deferred runs execute the real trigger in asyncio and resume on a fresh operator instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred
from structlog.testing import capture_logs
from workflow_runtime import (
    RELEASE_WORKFLOW,
    FakeSupervisor,
    create_release_workflow,
    first_event,
    install_supervisor,
    make_context,
    make_dag,
    run_deferred,
    run_task,
)

from airflow_provider_zadig.exceptions import (
    ZadigConfigurationError,
    ZadigError,
    ZadigWaitTimeoutError,
    ZadigWorkflowTaskError,
)
from airflow_provider_zadig.operators.workflow import ZadigExecuteWorkflowOperator
from airflow_provider_zadig.simulator import ZadigSimulator

TASK_PATH = "/openapi/workflows/custom/task"
PROJECT = RELEASE_WORKFLOW["project"]
WORKFLOW = RELEASE_WORKFLOW["name"]


@pytest.fixture
def supervisor(monkeypatch: pytest.MonkeyPatch) -> FakeSupervisor:
    return install_supervisor(monkeypatch)


@pytest.fixture
def release(zadig_connection: str, simulator: ZadigSimulator) -> str:
    """Create the ``release`` workflow and return the connection id; the request log starts empty."""
    create_release_workflow(zadig_connection)
    simulator.clear_requests()
    return zadig_connection


def make_operator(dag_kwargs: dict[str, Any] | None = None, **overrides: Any) -> ZadigExecuteWorkflowOperator:
    kwargs: dict[str, Any] = {
        "task_id": "run_release",
        "project_key": PROJECT,
        "workflow_key": WORKFLOW,
        "check_interval": 0.02,
    }
    kwargs.update(overrides)
    with make_dag(**(dag_kwargs or {})):
        return ZadigExecuteWorkflowOperator(**kwargs)


def hold_new_tasks(simulator: ZadigSimulator) -> None:
    """Keep tasks created from now on ``waiting`` until a test sets their status."""
    simulator.settings.step_seconds = 3600


def posted_bodies(simulator: ZadigSimulator) -> list[dict[str, Any]]:
    return [r.json for r in simulator.requests if r.method == "POST" and r.path == TASK_PATH]


def defer(operator: ZadigExecuteWorkflowOperator, context: dict[str, Any]) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as deferred:
        run_task(operator, context)
    return deferred.value


class TestBlocking:
    def test_runs_to_success(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        operator = make_operator()
        task_id = run_task(operator, make_context(supervisor, operator))

        assert task_id == 1
        assert simulator.count_requests("POST", TASK_PATH) == 1
        assert simulator.get_task(WORKFLOW, 1)["status"] == "passed"
        assert supervisor.xcom("run_release", "zadig_task_id") == 1
        assert supervisor.xcom("run_release", "zadig_workflow_key") == WORKFLOW
        assert supervisor.xcom("run_release", "zadig_project_key") == PROJECT
        url = supervisor.xcom("run_release", "zadig_task_url")
        task_page = f"/v1/projects/detail/{PROJECT}/pipelines/custom/{WORKFLOW}/1"
        assert url == f"{simulator.url}{task_page}?display_name=Release%20service"

    def test_xcoms_pushed_before_waiting(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        hold_new_tasks(simulator)
        operator = make_operator()
        context = make_context(supervisor, operator)
        worker = threading.Thread(target=run_task, args=(operator, context))
        worker.start()
        _wait_until(lambda: supervisor.xcom("run_release", "zadig_task_url") is not None)

        assert worker.is_alive()
        assert simulator.get_task(WORKFLOW, 1)["status"] == "waiting"
        assert supervisor.xcom("run_release", "zadig_task_id") == 1
        assert supervisor.stored_state("run_release")["zadig_workflow_task"]["task_id"] == 1
        simulator.set_task_status(WORKFLOW, 1, "passed")
        worker.join(timeout=10)
        assert not worker.is_alive()

    def test_failed_job_named_in_error(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        simulator.set_job_outcome(WORKFLOW, "build-svc", "failed", "compile error in main.go")
        operator = make_operator()

        with pytest.raises(ZadigWorkflowTaskError) as failure:
            run_task(operator, make_context(supervisor, operator))

        message = str(failure.value)
        assert f"{WORKFLOW!r} task 1" in message
        assert "'failed'" in message
        assert "build-svc" in message
        assert "compile error in main.go" in message
        assert failure.value.failed_job == "build-svc"
        assert failure.value.status == "failed"

    @pytest.mark.parametrize("status", ["cancelled", "timeout", "reject"])
    def test_other_failure_statuses_fail(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor, status: str
    ) -> None:
        hold_new_tasks(simulator)
        operator = make_operator()
        context = make_context(supervisor, operator)
        worker_error: list[BaseException] = []

        def run() -> None:
            try:
                run_task(operator, context)
            except BaseException as exc:
                worker_error.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        _wait_until(lambda: supervisor.xcom("run_release", "zadig_task_id") == 1)
        simulator.set_task_status(WORKFLOW, 1, status)
        worker.join(timeout=10)

        assert len(worker_error) == 1
        assert isinstance(worker_error[0], ZadigWorkflowTaskError)
        assert f"ended with status {status!r}" in str(worker_error[0])

    def test_timeout_cancels_once(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        hold_new_tasks(simulator)
        operator = make_operator(timeout=0.5)

        with pytest.raises(ZadigWaitTimeoutError) as timeout:
            run_task(operator, make_context(supervisor, operator))
        operator.on_kill()

        assert simulator.count_requests("DELETE", TASK_PATH) == 1
        assert simulator.get_task(WORKFLOW, 1)["status"] == "cancelled"
        assert timeout.value.task_id == 1
        assert "did not reach" in str(timeout.value)

    def test_timeout_without_cancel(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        hold_new_tasks(simulator)
        operator = make_operator(timeout=0.3, cancel_on_timeout=False)

        with pytest.raises(ZadigWaitTimeoutError):
            run_task(operator, make_context(supervisor, operator))

        assert simulator.count_requests("DELETE", TASK_PATH) == 0

    def test_cancel_failure_keeps_timeout_error(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        hold_new_tasks(simulator)
        simulator.add_fault("DELETE", TASK_PATH, status=403, times=None)
        operator = make_operator(timeout=0.3)

        with capture_logs() as logs, pytest.raises(ZadigWaitTimeoutError):
            run_task(operator, make_context(supervisor, operator))

        assert any("Cancelling Zadig" in entry["event"] and "failed" in entry["event"] for entry in logs)

    def test_on_kill_cancels_running_task(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        hold_new_tasks(simulator)
        operator = make_operator()
        context = make_context(supervisor, operator)
        worker = threading.Thread(target=lambda: _ignore_errors(run_task, operator, context))
        worker.start()
        _wait_until(lambda: supervisor.xcom("run_release", "zadig_task_id") == 1)

        operator.on_kill()
        operator.on_kill()
        worker.join(timeout=10)

        assert simulator.count_requests("DELETE", TASK_PATH) == 1
        assert simulator.get_task(WORKFLOW, 1)["status"] == "cancelled"


class TestDeferred:
    def test_defers_after_one_post(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        start = datetime.now(timezone.utc) - timedelta(seconds=100)
        operator = make_operator(deferrable=True, timeout=1000)
        deferred = defer(operator, make_context(supervisor, operator, start_date=start))

        classpath, kwargs = deferred.trigger.serialize()
        assert classpath == "airflow_provider_zadig.triggers.workflow_task.ZadigWorkflowTaskTrigger"
        assert kwargs["conn_id"] == release
        assert kwargs["workflow_key"] == WORKFLOW
        assert kwargs["task_id"] == 1
        assert kwargs["project_key"] == PROJECT
        assert kwargs["cancel_on_kill"] is True
        assert kwargs["deadline"] == pytest.approx(start.timestamp() + 1000)
        assert deferred.timeout is None
        assert deferred.method_name == "execute_complete"
        assert simulator.count_requests("POST", TASK_PATH) == 1
        assert supervisor.xcom("run_release", "zadig_task_id") == 1
        assert supervisor.stored_state("run_release")["zadig_workflow_task"]["task_id"] == 1

    def test_link_available_while_deferred(self, release: str, supervisor: FakeSupervisor) -> None:
        operator = make_operator(deferrable=True)
        context = make_context(supervisor, operator)
        defer(operator, context)

        # Airflow computes the links on the worker when the try defers, from the operator's links.
        links = {
            link.name: link.get_link(operator, ti_key=context["ti"]) for link in operator.operator_extra_links
        }

        assert links == {"Zadig Task": supervisor.xcom("run_release", "zadig_task_url")}
        assert links["Zadig Task"].startswith("http://127.0.0.1:")

    def test_execution_timeout_limits_deferred_wait(self, release: str, supervisor: FakeSupervisor) -> None:
        start = datetime.now(timezone.utc)
        operator = make_operator(deferrable=True, timeout=1000, execution_timeout=timedelta(seconds=60))
        deferred = defer(operator, make_context(supervisor, operator, start_date=start))

        assert deferred.trigger.serialize()[1]["deadline"] == pytest.approx(start.timestamp() + 60)

    def test_resumes_on_fresh_instance(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        operator = make_operator(deferrable=True)
        deferred = defer(operator, make_context(supervisor, operator))

        result = run_deferred(lambda: make_operator(deferrable=True), supervisor, deferred)

        assert result == 1
        assert simulator.count_requests("POST", TASK_PATH) == 1
        assert simulator.get_task(WORKFLOW, 1)["status"] == "passed"

    def test_failure_event_names_job(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        simulator.set_job_outcome(WORKFLOW, "deploy-svc", "failed", "image pull back-off")
        operator = make_operator(deferrable=True)
        deferred = defer(operator, make_context(supervisor, operator))

        with pytest.raises(ZadigWorkflowTaskError) as failure:
            run_deferred(lambda: make_operator(deferrable=True), supervisor, deferred)

        assert "deploy-svc" in str(failure.value)
        assert "image pull back-off" in str(failure.value)

    def test_timeout_event_cancels_once(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        operator = make_operator(deferrable=True, timeout=0.4)
        deferred = defer(operator, make_context(supervisor, operator))
        simulator.set_task_status(WORKFLOW, 1, "running")

        with pytest.raises(ZadigWaitTimeoutError) as timeout:
            run_deferred(lambda: make_operator(deferrable=True, timeout=0.4), supervisor, deferred)

        assert timeout.value.task_id == 1
        assert simulator.count_requests("DELETE", TASK_PATH) == 1
        assert simulator.get_task(WORKFLOW, 1)["status"] == "cancelled"

    def test_trigger_on_kill_cancels_once(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        operator = make_operator(deferrable=True)
        deferred = defer(operator, make_context(supervisor, operator))
        simulator.set_task_status(WORKFLOW, 1, "running")

        asyncio.run(_run_then_kill(deferred.trigger))

        assert simulator.count_requests("DELETE", TASK_PATH) == 1
        assert simulator.get_task(WORKFLOW, 1)["status"] == "cancelled"

    def test_trigger_on_kill_respects_opt_out(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        operator = make_operator(deferrable=True, cancel_on_kill=False)
        deferred = defer(operator, make_context(supervisor, operator))
        simulator.set_task_status(WORKFLOW, 1, "running")

        asyncio.run(_run_then_kill(deferred.trigger))

        assert simulator.count_requests("DELETE", TASK_PATH) == 0

    def test_event_for_other_task_fails(self, release: str, supervisor: FakeSupervisor) -> None:
        operator = make_operator(deferrable=True)
        deferred = defer(operator, make_context(supervisor, operator))
        event = asyncio.run(first_event(deferred.trigger))
        fresh = make_operator(deferrable=True)
        next_kwargs = {**deferred.kwargs, "event": {**event, "task_id": 99}}

        with pytest.raises(ZadigWorkflowTaskError, match="task 99"):
            fresh.resume_execution("execute_complete", next_kwargs, make_context(supervisor, fresh))

    @pytest.mark.parametrize("event", [None, {"status": "success"}, "success", {"status": "done"}])
    def test_invalid_event_fails(self, supervisor: FakeSupervisor, event: Any) -> None:
        fresh = make_operator(deferrable=True)
        next_kwargs = {"workflow_key": WORKFLOW, "project_key": PROJECT, "task_id": 1, "event": event}

        with pytest.raises(ZadigWorkflowTaskError, match="Invalid event"):
            fresh.resume_execution("execute_complete", next_kwargs, make_context(supervisor, fresh))

    def test_error_event_fails(self, supervisor: FakeSupervisor) -> None:
        fresh = make_operator(deferrable=True)
        event = _event(status="error", message="Reading the task failed: HTTP 403")

        with pytest.raises(ZadigError, match="HTTP 403"):
            fresh.resume_execution(
                "execute_complete",
                {"event": event, "task_id": 1, "workflow_key": WORKFLOW},
                make_context(supervisor, fresh),
            )


class TestAllJobsSkipped:
    @pytest.fixture
    def skipping_server(self, release: str, simulator: ZadigSimulator) -> str:
        # Zadig 3.4.1 and later skip every job that an execute request leaves out of ``inputs``.
        simulator.settings.version = "3.4.1"
        return release

    def misspelt_inputs(self) -> list[dict[str, Any]]:
        return [{"job_name": "biuld-svc", "job_type": "zadig-build", "parameters": {"service_list": []}}]

    def test_fails_loudly(
        self, skipping_server: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        operator = make_operator(inputs=self.misspelt_inputs(), check_inputs=False)

        with pytest.raises(ZadigWorkflowTaskError, match="every job in it was skipped"):
            run_task(operator, make_context(supervisor, operator))

        assert simulator.get_task(WORKFLOW, 1)["status"] == "passed"

    def test_fails_loudly_when_deferred(self, skipping_server: str, supervisor: FakeSupervisor) -> None:
        operator = make_operator(inputs=self.misspelt_inputs(), check_inputs=False, deferrable=True)
        deferred = defer(operator, make_context(supervisor, operator))

        with pytest.raises(ZadigWorkflowTaskError, match="every job in it was skipped"):
            run_deferred(lambda: make_operator(deferrable=True), supervisor, deferred)

    def test_warns_when_allowed(self, skipping_server: str, supervisor: FakeSupervisor) -> None:
        operator = make_operator(
            inputs=self.misspelt_inputs(), check_inputs=False, fail_on_all_jobs_skipped=False
        )

        with capture_logs() as logs:
            assert run_task(operator, make_context(supervisor, operator)) == 1

        warnings = [entry for entry in logs if entry["log_level"] == "warning"]
        assert any("every job in it was skipped" in entry["event"] for entry in warnings)

    def test_unknown_job_rejected_before_post(
        self, skipping_server: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        operator = make_operator(inputs=self.misspelt_inputs())

        with pytest.raises(
            AirflowFailException, match="unknown job 'biuld-svc' in inputs \\(known: build-svc, deploy-svc\\)"
        ):
            run_task(operator, make_context(supervisor, operator))

        assert simulator.count_requests("POST", TASK_PATH) == 0


def _event(**fields: Any) -> dict[str, Any]:
    event = {
        "status": "success",
        "workflow_key": WORKFLOW,
        "project_key": PROJECT,
        "task_id": 1,
        "task_status": "passed",
        "message": "",
        "approval": None,
        "failed_job": None,
        "all_jobs_skipped": False,
    }
    event.update(fields)
    return event


async def _run_then_kill(trigger: Any) -> None:
    """Let the trigger poll a few times, kill it as Airflow 3.3 does, and stop its run."""
    from airflow_provider_zadig.hooks.async_client import close_shared_sessions

    running = asyncio.ensure_future(trigger.run().__anext__())
    await asyncio.sleep(0.2)
    assert not running.done()
    await trigger.on_kill()
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    await close_shared_sessions()


def _wait_until(condition: Any, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not become true"
        time.sleep(0.01)


def _ignore_errors(function: Any, *args: Any) -> None:
    with contextlib.suppress(Exception):
        function(*args)


def test_rejects_unknown_failed_task_policy() -> None:
    with pytest.raises(ZadigConfigurationError, match="failed_task_policy"):
        make_operator(failed_task_policy="again")
