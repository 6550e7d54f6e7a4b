"""A plain ``requests`` client for the simulator's tests, and workflow definitions they create."""

from __future__ import annotations

import time
from typing import Any

import requests

from airflow_provider_zadig.simulator import ZadigSimulator

DEMO_PROJECT = "simple-service-demo"
# Long enough for any step sequence in these tests at the session's 0.02 s per step.
WAIT_SECONDS = 10.0


class ZadigApi:
    """A thin client that sends one token and returns raw ``requests`` responses."""

    def __init__(self, simulator: ZadigSimulator, token: str) -> None:
        self.simulator = simulator
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.simulator.url + path, timeout=10, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def execute(
        self, workflow_key: str = "build-images", project_key: str = DEMO_PROJECT, **body: Any
    ) -> int:
        """Start a task and return its id; fail the test when the server refuses."""
        payload = {"workflow_key": workflow_key, "project_key": project_key, **body}
        response = self.post("/openapi/workflows/custom/task", json=payload)
        assert response.status_code == 200, response.text
        return int(response.json()["task_id"])

    def task(self, workflow_key: str, task_id: int) -> dict[str, Any]:
        response = self.get(
            "/openapi/workflows/custom/task", params={"taskId": task_id, "workflowKey": workflow_key}
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def approve(
        self, task_id: int, job_task_name: str, approve: bool = True, **extra: Any
    ) -> requests.Response:
        body = {
            "task_id": task_id,
            "workflow_key": "build-images",
            "stage_name": job_task_name,
            "approve": approve,
        }
        return self.post("/openapi/workflows/custom/task/approve", json={**body, **extra})

    def create_workflow(self, definition: dict[str, Any], **params: Any) -> requests.Response:
        return self.post("/api/aslan/workflow/v4", json=definition, params=params)

    def wait_for_job(self, workflow_key: str, task_id: int, job_name: str, status: str) -> dict[str, Any]:
        """Poll the detail until the job (by job name) has ``status``; return the detail."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            detail = self.task(workflow_key, task_id)
            jobs = {job["key"]: job["status"] for stage in detail["stages"] for job in stage["jobs"]}
            if jobs.get(job_name) == status:
                return detail
            assert time.monotonic() < deadline, (
                f"job {job_name} is {jobs.get(job_name)!r}, expected {status!r}"
            )
            time.sleep(0.01)


def job_statuses(detail: dict[str, Any]) -> dict[str, str]:
    """Return job name -> status for a task detail."""
    return {job["key"]: job["status"] for stage in detail["stages"] for job in stage["jobs"]}


def simple_workflow(key: str, jobs: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    """Return a one-stage workflow definition in the demo project (one plugin job by default)."""
    jobs = jobs or [{"name": "say-hello", "type": "plugin", "spec": {"plugin": {"name": "hello"}}}]
    definition = {
        "name": key,
        "display_name": key,
        "project": DEMO_PROJECT,
        "concurrency_limit": -1,
        "stages": [{"name": "main", "parallel": False, "jobs": jobs}],
    }
    definition.update(extra)
    return definition
