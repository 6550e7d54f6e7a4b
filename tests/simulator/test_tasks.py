"""Executing workflows, and the task list and detail."""

from __future__ import annotations

import time

import pytest
from zadig_api import DEMO_PROJECT, WAIT_SECONDS, job_statuses, simple_workflow

TASK_PATH = "/openapi/workflows/custom/task"


def _record_statuses(api, workflow_key, task_id, until):
    """Poll the detail and return every distinct (task status, job statuses) seen until ``until`` holds."""
    seen = []
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        detail = api.task(workflow_key, task_id)
        state = (detail.get("status", ""), tuple(job_statuses(detail).values()))
        if not seen or seen[-1] != state:
            seen.append(state)
        if until(detail):
            return seen
        time.sleep(0.002)
    raise AssertionError(f"condition not reached; seen {seen}")


class TestExecute:
    def test_response_and_ids(self, api):
        response = api.post(TASK_PATH, json={"workflow_key": "build-images", "project_key": DEMO_PROJECT})
        assert response.json() == {
            "project_name": DEMO_PROJECT,
            "workflow_name": "build-images",
            "task_id": 1,
        }
        assert api.execute() == 2

    def test_project_key_is_not_compared(self, api):
        response = api.post(TASK_PATH, json={"workflow_key": "build-images", "project_key": "other"})
        assert response.json()["project_name"] == DEMO_PROJECT

    def test_task_walks_through_statuses(self, api, simulator):
        simulator.settings.step_seconds = 0.1
        assert api.create_workflow(simple_workflow("walk")).ok
        task_id = api.execute("walk")
        seen = _record_statuses(api, "walk", task_id, lambda d: d.get("status") == "passed")
        expected = [
            ("waiting", ("",)),
            ("running", ("",)),
            ("running", ("prepare",)),
            ("running", ("running",)),
            ("running", ("passed",)),
            ("passed", ("passed",)),
        ]
        assert seen == expected

    def test_detail_shape_while_waiting(self, api, simulator):
        simulator.settings.workflow_concurrency = 0
        task_id = api.execute(parameters=[{"name": "env", "type": "choice", "value": "prod"}])
        detail = api.task("build-images", task_id)
        assert detail["status"] == "waiting"
        assert detail["task_creator"] == "admin"
        assert detail["task_revoker"] == "admin"
        assert "end_time" not in detail
        assert detail["params"][0]["value"] == "prod"
        assert detail["stages"][0]["status"] == ""
        assert "start_time" not in detail["stages"][0]
        assert [job["name"] for stage in detail["stages"] for job in stage["jobs"]] == [
            "job-0-0-0-build-myapps",
            "job-1-0-0-approval",
            "job-1-1-0-deploy-myapps",
        ]

    def test_approval_spec_in_detail(self, api):
        task_id = api.execute()
        detail = api.task("build-images", task_id)
        spec = detail["stages"][1]["jobs"][0]["spec"]
        assert spec["type"] == "native"
        assert spec["timeout"] == 60
        native = spec["native_approval"]
        assert native["needed_approvers"] == 1
        assert native["approve_users"][0]["user_name"] == "admin"
        assert native["approve_users"][0]["reject_or_approve"] == ""

    def test_creator_is_token_user(self, api_as):
        alice = api_as("alice")
        task_id = alice.execute()
        assert alice.task("build-images", task_id)["task_creator"] == "alice"

    def test_workflow_not_found(self, api):
        response = api.post(TASK_PATH, json={"workflow_key": "Build & Deploy", "project_key": "demo"})
        assert response.status_code == 400
        expected = {
            "type": "error",
            "message": "查询workflow失败",
            "code": 6542,
            "description": "mongo: no documents in result",
            "extra": {},
        }
        assert response.json() == expected

    def test_unknown_param_is_plain_500(self, api):
        body = {
            "workflow_key": "build-images",
            "parameters": [{"name": "colour", "type": "string", "value": "x"}],
        }
        response = api.post(TASK_PATH, json=body)
        assert response.status_code == 500
        expected = "param colour not found in workflow build-images"
        assert response.json() == {"code": 500, "message": "Internal Error: ", "description": expected}

    def test_bad_choice_is_plain_500(self, api):
        body = {
            "workflow_key": "build-images",
            "parameters": [{"name": "env", "type": "choice", "value": "prod2"}],
        }
        response = api.post(TASK_PATH, json=body)
        assert response.status_code == 500
        assert response.json()["description"] == "invalid choice value prod2 for param env"

    def test_non_string_value_is_bad_request(self, api):
        body = {
            "workflow_key": "build-images",
            "parameters": [{"name": "branch", "type": "string", "value": 3}],
        }
        response = api.post(TASK_PATH, json=body)
        assert response.status_code == 400
        assert response.json()["code"] == 400
        assert "cannot unmarshal number" in response.json()["description"]

    def test_invalid_json_is_bad_request(self, api):
        response = api.post(TASK_PATH, data=b"{not json", headers={"Content-Type": "application/json"})
        assert response.status_code == 400
        assert response.json()["code"] == 400

    def test_disabled_workflow(self, api):
        assert api.create_workflow(simple_workflow("off", disabled=True)).ok
        response = api.post(TASK_PATH, json={"workflow_key": "off"})
        assert response.json()["code"] == 6160
        assert response.json()["description"] == "workflow is disabled"

    def test_approval_ticket_workflow(self, api):
        assert api.create_workflow(simple_workflow("ticketed", enable_approval_ticket=True)).ok
        response = api.post(TASK_PATH, json={"workflow_key": "ticketed"})
        assert response.json()["code"] == 6160

    def test_input_for_job_without_inputs_is_500(self, api):
        body = {"workflow_key": "build-images", "inputs": [{"job_name": "approval", "job_type": "approval"}]}
        response = api.post(TASK_PATH, json=body)
        assert response.status_code == 500
        assert response.json()["description"] == "undefined job type of type:approval"

    def test_viewer_is_forbidden(self, api_as):
        response = api_as("victor", role="viewer").post(TASK_PATH, json={"workflow_key": "build-images"})
        assert response.status_code == 403
        assert response.content == b""


class TestInputsByVersion:
    INPUTS = [
        {"job_name": "say-hello", "job_type": "plugin", "parameters": {"kv": [{"key": "A", "value": "1"}]}}
    ]
    JOBS = [
        {"name": "say-hello", "type": "plugin", "spec": {}},
        {"name": "other", "type": "plugin", "spec": {}},
    ]

    def test_340_runs_unlisted_jobs(self, api):
        assert api.create_workflow(simple_workflow("two-jobs", jobs=self.JOBS)).ok
        task_id = api.execute("two-jobs", inputs=self.INPUTS)
        detail = api.task("two-jobs", task_id)
        assert job_statuses(detail) == {"say-hello": "", "other": ""}
        assert detail["stages"][0]["jobs"][0]["spec"]["kv"] == [{"key": "A", "value": "1"}]

    def test_341_skips_unlisted_jobs(self, api, simulator):
        simulator.settings.version = "3.4.1"
        assert api.create_workflow(simple_workflow("two-jobs", jobs=self.JOBS)).ok
        task_id = api.execute("two-jobs", inputs=self.INPUTS)
        assert job_statuses(api.task("two-jobs", task_id)) == {"say-hello": "", "other": "skipped"}
        simulator.wait_for_task_status("two-jobs", task_id, "passed")

    def test_341_misspelt_input_skips_everything(self, api, simulator):
        simulator.settings.version = "3.4.1"
        assert api.create_workflow(simple_workflow("two-jobs", jobs=self.JOBS)).ok
        inputs = [{"job_name": "say-helo", "job_type": "plugin", "parameters": {}}]
        task_id = api.execute("two-jobs", inputs=inputs)
        detail = simulator.wait_for_task_status("two-jobs", task_id, "passed")
        assert job_statuses(detail) == {"say-hello": "skipped", "other": "skipped"}
        assert detail["stages"][0]["status"] == "skipped"


class TestTaskList:
    def _list(self, api, **params):
        query = {"projectKey": DEMO_PROJECT, **params}
        return api.get("/openapi/workflows/custom/build-images/tasks", params=query)

    @pytest.fixture
    def twelve_tasks(self, api, simulator):
        simulator.settings.workflow_concurrency = 0
        return [api.execute() for _ in range(12)]

    def test_default_page_size_is_10(self, api, twelve_tasks):
        body = self._list(api).json()
        assert body["total"] == 12
        assert [task["task_id"] for task in body["workflow_tasks"]] == list(range(12, 2, -1))

    def test_second_page(self, api, twelve_tasks):
        body = self._list(api, pageNum=2, pageSize=5).json()
        assert [task["task_id"] for task in body["workflow_tasks"]] == [7, 6, 5, 4, 3]

    def test_page_size_zero_returns_all(self, api, twelve_tasks):
        assert len(self._list(api, pageSize=0).json()["workflow_tasks"]) == 12

    def test_page_num_zero_returns_all_oldest_first(self, api, twelve_tasks):
        tasks = self._list(api, pageNum=0, pageSize=3).json()["workflow_tasks"]
        assert [task["task_id"] for task in tasks] == list(range(1, 13))

    def test_item_shape_has_no_params(self, api, twelve_tasks):
        item = self._list(api, pageSize=1).json()["workflow_tasks"][0]
        assert set(item) == {
            "workflow_key",
            "workflow_name",
            "project_key",
            "task_id",
            "create_time",
            "task_creator",
            "start_time",
            "end_time",
            "status",
        }
        assert item["end_time"] == 0

    def test_wrong_project_lists_nothing(self, api, twelve_tasks):
        response = api.get("/openapi/workflows/custom/build-images/tasks", params={"projectKey": "other"})
        assert response.json() == {"total": 0, "workflow_tasks": []}

    def test_non_integer_page_is_empty_400(self, api):
        response = self._list(api, pageNum="abc")
        assert response.status_code == 400
        assert response.content == b""

    def test_unknown_workflow_lists_nothing(self, api):
        response = api.get("/openapi/workflows/custom/nope/tasks", params={"projectKey": DEMO_PROJECT})
        assert response.json() == {"total": 0, "workflow_tasks": []}


class TestTaskDetail:
    def test_not_found_is_plain_500(self, api):
        response = api.get(TASK_PATH, params={"taskId": 99, "workflowKey": "build-images"})
        assert response.status_code == 500
        assert response.json()["message"] == "Internal Error: "

    def test_missing_params_is_plain_500(self, api):
        assert api.get(TASK_PATH).status_code == 500

    def test_non_integer_task_id_is_empty_400(self, api):
        response = api.get(TASK_PATH, params={"taskId": "abc", "workflowKey": "build-images"})
        assert response.status_code == 400
        assert response.content == b""
