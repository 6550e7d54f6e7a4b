"""Cancel, retry and remark a task."""

from __future__ import annotations

import pytest
from zadig_api import DEMO_PROJECT, job_statuses, simple_workflow

TASK_PATH = "/openapi/workflows/custom/task"


def _cancel(api, task_id, workflow_key="build-images"):
    return api.delete(TASK_PATH, params={"taskId": task_id, "workflowKey": workflow_key})


def _retry(api, task_id, workflow_key="build-images"):
    return api.post(
        f"/openapi/workflows/custom/{workflow_key}/task/{task_id}", params={"projectKey": "ignored"}
    )


class TestCancel:
    def test_cancel_waiting_task(self, api, simulator):
        simulator.settings.workflow_concurrency = 0
        task_id = api.execute()
        assert _cancel(api, task_id).json() == {"message": "success"}
        detail = api.task("build-images", task_id)
        assert detail["status"] == "cancelled"
        assert "end_time" not in detail

    def test_cancel_running_task(self, api, api_as):
        task_id = api.execute()
        api.wait_for_job("build-images", task_id, "approval", "wait_for_approval")
        assert _cancel(api_as("bob"), task_id).ok
        detail = api.task("build-images", task_id)
        assert detail["status"] == "cancelled"
        assert detail["task_revoker"] == "bob"
        assert detail["stages"][1]["status"] == "cancelled"
        assert job_statuses(detail) == {
            "build-myapps": "passed",
            "approval": "cancelled",
            "deploy-myapps": "",
        }
        assert detail["end_time"] > 0

    @pytest.mark.parametrize("status", ["failed", "timeout", "reject", "cancelled"])
    def test_cancel_finished_unsuccessful_task(self, api, simulator, status):
        task_id = api.execute()
        simulator.set_task_status("build-images", task_id, status)
        assert _cancel(api, task_id).ok
        assert api.task("build-images", task_id)["status"] == "cancelled"

    def test_cancel_passed_task(self, api, simulator):
        task_id = api.execute()
        simulator.set_task_status("build-images", task_id, "passed")
        response = _cancel(api, task_id)
        assert response.status_code == 400
        expected = {
            "type": "error",
            "message": "取消工作流任务失败",
            "code": 6163,
            "description": f"task: build-images:{task_id} is passed, cannot cancel",
            "extra": {},
        }
        assert response.json() == expected

    def test_cancel_missing_task(self, api):
        response = _cancel(api, 20)
        assert response.status_code == 400
        assert response.json()["code"] == 6163
        assert response.json()["description"] == "mongo: no documents in result"

    def test_ids_in_body_only_are_not_read(self, api, simulator):
        task_id = api.execute()
        response = api.delete(TASK_PATH, json={"taskId": task_id, "workflowKey": "build-images"})
        assert response.json()["code"] == 6163
        assert api.task("build-images", task_id)["status"] != "cancelled"

    def test_non_integer_task_id_is_empty_400(self, api):
        response = api.delete(TASK_PATH, params={"taskId": "x", "workflowKey": "build-images"})
        assert response.status_code == 400
        assert response.content == b""


class TestRetry:
    def test_retry_failed_task_reruns_failed_job(self, api, simulator):
        assert api.create_workflow(simple_workflow("flaky")).ok
        simulator.set_job_outcome("flaky", "say-hello", "failed", "exit code 1")
        task_id = api.execute("flaky")
        failed = simulator.wait_for_task_status("flaky", task_id, "failed")
        assert failed["stages"][0]["jobs"][0]["error"] == "exit code 1"
        simulator.set_job_outcome("flaky", "say-hello", "passed")
        assert _retry(api, task_id, "flaky").json() == {"message": "success"}
        retried = api.task("flaky", task_id)
        assert retried["status"] == "waiting"
        assert retried["is_restart"] is True
        assert job_statuses(retried) == {"say-hello": ""}
        simulator.wait_for_task_status("flaky", task_id, "passed")

    def test_retry_keeps_passed_jobs_and_task_id(self, api, simulator):
        task_id = api.execute()
        api.wait_for_job("build-images", task_id, "approval", "wait_for_approval")
        assert _cancel(api, task_id).ok
        assert _retry(api, task_id).ok
        detail = api.task("build-images", task_id)
        assert job_statuses(detail) == {"build-myapps": "passed", "approval": "", "deploy-myapps": ""}
        listing = api.get("/openapi/workflows/custom/build-images/tasks", params={"projectKey": DEMO_PROJECT})
        assert listing.json()["total"] == 1
        api.wait_for_job("build-images", task_id, "approval", "wait_for_approval")

    @pytest.mark.parametrize("status", ["passed", "running", "waiting"])
    def test_retry_refused(self, api, simulator, status):
        task_id = api.execute()
        simulator.set_task_status("build-images", task_id, status)
        response = _retry(api, task_id)
        assert response.status_code == 500
        expected = {"code": 500, "message": "Internal Error: ", "description": "工作流任务状态无法重试"}
        assert response.json() == expected

    def test_retry_missing_task(self, api):
        response = _retry(api, 7)
        assert response.status_code == 400
        assert response.json()["code"] == 6161
        assert response.json()["message"] == "获取工作流任务失败"

    def test_retry_non_integer_id(self, api):
        response = _retry(api, "abc")
        assert response.status_code == 400
        assert response.json()["description"] == "taksID is invalid"


class TestRemark:
    def _put(self, client, task_id, remark, workflow_key="build-images"):
        return client.put(f"/openapi/workflows/custom/{workflow_key}/task/{task_id}", json={"remark": remark})

    def test_set_remark(self, api):
        task_id = api.execute()
        assert self._put(api, task_id, "run-42").json() == {"message": "success"}
        assert api.task("build-images", task_id)["remark"] == "run-42"

    def test_empty_remark_keeps_old_one(self, api):
        task_id = api.execute()
        assert self._put(api, task_id, "first").ok
        assert self._put(api, task_id, "").ok
        assert api.task("build-images", task_id)["remark"] == "first"

    def test_errors(self, api):
        missing_workflow = self._put(api, 1, "x", workflow_key="nope")
        assert missing_workflow.status_code == 400
        assert missing_workflow.json()["description"] == "查询workflow失败: mongo: no documents in result"
        assert self._put(api, "abc", "x").json()["description"] == "invalid task id"
        missing_task = self._put(api, 5, "x")
        assert missing_task.status_code == 500
        expected = "cannot find workflow task, workflow name: build-images, task id: 5"
        assert missing_task.json()["description"] == expected

    def test_viewer_is_forbidden(self, api, api_as):
        task_id = api.execute()
        assert self._put(api_as("victor", role="viewer"), task_id, "x").status_code == 403
