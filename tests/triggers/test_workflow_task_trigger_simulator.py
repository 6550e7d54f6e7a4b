"""ZadigWorkflowTaskTrigger against the Zadig simulator, through the real async client over HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from structlog.testing import capture_logs

from airflow_provider_zadig.hooks.async_client import close_shared_sessions
from airflow_provider_zadig.hooks.zadig import ZadigHook
from airflow_provider_zadig.simulator import ZadigSimulator
from airflow_provider_zadig.triggers.workflow_task import ZadigWorkflowTaskTrigger
from airflow_provider_zadig.waiting import read_event

TASK_PATH = "/openapi/workflows/custom/task"
HTML_BAD_GATEWAY = "<html><body>Bad Gateway</body></html>"


@pytest.fixture(autouse=True)
async def shared_session_closed():
    """Close the async client's shared HTTP session of this test's event loop."""
    yield
    await close_shared_sessions()


@pytest.fixture
def hook(zadig_connection: str) -> ZadigHook:
    return ZadigHook(zadig_conn_id=zadig_connection)


@pytest.fixture
def held_task(simulator: ZadigSimulator, hook: ZadigHook) -> int:
    """Start a ``build-deploy`` task and freeze it ``running``; return its id. The request log is cleared."""
    task_id = hook.execute_workflow("lilian-test", "build-deploy").task_id
    simulator.set_task_status("build-deploy", task_id, "running")
    simulator.clear_requests()
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
    simulator.clear_requests()
    return task_id


def make_trigger(conn_id: str, workflow_key: str, task_id: int, **overrides: Any) -> ZadigWorkflowTaskTrigger:
    kwargs: dict[str, Any] = {"conn_id": conn_id, "workflow_key": workflow_key, "task_id": task_id}
    kwargs.update({"check_interval": 0.02, **overrides})
    return ZadigWorkflowTaskTrigger(**kwargs)


async def collect(trigger: ZadigWorkflowTaskTrigger) -> list[dict[str, Any]]:
    """Run the trigger to its end; return every payload, each checked as plain JSON and a valid event."""
    payloads = []
    async for event in trigger.run():
        assert json.loads(json.dumps(event.payload)) == event.payload
        read_event(event.payload, workflow_key=trigger.workflow_key, task_id=trigger.workflow_task_id)
        payloads.append(event.payload)
    return payloads


async def wait_for_reads(simulator: ZadigSimulator, count: int) -> None:
    """Wait until the simulator has received ``count`` task reads in all."""
    deadline = time.monotonic() + 10
    while simulator.count_requests("GET", TASK_PATH) < count:
        assert time.monotonic() < deadline, "the trigger stopped polling"
        await asyncio.sleep(0.005)


def non_reads(simulator: ZadigSimulator) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in simulator.requests if r.method != "GET"]


async def test_rebuilt_trigger_only_reads(simulator, zadig_connection, held_task):
    original = make_trigger(zadig_connection, "build-deploy", held_task, project_key="lilian-test")
    first_run = asyncio.ensure_future(collect(original))
    await wait_for_reads(simulator, 3)
    # The triggerer stops the trigger on shutdown and rebuilds it from serialize() elsewhere.
    first_run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first_run
    rebuilt = ZadigWorkflowTaskTrigger(**original.serialize()[1])
    simulator.set_task_status("build-deploy", held_task, "passed")
    payloads = await collect(rebuilt)
    assert [payload["status"] for payload in payloads] == ["success"]
    assert payloads[0]["project_key"] == "lilian-test"
    assert non_reads(simulator) == []
    assert simulator.count_requests("POST", TASK_PATH) == 0
    queries = {(r.path, r.query.get("taskId"), r.query.get("workflowKey")) for r in simulator.requests}
    assert queries == {(TASK_PATH, str(held_task), "build-deploy")}


async def test_task_running_to_passed(simulator, zadig_connection, hook):
    task_id = hook.execute_workflow("lilian-test", "build-deploy").task_id
    payloads = await collect(make_trigger(zadig_connection, "build-deploy", task_id))
    assert payloads[0]["status"] == "success"
    assert payloads[0]["task_status"] == "passed"
    assert payloads[0]["project_key"] == "lilian-test"


async def test_failed_job_named(simulator, zadig_connection, hook):
    simulator.set_job_outcome("build-deploy", "build", "failed", "exit status 2")
    task_id = hook.execute_workflow("lilian-test", "build-deploy").task_id
    payloads = await collect(make_trigger(zadig_connection, "build-deploy", task_id))
    assert payloads[0]["status"] == "failure"
    assert payloads[0]["failed_job"] == "build"
    assert "job 'build' in stage 'build' failed: exit status 2" in payloads[0]["message"]


async def test_status_sequence_of_an_approval(simulator, zadig_connection, held_task):
    statuses = [
        "created",
        "running",
        "wait_for_approval",
        "wait_for_approval",
        "running",
        "waiting_approve",
        "prepare",
        "debug_before",
        "running",
    ]
    trigger = make_trigger(zadig_connection, "build-deploy", held_task)
    with capture_logs() as logs:
        run = asyncio.ensure_future(collect(trigger))
        for status in statuses:
            simulator.set_task_status("build-deploy", held_task, status)
            await wait_for_reads(simulator, simulator.count_requests("GET", TASK_PATH) + 1)
            assert not run.done()
        simulator.set_task_status("build-deploy", held_task, "passed")
        payloads = await asyncio.wait_for(run, timeout=10)
    assert [payload["status"] for payload in payloads] == ["success"]
    pending_lines = [entry["event"] for entry in logs if "waits for a decision" in entry["event"]]
    assert len(pending_lines) == 2


async def test_approval_pending_reported_on_first_approval_poll(simulator, zadig_connection, held_task):
    trigger = make_trigger(zadig_connection, "build-deploy", held_task, wait_for="approval_pending")
    run = asyncio.ensure_future(collect(trigger))
    for status in ("created", "running"):
        simulator.set_task_status("build-deploy", held_task, status)
        await wait_for_reads(simulator, simulator.count_requests("GET", TASK_PATH) + 1)
        assert not run.done()
    simulator.set_task_status("build-deploy", held_task, "wait_for_approval")
    payloads = await asyncio.wait_for(run, timeout=10)
    assert payloads[0]["status"] == "success"
    assert payloads[0]["task_status"] == "wait_for_approval"


async def test_six_transient_errors_then_success(simulator, zadig_connection, held_task):
    html = {"Content-Type": "text/html"}
    # aiohttp 3.14 resends a GET once by itself after a connection reset, so it takes two resets in
    # a row for the trigger to see one connection error.
    simulator.add_fault("GET", TASK_PATH, reset_connection=True, times=2)
    simulator.add_fault("GET", TASK_PATH, status=502, body=HTML_BAD_GATEWAY, headers=html)
    simulator.add_fault("GET", TASK_PATH, status=503, body="busy", headers={"Retry-After": "1"})
    simulator.add_fault("GET", TASK_PATH, status=502, body=HTML_BAD_GATEWAY, headers=html)
    simulator.add_fault("GET", TASK_PATH, status=504, body=HTML_BAD_GATEWAY, headers=html)
    simulator.add_fault("GET", TASK_PATH, status=429, body="slow down", headers={"Retry-After": "0"})
    simulator.set_task_status("build-deploy", held_task, "passed")
    trigger = make_trigger(zadig_connection, "build-deploy", held_task, max_consecutive_failures=7)
    with capture_logs() as logs:
        payloads = await collect(trigger)
    assert [payload["status"] for payload in payloads] == ["success"]
    assert simulator.count_requests("GET", TASK_PATH) == 8
    retries = [entry["event"] for entry in logs if entry["log_level"] == "warning"]
    assert len(retries) == 6
    assert "ZadigConnectionError" in retries[0]
    assert "HTML page" in retries[1]
    assert "(HTTP 503)" in retries[2]
    pause = float(retries[2].rsplit("Polling again in ", 1)[1].split()[0])
    assert pause >= 1.0


async def test_reset_mid_wait_tolerated(simulator, zadig_connection, held_task):
    trigger = make_trigger(zadig_connection, "build-deploy", held_task)
    run = asyncio.ensure_future(collect(trigger))
    await wait_for_reads(simulator, 2)
    simulator.add_fault(
        "GET", TASK_PATH, status=502, body=HTML_BAD_GATEWAY, headers={"Content-Type": "text/html"}
    )
    simulator.add_fault("GET", TASK_PATH, reset_connection=True)
    simulator.add_fault("GET", TASK_PATH, status=503, body="", headers={"Retry-After": "0"})
    reads = simulator.count_requests("GET", TASK_PATH)
    await wait_for_reads(simulator, reads + 4)
    simulator.set_task_status("build-deploy", held_task, "passed")
    payloads = await asyncio.wait_for(run, timeout=10)
    assert [payload["status"] for payload in payloads] == ["success"]


async def test_failure_cap_gives_error_event(simulator, zadig_connection, held_task):
    simulator.add_fault("GET", TASK_PATH, status=502, body=HTML_BAD_GATEWAY * 100, times=None)
    payloads = await collect(make_trigger(zadig_connection, "build-deploy", held_task))
    assert payloads[0]["status"] == "error"
    assert "failed 5 times in a row" in payloads[0]["message"]
    assert "HTTP 502" in payloads[0]["message"]
    assert len(payloads[0]["message"]) <= 1000
    assert simulator.count_requests("GET", TASK_PATH) == 5


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, '{"code":6161,"message":"获取工作流任务失败","description":"invalid task id"}'),
        (403, '{"code":403,"message":"forbidden","description":"no permission"}'),
    ],
)
async def test_client_error_ends_at_once(simulator, zadig_connection, held_task, status, body):
    simulator.add_fault(
        "GET", TASK_PATH, status=status, body=body, headers={"Content-Type": "application/json"}
    )
    payloads = await collect(make_trigger(zadig_connection, "build-deploy", held_task))
    assert payloads[0]["status"] == "error"
    assert f"HTTP {status}" in payloads[0]["message"]
    assert simulator.count_requests("GET", TASK_PATH) == 1


async def test_missing_task_ends_at_once(simulator, zadig_connection):
    payloads = await collect(make_trigger(zadig_connection, "build-deploy", 999))
    assert payloads[0]["status"] == "error"
    assert "ZadigNotFoundError" in payloads[0]["message"]


async def test_deadline_gives_timeout_without_cancel(simulator, zadig_connection, held_task):
    trigger = make_trigger(zadig_connection, "build-deploy", held_task, deadline=time.time() + 0.1)
    payloads = await collect(trigger)
    assert payloads[0]["status"] == "timeout"
    assert payloads[0]["task_status"] == "running"
    assert non_reads(simulator) == []


async def test_on_kill_cancels_exactly_once(simulator, zadig_connection, held_task):
    trigger = make_trigger(zadig_connection, "build-deploy", held_task, cancel_on_kill=True)
    run = asyncio.ensure_future(collect(trigger))
    await wait_for_reads(simulator, 2)
    # What the triggerer does when a user marks the deferred task failed: cancel run(), then on_kill().
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    await trigger.on_kill()
    await trigger.cleanup()
    assert simulator.count_requests("DELETE", TASK_PATH) == 1
    assert simulator.get_task("build-deploy", held_task)["status"] == "cancelled"


async def test_on_kill_leaves_task_when_not_asked(simulator, zadig_connection, held_task):
    await make_trigger(zadig_connection, "build-deploy", held_task).on_kill()
    assert simulator.count_requests("DELETE", TASK_PATH) == 0
    assert simulator.get_task("build-deploy", held_task)["status"] == "running"


async def test_on_kill_of_finished_task(simulator, zadig_connection, held_task):
    simulator.set_task_status("build-deploy", held_task, "passed")
    with capture_logs() as logs:
        await make_trigger(zadig_connection, "build-deploy", held_task, cancel_on_kill=True).on_kill()
    assert simulator.count_requests("DELETE", TASK_PATH) == 1
    assert any("nothing to cancel" in entry["event"] for entry in logs)


async def test_native_approval_pending(simulator, zadig_connection, gated_task):
    trigger = make_trigger(zadig_connection, "build-images", gated_task, wait_for="approval_pending")
    payloads = await collect(trigger)
    assert payloads[0]["status"] == "success"
    assert payloads[0]["approval"]["job_task_name"] == "job-1-0-0-approval"
    assert payloads[0]["approval"]["approval_type"] == "native"


async def test_native_approval_approved(simulator, zadig_connection, hook, gated_task):
    hook.approve_workflow_task("build-images", gated_task, "approval", approve=True, comment="ship it")
    trigger = make_trigger(zadig_connection, "build-images", gated_task, wait_for="approval_decided")
    payloads = await collect(trigger)
    assert payloads[0]["status"] == "success"
    assert payloads[0]["approval"]["decision"] == "approve"
    assert payloads[0]["approval"]["comments"] == ["admin: ship it"]


async def test_native_approval_rejected(simulator, zadig_connection, hook, gated_task):
    trigger = make_trigger(
        zadig_connection, "build-images", gated_task, wait_for="approval_decided", approval_name="deploy"
    )
    run = asyncio.ensure_future(collect(trigger))
    await wait_for_reads(simulator, 1)
    await asyncio.to_thread(
        hook.approve_workflow_task, "build-images", gated_task, "deploy", approve=False, comment="not today"
    )
    payloads = await asyncio.wait_for(run, timeout=10)
    assert payloads[0]["status"] == "failure"
    assert "rejected by admin" in payloads[0]["message"]
    assert "admin commented 'not today'" in payloads[0]["message"]
