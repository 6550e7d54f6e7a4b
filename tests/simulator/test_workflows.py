"""Workflow list, detail, delete, create and update."""

from __future__ import annotations

import yaml
from zadig_api import DEMO_PROJECT, simple_workflow


def _keys(response):
    return [item["workflow_key"] for item in response.json()["workflows"]]


class TestListWorkflows:
    def test_lists_project_in_natural_order(self, api):
        response = api.get("/openapi/workflows", params={"projectKey": "lilian-test"})
        assert response.status_code == 200
        assert _keys(response) == ["build-deploy", "just-deploy", "xiaxianfuwu"]

    def test_brief_shape(self, api):
        response = api.get("/openapi/workflows", params={"projectKey": "lilian-test"})
        offline = response.json()["workflows"][2]
        expected = {
            "workflow_key": "xiaxianfuwu",
            "workflow_name": "offline service",
            "update_by": "admin",
            "update_time": 1686193453,
            "type": "custom",
        }
        assert offline == expected

    def test_view_filters(self, api):
        response = api.get(
            "/openapi/workflows", params={"projectKey": "lilian-test", "viewName": "test-view"}
        )
        assert _keys(response) == ["xiaxianfuwu"]

    def test_unknown_view_lists_all(self, api):
        response = api.get("/openapi/workflows", params={"projectKey": "lilian-test", "viewName": "nope"})
        assert len(_keys(response)) == 3

    def test_view_without_enabled_workflows_lists_all(self, api):
        body = {
            "workflow_list": [{"workflow_key": "xiaxianfuwu", "workflow_type": "custom", "enabled": False}]
        }
        assert api.put(
            "/openapi/workflows/view/test-view", params={"projectKey": "lilian-test"}, json=body
        ).ok
        response = api.get(
            "/openapi/workflows", params={"projectKey": "lilian-test", "viewName": "test-view"}
        )
        assert len(_keys(response)) == 3

    def test_missing_project_key(self, api):
        response = api.get("/openapi/workflows")
        assert response.status_code == 400
        expected = {
            "type": "error",
            "message": "Bad Request",
            "code": 400,
            "description": "projectKey is required",
            "extra": {},
        }
        assert response.json() == expected


class TestWorkflowDetail:
    def test_detail_shape(self, api):
        response = api.get(
            "/openapi/workflows/custom/build-deploy/detail", params={"projectKey": "lilian-test"}
        )
        assert response.status_code == 200
        detail = response.json()
        assert detail["workflow_key"] == "build-deploy"
        assert detail["updated_by"] == ""
        assert detail["concurrency_limit"] == 1
        assert [param["name"] for param in detail["params"]] == ["code", "name"]
        assert [stage["name"] for stage in detail["stages"]] == ["build", "deploy"]
        assert all("approval" not in stage for stage in detail["stages"])

    def test_parallel_false_is_omitted(self, api):
        response = api.get(
            "/openapi/workflows/custom/build-images/detail", params={"projectKey": DEMO_PROJECT}
        )
        stages = response.json()["stages"]
        assert all("parallel" not in stage for stage in stages)
        assert [job["name"] for job in stages[1]["jobs"]] == ["approval", "deploy-myapps"]

    def test_choice_param_has_options(self, api):
        response = api.get(
            "/openapi/workflows/custom/build-images/detail", params={"projectKey": DEMO_PROJECT}
        )
        env = response.json()["params"][0]
        assert env["choice_option"] == ["dev", "staging", "prod"]

    def test_project_key_is_echoed(self, api):
        response = api.get("/openapi/workflows/custom/build-images/detail", params={"projectKey": "other"})
        assert response.json()["project_key"] == "other"

    def test_not_found_is_plain_500(self, api):
        response = api.get("/openapi/workflows/custom/nope/detail", params={"projectKey": DEMO_PROJECT})
        assert response.status_code == 500
        expected = {
            "code": 500,
            "message": "Internal Error: ",
            "description": "mongo: no documents in result",
        }
        assert response.json() == expected

    def test_missing_project_key(self, api):
        response = api.get("/openapi/workflows/custom/build-images/detail")
        assert response.status_code == 400
        assert response.json()["description"] == "projectKey is required"


class TestDeleteWorkflow:
    def test_delete(self, api):
        response = api.delete(
            "/openapi/workflows/custom", params={"workflowKey": "just-deploy", "projectKey": "x"}
        )
        assert response.json() == {"message": "success"}
        assert "just-deploy" not in _keys(api.get("/openapi/workflows", params={"projectKey": "lilian-test"}))

    def test_missing_key(self, api):
        response = api.delete("/openapi/workflows/custom")
        assert response.status_code == 400
        assert response.json()["description"] == "workflowKey is required"

    def test_not_found(self, api):
        response = api.delete("/openapi/workflows/custom", params={"workflowKey": "nope"})
        assert response.status_code == 400
        assert response.json()["code"] == 6543
        assert response.json()["message"] == "删除workflow失败"
        assert response.json()["description"] == "mongo: no documents in result"

    def test_member_is_forbidden(self, api_as):
        member = api_as("alice")
        response = member.delete("/openapi/workflows/custom", params={"workflowKey": "just-deploy"})
        assert response.status_code == 403
        assert response.content == b""

    def test_recreated_workflow_restarts_task_ids(self, api):
        definition = simple_workflow("again")
        assert api.create_workflow(definition).ok
        assert api.execute("again") == 1
        assert api.execute("again") == 2
        assert api.delete("/openapi/workflows/custom", params={"workflowKey": "again"}).ok
        listing = api.get("/openapi/workflows/custom/again/tasks", params={"projectKey": DEMO_PROJECT})
        assert listing.json()["total"] == 0
        assert api.create_workflow(definition).ok
        assert api.execute("again") == 1


class TestCreateWorkflow:
    def test_create_from_yaml(self, api):
        body = yaml.safe_dump(simple_workflow("from-yaml", description="made in YAML"))
        response = api.post("/api/aslan/workflow/v4", data=body.encode())
        assert response.json() == {"message": "success"}
        detail = api.get(
            "/openapi/workflows/custom/from-yaml/detail", params={"projectKey": DEMO_PROJECT}
        ).json()
        assert detail["description"] == "made in YAML"
        assert detail["created_by"] == "admin"

    def test_create_from_json(self, api):
        assert api.create_workflow(simple_workflow("from-json")).json() == {"message": "success"}

    def test_view_name_adds_to_view(self, api):
        definition = simple_workflow("in-view", project="lilian-test")
        assert api.create_workflow(definition, viewName="test-view").ok
        views = api.get("/openapi/workflows/view", params={"projectKey": "lilian-test"}).json()
        assert [w["workflow_key"] for w in views[0]["workflows"]] == ["xiaxianfuwu", "in-view"]

    def test_key_taken_in_any_project(self, api):
        response = api.create_workflow(simple_workflow("xiaxianfuwu"))
        assert response.status_code == 400
        assert response.json()["code"] == 6540
        assert response.json()["description"] == "与项目 [lilian-test] 中的工作流 [offline service] 标识相同"

    def test_lint_errors(self, api):
        cases = [
            simple_workflow("no-project", project=""),
            simple_workflow("bad key!"),
            simple_workflow("no-such-project", project="ghost"),
            simple_workflow("bad-job", jobs=[{"name": "Bad_Name", "type": "plugin", "spec": {}}]),
            simple_workflow(
                "dup-job", jobs=[{"name": "a", "type": "plugin"}, {"name": "a", "type": "plugin"}]
            ),
        ]
        for definition in cases:
            response = api.create_workflow(definition)
            assert response.status_code == 400, definition["name"]
            assert response.json()["code"] == 6545, definition["name"]
        assert api.create_workflow(cases[0]).json()["description"] == "project should not be empty"

    def test_unparsable_body(self, api):
        response = api.post("/api/aslan/workflow/v4", data=b"name: [unclosed")
        assert response.status_code == 400
        assert response.json()["code"] == 400

    def test_basic_license_limits_concurrency(self, api, simulator):
        simulator.settings.license = "basic"
        response = api.create_workflow(simple_workflow("limited", concurrency_limit=3))
        assert response.status_code == 400
        assert response.json()["code"] == 7050
        assert api.create_workflow(simple_workflow("limited", concurrency_limit=1)).ok

    def test_basic_license_rejects_missing_limit(self, api, simulator):
        simulator.settings.license = "basic"
        definition = simple_workflow("zero-limit")
        del definition["concurrency_limit"]
        assert api.create_workflow(definition).json()["code"] == 7050

    def test_member_is_forbidden(self, api_as):
        response = api_as("alice").create_workflow(simple_workflow("not-mine"))
        assert response.status_code == 403
        assert response.content == b""


class TestUpdateWorkflow:
    def test_update_replaces_definition(self, api):
        definition = simple_workflow("build-images", display_name="images", description="new")
        response = api.put("/api/aslan/workflow/v4/build-images", data=yaml.safe_dump(definition).encode())
        assert response.json() == {"message": "success"}
        detail = api.get(
            "/openapi/workflows/custom/build-images/detail", params={"projectKey": DEMO_PROJECT}
        ).json()
        assert detail["workflow_name"] == "images"
        assert detail["params"] == []
        assert [stage["name"] for stage in detail["stages"]] == ["main"]

    def test_not_found(self, api):
        response = api.put("/api/aslan/workflow/v4/nope", json=simple_workflow("nope"))
        assert response.status_code == 400
        assert response.json()["code"] == 6542

    def test_display_name_taken_in_project(self, api):
        definition = simple_workflow("just-deploy", project="lilian-test", display_name="offline service")
        response = api.put("/api/aslan/workflow/v4/just-deploy", json=definition)
        assert response.status_code == 400
        assert response.json()["code"] == 6540

    def test_lint_applies(self, api):
        response = api.put(
            "/api/aslan/workflow/v4/build-images", json=simple_workflow("build-images", project="")
        )
        assert response.json()["code"] == 6545
