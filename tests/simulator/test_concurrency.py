"""Per-workflow ``concurrency_limit`` and the system-wide ``workflow_concurrency``."""

from __future__ import annotations

import time

from zadig_api import simple_workflow

from airflow_provider_zadig.simulator.seed import approval_spec

# Steps that a short task needs are counted in tens of milliseconds, so this is many steps.
SETTLE_SECONDS = 0.3


def _status(api, workflow_key, task_id):
    return api.task(workflow_key, task_id)["status"]


def test_limit_zero_never_starts(api):
    assert api.create_workflow(simple_workflow("frozen", concurrency_limit=0)).ok
    task_id = api.execute("frozen")
    time.sleep(SETTLE_SECONDS)
    assert _status(api, "frozen", task_id) == "waiting"


def test_limit_one_queues_second_task(api, simulator):
    assert api.create_workflow(simple_workflow("single", concurrency_limit=1)).ok
    first = api.execute("single")
    simulator.wait_for_task_status("single", first, "running")
    simulator.set_task_status("single", first, "running", freeze=True)
    second = api.execute("single")
    time.sleep(SETTLE_SECONDS)
    assert _status(api, "single", second) == "waiting"
    simulator.set_task_status("single", first, "passed")
    simulator.wait_for_task_status("single", second, "passed")


def test_task_waiting_for_approval_uses_workflow_slot(api, simulator):
    gate = {"name": "gate", "type": "approval", "spec": approval_spec(["admin"])}
    assert api.create_workflow(simple_workflow("gated", jobs=[gate], concurrency_limit=1)).ok
    first = api.execute("gated")
    api.wait_for_job("gated", first, "gate", "wait_for_approval")
    second = api.execute("gated")
    time.sleep(SETTLE_SECONDS)
    assert _status(api, "gated", second) == "waiting"


def test_approval_wait_does_not_use_global_slot(api, simulator):
    simulator.settings.workflow_concurrency = 1
    first = api.execute()
    api.wait_for_job("build-images", first, "approval", "wait_for_approval")
    assert api.create_workflow(simple_workflow("plain")).ok
    other = api.execute("plain")
    simulator.wait_for_task_status("plain", other, "passed")


def test_global_limit_keeps_tasks_waiting(api, simulator):
    assert api.create_workflow(simple_workflow("busy")).ok
    first, second = api.execute("busy"), api.execute("busy")
    for task_id in (first, second):
        simulator.wait_for_task_status("busy", task_id, "running")
        simulator.set_task_status("busy", task_id, "running", freeze=True)
    third = api.execute("busy")
    time.sleep(SETTLE_SECONDS)
    assert _status(api, "busy", third) == "waiting"
    simulator.set_task_status("busy", first, "passed")
    simulator.wait_for_task_status("busy", third, "passed")


def test_cancel_removes_waiting_task_from_queue(api, simulator):
    simulator.settings.workflow_concurrency = 0
    task_id = api.execute()
    assert api.delete(
        "/openapi/workflows/custom/task", params={"taskId": task_id, "workflowKey": "build-images"}
    ).ok
    simulator.settings.workflow_concurrency = 2
    time.sleep(SETTLE_SECONDS)
    assert _status(api, "build-images", task_id) == "cancelled"
