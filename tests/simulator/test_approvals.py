"""Native approval jobs and the approve call."""

from __future__ import annotations

from zadig_api import job_statuses, simple_workflow

from airflow_provider_zadig.simulator.seed import approval_spec

APPROVAL = "job-1-0-0-approval"


def _pending_task(api):
    task_id = api.execute()
    api.wait_for_job("build-images", task_id, "approval", "wait_for_approval")
    return task_id


def test_task_and_stage_stay_running_while_waiting(api):
    task_id = _pending_task(api)
    detail = api.task("build-images", task_id)
    assert detail["status"] == "running"
    assert detail["stages"][1]["status"] == "running"


def test_approve_lets_task_finish(api, simulator):
    task_id = _pending_task(api)
    response = api.approve(task_id, APPROVAL, comment="LGTM")
    assert response.json() == {"message": "success"}
    detail = simulator.wait_for_task_status("build-images", task_id, "passed")
    vote = detail["stages"][1]["jobs"][0]["spec"]["native_approval"]["approve_users"][0]
    assert vote["reject_or_approve"] == "approve"
    assert vote["comment"] == "LGTM"
    assert vote["operation_time"] > 0
    assert job_statuses(detail) == {"build-myapps": "passed", "approval": "passed", "deploy-myapps": "passed"}


def test_reject_ends_task(api, simulator):
    task_id = _pending_task(api)
    assert api.approve(task_id, APPROVAL, approve=False, comment="not today").ok
    detail = simulator.wait_for_task_status("build-images", task_id, "reject")
    assert detail["stages"][1]["status"] == "reject"
    assert job_statuses(detail) == {"build-myapps": "passed", "approval": "reject", "deploy-myapps": ""}


def test_stage_name_is_not_accepted(api):
    task_id = _pending_task(api)
    response = api.approve(task_id, "deploy")
    assert response.status_code == 400
    expected = {
        "type": "error",
        "message": "批准工作流任务失败",
        "code": 6169,
        "description": "not found approval",
        "extra": {},
    }
    assert response.json() == expected


def test_approve_before_waiting(api, simulator):
    simulator.settings.workflow_concurrency = 0
    task_id = api.execute()
    assert api.approve(task_id, APPROVAL).json()["description"] == "not found approval"


def test_missing_fields(api):
    response = api.post("/openapi/workflows/custom/task/approve", json={"workflow_key": "build-images"})
    assert response.status_code == 400
    expected = "can not find approved workflow: build-images, taskID: 0,jobName: "
    assert response.json()["description"] == expected


def test_bad_json_is_plain_500(api):
    response = api.post("/openapi/workflows/custom/task/approve", json={"task_id": "one"})
    assert response.status_code == 500
    assert response.json()["description"].startswith("failed to unmarshal request data, error: ")


def test_non_approver(api, api_as):
    task_id = _pending_task(api)
    response = api_as("alice").approve(task_id, APPROVAL)
    assert response.json()["description"] == "user alice has no authority to Approve"


def test_second_vote_before_decision(api, simulator):
    task_id = _pending_task(api)
    # Holding the task keeps the engine from deciding the approval between the two calls.
    simulator.set_task_status("build-images", task_id, "running", freeze=True)
    assert api.approve(task_id, APPROVAL).ok
    response = api.approve(task_id, APPROVAL)
    assert response.json()["description"] == "admin have approve already"
    simulator.set_task_status("build-images", task_id, "running", freeze=False)
    simulator.wait_for_task_status("build-images", task_id, "passed")


def test_two_approvers_needed(api, api_as, simulator):
    spec = approval_spec(["admin", "alice"], needed=2)
    jobs = [{"name": "gate", "type": "approval", "spec": spec}]
    assert api.create_workflow(simple_workflow("two-man", jobs=jobs)).ok
    task_id = api.execute("two-man")
    api.wait_for_job("two-man", task_id, "gate", "wait_for_approval")
    body = {"task_id": task_id, "workflow_key": "two-man", "stage_name": "job-0-0-0-gate", "approve": True}
    assert api.post("/openapi/workflows/custom/task/approve", json=body).ok
    again = api.post("/openapi/workflows/custom/task/approve", json=body)
    assert again.json()["description"] == "admin have approve already"
    assert api.task("two-man", task_id)["status"] == "running"
    assert api_as("alice").post("/openapi/workflows/custom/task/approve", json=body).ok
    simulator.wait_for_task_status("two-man", task_id, "passed")


def test_approval_times_out(api, simulator):
    simulator.settings.minute_seconds = 0.05
    jobs = [{"name": "gate", "type": "approval", "spec": approval_spec(["admin"], timeout=1)}]
    assert api.create_workflow(simple_workflow("quick-gate", jobs=jobs)).ok
    task_id = api.execute("quick-gate")
    detail = simulator.wait_for_task_status("quick-gate", task_id, "timeout")
    assert job_statuses(detail) == {"gate": "timeout"}


def test_lark_approval_cannot_be_approved(api):
    spec = {"type": "lark", "timeout": 60, "lark_approval": {"approval_id": "x", "approval_nodes": []}}
    assert api.create_workflow(
        simple_workflow("lark-gate", jobs=[{"name": "gate", "type": "approval", "spec": spec}])
    ).ok
    task_id = api.execute("lark-gate")
    api.wait_for_job("lark-gate", task_id, "gate", "wait_for_approval")
    body = {"task_id": task_id, "workflow_key": "lark-gate", "stage_name": "job-0-0-0-gate", "approve": True}
    response = api.post("/openapi/workflows/custom/task/approve", json=body)
    assert response.json()["description"] == "not found approval"


def test_basic_license_rejects_approval_jobs(api, simulator):
    simulator.settings.license = "basic"
    jobs = [{"name": "gate", "type": "approval", "spec": approval_spec(["admin"])}]
    response = api.create_workflow(simple_workflow("gated", jobs=jobs, concurrency_limit=1))
    assert response.json()["code"] == 7050
