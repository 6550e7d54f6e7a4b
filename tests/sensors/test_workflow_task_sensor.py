"""ZadigWorkflowTaskSensor in poke, reschedule and deferrable modes, against the Zadig simulator."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)
from airflow.sdk.exceptions import AirflowRescheduleException

from airflow_provider_zadig.exceptions import ZadigConfigurationError, ZadigError, ZadigWorkflowTaskError
from airflow_provider_zadig.hooks.async_client import close_shared_sessions
from airflow_provider_zadig.hooks.zadig import ZadigHook
from airflow_provider_zadig.sensors import workflow_task as sensor_module
from airflow_provider_zadig.sensors.workflow_task import ZadigWorkflowTaskSensor
from airflow_provider_zadig.simulator import ZadigSimulator
from airflow_provider_zadig.triggers.workflow_task import ZadigWorkflowTaskTrigger
from airflow_provider_zadig.waiting import WAIT_FOR_CHOICES

TASK_PATH = "/openapi/workflows/custom/task"
MODES = ["poke", "deferrable"]


class FakeTaskInstance:
    """The part of a task instance that BaseSensorOperator reads in reschedule mode."""

    def get_first_reschedule_date(self, context: Any) -> None:
        return None


CONTEXT: Any = {"ti": FakeTaskInstance()}


@pytest.fixture
def hook(zadig_connection: str) -> ZadigHook:
    return ZadigHook(zadig_conn_id=zadig_connection)


@pytest.fixture
def held_task(simulator: ZadigSimulator, hook: ZadigHook) -> int:
    """Start a ``build-deploy`` task and freeze it ``running``; return its id."""
    task_id = hook.execute_workflow("lilian-test", "build-deploy").task_id
    simulator.set_task_status("build-deploy", task_id, "running")
    return task_id


@pytest.fixture
def gated_task(simulator: ZadigSimulator, hook: ZadigHook) -> int:
    """Start a ``build-images`` task and wait until its native approval is pending; return its id."""
    task_id = hook.execute_workflow("simple-service-demo", "build-images").task_id
    deadline = time.monotonic() + 10
    while not any(
        gate.is_pending for gate in hook.get_workflow_task("build-images", task_id).approval_gates()
    ):
        assert time.monotonic() < deadline, "the approval never became pending"
        time.sleep(0.01)
    return task_id


def make_sensor(mode: str, workflow_task_id: Any, **overrides: Any) -> ZadigWorkflowTaskSensor:
    kwargs: dict[str, Any] = {
        "task_id": "wait_for_zadig",
        "workflow_key": "build-deploy",
        "workflow_task_id": workflow_task_id,
        "poke_interval": 0.02,
        "timeout": 30,
        "deferrable": mode == "deferrable",
    }
    if mode == "reschedule":
        kwargs["mode"] = "reschedule"
    kwargs.update(overrides)
    return ZadigWorkflowTaskSensor(**kwargs)


async def run_trigger(trigger: ZadigWorkflowTaskTrigger) -> list[dict[str, Any]]:
    try:
        return [event.payload async for event in trigger.run()]
    finally:
        await close_shared_sessions()


def run_sensor(
    mode: str, workflow_task_id: Any, before_trigger: Callable[[], None] | None = None, **overrides: Any
) -> Any:
    """
    Run a sensor to its end and return its result, or raise what the task would raise.

    In deferrable mode the deferral's trigger runs here, and its event goes to a fresh sensor
    instance, as when Airflow resumes a deferred task on a worker.
    """
    sensor = make_sensor(mode, workflow_task_id, **overrides)
    if mode != "deferrable":
        return sensor.execute(CONTEXT)
    try:
        return sensor.execute(CONTEXT)
    except TaskDeferred as deferral:
        if before_trigger is not None:
            before_trigger()
        payloads = asyncio.run(run_trigger(deferral.trigger))
        assert len(payloads) == 1
        resumed = make_sensor(mode, workflow_task_id, **overrides)
        return resumed.resume_execution(deferral.method_name, {"event": payloads[0]}, CONTEXT)


# --- the three wait modes, in poke and deferrable mode ------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_completion_returns_final_status(simulator, zadig_connection, held_task, mode):
    def finish() -> None:
        simulator.set_task_status("build-deploy", held_task, "passed")

    if mode == "poke":
        finish()
    assert run_sensor(mode, held_task, before_trigger=finish) == "passed"


@pytest.mark.parametrize("mode", MODES)
def test_approval_pending_returns_job_task_name(simulator, zadig_connection, gated_task, mode):
    result = run_sensor(mode, gated_task, workflow_key="build-images", wait_for="approval_pending")
    assert result == "job-1-0-0-approval"


@pytest.mark.parametrize("mode", MODES)
def test_approval_decided_approved(simulator, zadig_connection, hook, gated_task, mode):
    def approve() -> None:
        hook.approve_workflow_task("build-images", gated_task, "approval", approve=True, comment="ok")

    if mode == "poke":
        approve()
    simulator.clear_requests()
    result = run_sensor(
        mode,
        gated_task,
        before_trigger=approve,
        workflow_key="build-images",
        wait_for="approval_decided",
        approval_name="deploy",
    )
    assert result == "job-1-0-0-approval"
    if mode == "deferrable":
        assert simulator.count_requests("POST", f"{TASK_PATH}/approve") == 1


@pytest.mark.parametrize("mode", MODES)
def test_approval_decided_rejected(simulator, zadig_connection, hook, gated_task, mode):
    def reject() -> None:
        hook.approve_workflow_task("build-images", gated_task, "approval", approve=False, comment="not today")

    if mode == "poke":
        reject()
    with pytest.raises(ZadigWorkflowTaskError) as info:
        run_sensor(
            mode, gated_task, before_trigger=reject, workflow_key="build-images", wait_for="approval_decided"
        )
    assert "rejected by admin (admin commented 'not today')" in str(info.value)
    assert info.value.task_id == gated_task


def test_failure_message_same_in_both_modes(simulator, zadig_connection, hook):
    simulator.set_job_outcome("build-deploy", "build", "failed", "exit status 2")
    task_id = hook.execute_workflow("lilian-test", "build-deploy").task_id
    with pytest.raises(ZadigWorkflowTaskError) as deferred:
        run_sensor("deferrable", task_id)
    with pytest.raises(ZadigWorkflowTaskError) as poked:
        run_sensor("poke", task_id)
    assert str(deferred.value) == str(poked.value)
    assert "job 'build' in stage 'build' failed: exit status 2" in str(poked.value)
    assert poked.value.failed_job == "build"


@pytest.mark.parametrize("mode", MODES)
def test_soft_fail_skips_failed_task(simulator, zadig_connection, held_task, mode):
    def fail() -> None:
        simulator.set_task_status("build-deploy", held_task, "failed")

    if mode == "poke":
        fail()
    with pytest.raises(AirflowSkipException) as info:
        run_sensor(mode, held_task, before_trigger=fail, soft_fail=True)
    # After a deferral Airflow wraps the sensor's exception in its own skip exception.
    messages = [str(info.value), str(info.value.__cause__)]
    assert any("Zadig workflow 'build-deploy' task 1 ended with status 'failed'" in text for text in messages)


@pytest.mark.parametrize("mode", MODES)
def test_timeout_raises_sensor_timeout(simulator, zadig_connection, held_task, mode):
    with pytest.raises(AirflowSensorTimeout):
        run_sensor(mode, held_task, timeout=0.1)
    assert simulator.count_requests("DELETE", TASK_PATH) == 0


@pytest.mark.parametrize("mode", MODES)
def test_timeout_with_soft_fail_skips(simulator, zadig_connection, held_task, mode):
    with pytest.raises(AirflowSkipException):
        run_sensor(mode, held_task, timeout=0.1, soft_fail=True)


# --- deferral details -------------------------------------------------------------------------


def test_deferral_passes_criteria_and_deadline(simulator, zadig_connection, gated_task):
    sensor = make_sensor(
        "deferrable",
        str(gated_task),
        workflow_key="build-images",
        project_key="simple-service-demo",
        wait_for="approval_decided",
        approval_name="approval",
        poke_interval=15,
        timeout=600,
    )
    started = time.time()
    with pytest.raises(TaskDeferred) as info:
        sensor.execute(CONTEXT)
    deferral = info.value
    assert deferral.method_name == "execute_complete"
    assert deferral.timeout == timedelta(seconds=660)
    classpath, kwargs = deferral.trigger.serialize()
    assert classpath == "airflow_provider_zadig.triggers.workflow_task.ZadigWorkflowTaskTrigger"
    deadline = kwargs.pop("deadline")
    assert started + 600 <= deadline <= time.time() + 600
    assert kwargs == {
        "conn_id": "zadig_default",
        "workflow_key": "build-images",
        "task_id": gated_task,
        "project_key": "simple-service-demo",
        "wait_for": "approval_decided",
        "approval_name": "approval",
        "success_statuses": ["passed"],
        "failure_statuses": ["failed", "timeout", "cancelled", "reject"],
        "check_interval": 15.0,
        "cancel_on_kill": False,
        "max_consecutive_failures": 5,
    }


def test_finished_task_needs_no_deferral(simulator, zadig_connection, held_task):
    simulator.set_task_status("build-deploy", held_task, "passed")
    assert make_sensor("deferrable", held_task).execute(CONTEXT) == "passed"


def test_event_for_other_task_rejected(simulator, zadig_connection):
    sensor = make_sensor("deferrable", 7)
    event = {
        "status": "success",
        "workflow_key": "build-deploy",
        "project_key": None,
        "task_id": 8,
        "task_status": "passed",
        "message": "",
        "approval": None,
        "failed_job": None,
        "all_jobs_skipped": False,
    }
    with pytest.raises(ZadigWorkflowTaskError, match="task 8, but this Airflow task waits on workflow"):
        sensor.resume_execution("execute_complete", {"event": event}, CONTEXT)


@pytest.mark.parametrize("event", [None, {"status": "success"}, "success"])
def test_invalid_event_fails(simulator, zadig_connection, event):
    with pytest.raises(ZadigWorkflowTaskError, match="Invalid event from the Zadig trigger"):
        make_sensor("deferrable", 7).resume_execution("execute_complete", {"event": event}, CONTEXT)


# --- reschedule mode --------------------------------------------------------------------------


def test_reschedule_mode_reschedules_while_running(simulator, zadig_connection, held_task):
    with pytest.raises(AirflowRescheduleException):
        run_sensor("reschedule", held_task)


def test_reschedule_mode_returns_when_done(simulator, zadig_connection, held_task):
    simulator.set_task_status("build-deploy", held_task, "passed")
    assert run_sensor("reschedule", held_task) == "passed"


# --- arguments --------------------------------------------------------------------------------


def test_wait_for_choices_match_waiting_module():
    assert sensor_module._WAIT_FOR_CHOICES == WAIT_FOR_CHOICES


def test_invalid_wait_for_rejected_at_construction():
    with pytest.raises(ZadigConfigurationError, match="Invalid wait_for 'approved'"):
        make_sensor("poke", 1, wait_for="approved")


@pytest.mark.parametrize("value", ["None", "", "abc", 0])
def test_invalid_task_id_rejected_before_request(simulator, zadig_connection, value):
    with pytest.raises(ZadigConfigurationError, match="Invalid workflow_task_id"):
        make_sensor("poke", value).execute(CONTEXT)
    assert simulator.requests == []


def test_invalid_status_rejected_before_request(simulator, zadig_connection):
    with pytest.raises(ZadigConfigurationError, match="'succeeded'"):
        make_sensor("poke", 1, success_statuses=["succeeded"]).execute(CONTEXT)
    assert simulator.requests == []


def test_task_id_digits_from_template(simulator, zadig_connection, held_task):
    simulator.set_task_status("build-deploy", held_task, "passed")
    assert run_sensor("poke", f" {held_task} ") == "passed"


def test_template_fields():
    assert ZadigWorkflowTaskSensor.template_fields == (
        "workflow_key",
        "workflow_task_id",
        "project_key",
        "approval_name",
    )


def test_deferrable_default_from_config(monkeypatch: pytest.MonkeyPatch):
    script = (
        "from airflow_provider_zadig.sensors.workflow_task import ZadigWorkflowTaskSensor as S\n"
        "print(S(task_id='t', workflow_key='w', workflow_task_id=1).deferrable)\n"
    )
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "true")
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert output.stdout.strip().splitlines()[-1] == "True"


def test_parse_time_imports_stay_light():
    script = (
        "import sys\n"
        "import airflow.sdk\n"
        "import airflow_provider_zadig.triggers.workflow_task\n"
        "from airflow_provider_zadig.sensors.workflow_task import ZadigWorkflowTaskSensor as S\n"
        "S(task_id='t', workflow_key='w', workflow_task_id='{{ ti.xcom_pull(key=\"zadig_task_id\") }}',"
        " wait_for='approval_pending', approval_name='deploy')\n"
        "heavy = ('requests', 'aiohttp', 'airflow_provider_zadig.models',"
        " 'airflow_provider_zadig.hooks.zadig', 'airflow_provider_zadig.waiting')\n"
        "print(sorted(m for m in sys.modules if m in heavy))\n"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert output.stdout.strip().splitlines()[-1] == "[]"


# --- transient errors and on_kill in poke mode ---------------------------------------------------


@pytest.fixture
def no_retry_connection(zadig_connection: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Copy the simulator connection without hook retries, so that every failed request reaches the sensor."""
    conn = json.loads(os.environ[f"AIRFLOW_CONN_{zadig_connection.upper()}"])
    conn["extra"] = {"max_retries": 0}
    monkeypatch.setenv("AIRFLOW_CONN_ZADIG_NO_RETRY", json.dumps(conn))
    return "zadig_no_retry"


def test_poke_tolerates_transient_errors(simulator, zadig_connection, no_retry_connection, held_task):
    simulator.add_fault("GET", TASK_PATH, status=502, body="<html>Bad Gateway</html>", times=2)
    simulator.add_fault("GET", TASK_PATH, status=503, body="busy", times=1)
    simulator.set_task_status("build-deploy", held_task, "passed")
    assert run_sensor("poke", held_task, zadig_conn_id=no_retry_connection) == "passed"
    assert simulator.count_requests("GET", TASK_PATH) == 4


def test_poke_failure_cap(simulator, zadig_connection, no_retry_connection, held_task):
    simulator.add_fault("GET", TASK_PATH, status=502, body="<html>Bad Gateway</html>", times=None)
    with pytest.raises(ZadigError, match="failed 3 times in a row"):
        run_sensor("poke", held_task, zadig_conn_id=no_retry_connection, max_consecutive_failures=3)
    assert simulator.count_requests("GET", TASK_PATH) == 3


def test_poke_forbidden_fails_at_once(simulator, zadig_connection, held_task):
    simulator.add_fault("GET", TASK_PATH, status=403, body='{"code":403,"description":"no permission"}')
    with pytest.raises(ZadigError, match="HTTP 403"):
        run_sensor("poke", held_task)
    assert simulator.count_requests("GET", TASK_PATH) == 1


def test_on_kill_cancels_when_asked(simulator, zadig_connection, held_task):
    sensor = make_sensor("poke", held_task, cancel_on_kill=True)
    assert sensor.poke(CONTEXT) is False
    sensor.on_kill()
    assert simulator.count_requests("DELETE", TASK_PATH) == 1
    assert simulator.get_task("build-deploy", held_task)["status"] == "cancelled"


def test_on_kill_leaves_task_by_default(simulator, zadig_connection, held_task):
    sensor = make_sensor("poke", held_task)
    assert sensor.poke(CONTEXT) is False
    sensor.on_kill()
    assert simulator.count_requests("DELETE", TASK_PATH) == 0
