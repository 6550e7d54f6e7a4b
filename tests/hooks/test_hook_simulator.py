"""Every hook endpoint end to end, over real HTTP, against the Zadig simulator on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_zadig.exceptions import (
    ZadigAmbiguousRequestError,
    ZadigAuthenticationError,
    ZadigBadRequestError,
    ZadigConnectionError,
    ZadigNotFoundError,
)
from airflow_provider_zadig.hooks.async_client import ZadigAsyncClient, close_shared_sessions
from airflow_provider_zadig.hooks.zadig import ZadigHook
from airflow_provider_zadig.models import ApprovalGate, WorkflowStatus

PROJECT = "simple-service-demo"
WORKFLOW = "build-images"
EXECUTE_PATH = "/openapi/workflows/custom/task"
APPROVE_PATH = "/openapi/workflows/custom/task/approve"

NEW_WORKFLOW_YAML = """\
name: airflow-made
display_name: Made by Airflow
project: simple-service-demo
concurrency_limit: 1
stages:
  - name: build
    jobs:
      - name: build-myapps
        type: zadig-build
        spec:
          docker_registry_id: "630c7ad700430c131062e245"
          service_and_builds: []
"""


@pytest.fixture
def sim_hook(zadig_connection: str) -> ZadigHook:
    hook = ZadigHook(zadig_connection)
    yield hook
    hook.close()


@pytest.fixture
async def sim_client(zadig_connection: str) -> ZadigAsyncClient:
    client = await ZadigAsyncClient.from_conn_id(zadig_connection)
    yield client
    await close_shared_sessions()


def wait_for_pending_gate(hook: ZadigHook, task_id: int, timeout: float = 10.0) -> ApprovalGate:
    deadline = time.monotonic() + timeout
    while True:
        gate = hook.get_workflow_task(WORKFLOW, task_id).find_approval("approval")
        if gate is not None and gate.is_pending:
            return gate
        assert time.monotonic() < deadline, f"approval of task {task_id} did not become pending"
        time.sleep(0.02)


def test_test_connection(sim_hook: ZadigHook, simulator: Any, define_connection: Callable[..., str]) -> None:
    ok, message = sim_hook.test_connection()
    assert ok is True
    assert simulator.url in message
    bad = ZadigHook(define_connection("zadig_bad_token", host=simulator.url, password="not-a-token"))
    ok, message = bad.test_connection()
    assert ok is False
    assert "HTTP 401" in message
    assert "'zadig_bad_token'" in message


def test_workflow_reads(sim_hook: ZadigHook) -> None:
    keys = [workflow.workflow_key for workflow in sim_hook.list_workflows("lilian-test")]
    assert keys == ["build-deploy", "just-deploy", "xiaxianfuwu"]
    assert [w.workflow_key for w in sim_hook.list_workflows("lilian-test", view_name="test-view")] == [
        "xiaxianfuwu"
    ]
    detail = sim_hook.get_workflow(WORKFLOW, PROJECT)
    assert detail.job_names == ["build-myapps", "approval", "deploy-myapps"]
    env = detail.get_param("env")
    assert env is not None
    assert env.choice_option == ["dev", "staging", "prod"]
    with pytest.raises(ZadigNotFoundError, match="not its display name"):
        sim_hook.get_workflow("Build Images", PROJECT)


def test_task_lifecycle_with_approval(sim_hook: ZadigHook, simulator: Any) -> None:
    result = sim_hook.execute_workflow(
        PROJECT, WORKFLOW, parameters=[{"name": "env", "type": "choice", "value": "staging"}]
    )
    task = sim_hook.get_workflow_task(WORKFLOW, result.task_id)
    assert task.task_creator == "admin"
    assert task.params is not None
    assert {param["name"]: param["value"] for param in task.params}["env"] == "staging"

    wait_for_pending_gate(sim_hook, result.task_id)
    gate = sim_hook.approve_workflow_task(WORKFLOW, result.task_id, "deploy", comment="LGTM")
    assert gate.decision == "approve"
    assert gate.comments == ["admin: LGTM"]
    simulator.wait_for_task_status(WORKFLOW, result.task_id, "passed")

    again = sim_hook.approve_workflow_task(WORKFLOW, result.task_id, "approval")
    assert again.decision == "approve"
    assert simulator.count_requests("POST", APPROVE_PATH) == 1

    page = sim_hook.list_workflow_tasks(WORKFLOW, PROJECT)
    assert page.total == 1
    assert page.workflow_tasks[0].status is WorkflowStatus.PASSED
    assert [brief.task_id for brief in sim_hook.iter_workflow_tasks(WORKFLOW, PROJECT, page_size=1)] == [
        result.task_id
    ]
    assert sim_hook.cancel_workflow_task(WORKFLOW, result.task_id) is False
    assert simulator.count_requests("POST", EXECUTE_PATH) == 1


def test_reject(sim_hook: ZadigHook, simulator: Any) -> None:
    task_id = sim_hook.execute_workflow(PROJECT, WORKFLOW).task_id
    wait_for_pending_gate(sim_hook, task_id)
    gate = sim_hook.approve_workflow_task(
        WORKFLOW, task_id, "job-1-0-0-approval", approve=False, comment="no"
    )
    assert gate.decision == "reject"
    simulator.wait_for_task_status(WORKFLOW, task_id, "reject")


def test_cancel_and_retry(sim_hook: ZadigHook, simulator: Any) -> None:
    task_id = sim_hook.execute_workflow(PROJECT, WORKFLOW).task_id
    assert sim_hook.cancel_workflow_task(WORKFLOW, task_id) is True
    cancel = [request for request in simulator.requests if request.method == "DELETE"][-1]
    assert cancel.query == {"taskId": str(task_id), "workflowKey": WORKFLOW}
    assert cancel.body_text == ""
    simulator.wait_for_task_status(WORKFLOW, task_id, "cancelled")

    sim_hook.retry_workflow_task(WORKFLOW, task_id, project_key=PROJECT)
    status = sim_hook.get_workflow_task(WORKFLOW, task_id).status
    assert status not in (WorkflowStatus.CANCELLED, WorkflowStatus.FAILED)
    assert simulator.count_requests("POST", f"/openapi/workflows/custom/{WORKFLOW}/task/{task_id}") == 1

    with pytest.raises(ZadigNotFoundError, match="Check workflow_key and task_id"):
        sim_hook.cancel_workflow_task(WORKFLOW, 999)


def test_execute_errors_are_sent_once(sim_hook: ZadigHook, simulator: Any) -> None:
    with pytest.raises(ZadigNotFoundError) as excinfo:
        sim_hook.execute_workflow(PROJECT, "Build Images")
    assert excinfo.value.code == 6542
    assert excinfo.value.server_message == "查询workflow失败"
    assert "workflow_key='Build Images'" in str(excinfo.value)
    with pytest.raises(ZadigBadRequestError, match="choice options"):
        sim_hook.execute_workflow(
            PROJECT, WORKFLOW, parameters=[{"name": "env", "type": "choice", "value": "prod2"}]
        )
    with pytest.raises(ZadigBadRequestError, match="parameter defined on the workflow"):
        sim_hook.execute_workflow(PROJECT, WORKFLOW, parameters=[{"name": "colour", "value": "x"}])
    assert simulator.count_requests("POST", EXECUTE_PATH) == 3


def test_views(sim_hook: ZadigHook) -> None:
    sim_hook.create_workflow_view("lilian-test", "release", ["build-deploy"])
    sim_hook.update_workflow_view("lilian-test", "release", add=["just-deploy"], remove=["build-deploy"])
    views = {view.name: view.workflow_keys for view in sim_hook.list_workflow_views("lilian-test")}
    assert views["release"] == ["just-deploy"]
    with pytest.raises(ZadigBadRequestError, match="already exists"):
        sim_hook.create_workflow_view("lilian-test", "release", [])
    sim_hook.delete_workflow_view("lilian-test", "release")
    with pytest.raises(ZadigNotFoundError):
        sim_hook.delete_workflow_view("lilian-test", "release")
    with pytest.raises(ZadigNotFoundError):
        sim_hook.update_workflow_view("lilian-test", "missing", add=["a"])


def test_workflow_definitions(sim_hook: ZadigHook) -> None:
    sim_hook.create_workflow(NEW_WORKFLOW_YAML)
    assert sim_hook.get_workflow("airflow-made", PROJECT).workflow_name == "Made by Airflow"
    with pytest.raises(ZadigBadRequestError, match="unique across all Zadig projects"):
        sim_hook.create_workflow(NEW_WORKFLOW_YAML)
    sim_hook.update_workflow("airflow-made", NEW_WORKFLOW_YAML.replace("Made by Airflow", "Renamed"))
    assert sim_hook.get_workflow("airflow-made", PROJECT).workflow_name == "Renamed"
    sim_hook.delete_workflow("airflow-made", PROJECT)
    with pytest.raises(ZadigNotFoundError):
        sim_hook.get_workflow("airflow-made", PROJECT)


def test_approval_ticket(sim_hook: ZadigHook, simulator: Any) -> None:
    sim_hook.create_approval_ticket(PROJECT, "OA-2024-1", envs=["prod"], users=["ops@example.com"])
    assert [ticket["approval_id"] for ticket in simulator.tickets] == ["OA-2024-1"]
    with pytest.raises(ZadigBadRequestError, match="approval_id already exists"):
        sim_hook.create_approval_ticket(PROJECT, "OA-2024-1")


def test_transient_faults_are_retried(sim_hook: ZadigHook, simulator: Any, sleeps: list[float]) -> None:
    task_id = sim_hook.execute_workflow(PROJECT, WORKFLOW).task_id
    simulator.add_fault(
        "GET",
        EXECUTE_PATH,
        status=502,
        body="<html><body>Bad Gateway</body></html>",
        headers={"Content-Type": "text/html"},
    )
    simulator.add_fault("GET", EXECUTE_PATH, status=503, headers={"Retry-After": "2"})
    simulator.add_fault("GET", EXECUTE_PATH, reset_connection=True)
    assert sim_hook.get_workflow_task(WORKFLOW, task_id).task_id == task_id
    assert simulator.count_requests("GET", EXECUTE_PATH) == 4
    assert len(sleeps) == 3
    assert sleeps[1] >= 2


@pytest.mark.parametrize(
    ("status", "body"), [(401, ""), (403, ""), (401, "<html>401 Authorization Required</html>")]
)
def test_auth_faults_are_not_retried(sim_hook: ZadigHook, simulator: Any, status: int, body: str) -> None:
    simulator.add_fault("GET", EXECUTE_PATH, status=status, body=body)
    with pytest.raises(Exception, match=f"HTTP {status}") as excinfo:
        sim_hook.get_workflow_task(WORKFLOW, 1)
    assert "'zadig_default'" in str(excinfo.value)
    assert simulator.count_requests("GET", EXECUTE_PATH) == 1


def test_execute_reset_after_sending_is_ambiguous(sim_hook: ZadigHook, simulator: Any) -> None:
    simulator.add_fault("POST", EXECUTE_PATH, reset_connection=True)
    with pytest.raises(ZadigAmbiguousRequestError, match="No task newer than task 0"):
        sim_hook.execute_workflow(PROJECT, WORKFLOW)
    assert simulator.count_requests("POST", EXECUTE_PATH) == 1
    assert sim_hook.list_workflow_tasks(WORKFLOW, PROJECT).total == 0


def test_execute_timeout_adopts_the_task_it_created(
    simulator: Any, define_connection: Callable[..., str]
) -> None:
    # The simulator responds to the POST 2.5 s late and creates the task then, after the client's 2 s
    # timeout. Each task-list read takes 1 s, so the check that follows the timeout finds the task.
    conn_id = define_connection(
        "zadig_slow", host=simulator.url, password=simulator.token, extra={"timeout": 2}
    )
    simulator.add_fault("GET", f"/openapi/workflows/custom/{WORKFLOW}/tasks", status=None, delay=1.0, times=2)
    simulator.add_fault("POST", EXECUTE_PATH, status=None, delay=2.5)
    result = ZadigHook(conn_id).execute_workflow(PROJECT, WORKFLOW)
    assert result.task_id == 1
    assert simulator.count_requests("POST", EXECUTE_PATH) == 1
    assert simulator.get_task(WORKFLOW, 1)["task_creator"] == "admin"


def test_approve_of_a_task_without_pending_approval(sim_hook: ZadigHook, simulator: Any) -> None:
    task_id = sim_hook.execute_workflow(PROJECT, WORKFLOW).task_id
    simulator.set_task_status(WORKFLOW, task_id, "failed")
    with pytest.raises(ZadigNotFoundError, match="no pending approval 'job-1-0-0-approval'"):
        sim_hook.approve_workflow_task(WORKFLOW, task_id, "approval")
    assert simulator.count_requests("POST", APPROVE_PATH) == 1


async def test_async_client_reads_and_cancels(
    sim_client: ZadigAsyncClient, sim_hook: ZadigHook, simulator: Any
) -> None:
    task_id = sim_hook.execute_workflow(PROJECT, WORKFLOW).task_id
    task = await sim_client.get_workflow_task(WORKFLOW, task_id)
    assert task.task_id == task_id
    page = await sim_client.list_workflow_tasks(WORKFLOW, PROJECT)
    assert page.total == 1
    assert await sim_client.cancel_workflow_task(WORKFLOW, task_id) is True
    simulator.wait_for_task_status(WORKFLOW, task_id, "cancelled")
    with pytest.raises(ZadigNotFoundError):
        await sim_client.get_workflow_task(WORKFLOW, 999)
    simulator.add_fault("GET", EXECUTE_PATH, status=502, body="<html>Bad Gateway</html>")
    with pytest.raises(Exception, match="HTTP 502"):
        await sim_client.get_workflow_task(WORKFLOW, task_id)
    assert simulator.count_requests("GET", EXECUTE_PATH) == 3


async def test_async_client_cancel_of_passed_task(
    sim_client: ZadigAsyncClient, sim_hook: ZadigHook, simulator: Any
) -> None:
    task_id = sim_hook.execute_workflow(PROJECT, WORKFLOW).task_id
    simulator.set_task_status(WORKFLOW, task_id, "passed")
    assert await sim_client.cancel_workflow_task(WORKFLOW, task_id) is False


async def test_async_client_bad_token(simulator: Any, define_connection: Callable[..., str]) -> None:
    client = await ZadigAsyncClient.from_conn_id(
        define_connection("zadig_async_bad", host=simulator.url, password="nope")
    )
    try:
        with pytest.raises(ZadigAuthenticationError, match="'zadig_async_bad'"):
            await client.get_workflow_task(WORKFLOW, 1)
    finally:
        await close_shared_sessions()


async def test_both_clients_on_a_closed_port(define_connection: Callable[..., str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    conn_id = define_connection(
        "zadig_closed", host=f"http://127.0.0.1:{port}", extra={"max_retries": 1, "timeout": 2}
    )
    with pytest.raises(ZadigConnectionError, match=f"no response from Zadig at http://127.0.0.1:{port}"):
        ZadigHook(conn_id).get_workflow_task(WORKFLOW, 1)
    client = await ZadigAsyncClient.from_conn_id(conn_id)
    try:
        with pytest.raises(ZadigConnectionError, match="no response from Zadig"):
            await client.get_workflow_task(WORKFLOW, 1)
    finally:
        await close_shared_sessions()
