"""Workflow views and pre-approval tickets."""

from __future__ import annotations

import pytest

VIEW_PATH = "/openapi/workflows/view"
TICKET_PATH = "/openapi/ticket/approval"


def _views(api, project_key="lilian-test"):
    return api.get(VIEW_PATH, params={"projectKey": project_key}).json()


def _members(api, name, project_key="lilian-test"):
    view = next(view for view in _views(api, project_key) if view["name"] == name)
    return [(w["workflow_key"], w["workflow_type"]) for w in view["workflows"]]


def _update(api, name, entries, project_key="lilian-test"):
    body = {
        "workflow_list": [{"workflow_key": k, "workflow_type": "custom", "enabled": e} for k, e in entries]
    }
    return api.put(f"{VIEW_PATH}/{name}", params={"projectKey": project_key}, json=body)


class TestViews:
    def test_list_seed_view(self, api):
        expected = [
            {
                "name": "test-view",
                "project_key": "lilian-test",
                "workflows": [{"workflow_key": "xiaxianfuwu", "workflow_type": "custom"}],
                "update_time": 1689329334,
                "update_by": "admin",
            }
        ]
        assert _views(api) == expected

    def test_list_needs_project_key(self, api):
        response = api.get(VIEW_PATH)
        assert response.status_code == 400
        assert response.json()["description"] == "projectKey is required"

    def test_create_and_sort_by_name_descending(self, api):
        body = {
            "project_key": "lilian-test",
            "name": "zeta",
            "workflow_list": [{"workflow_key": "build-deploy", "workflow_type": "custom", "enabled": False}],
        }
        assert api.post(VIEW_PATH, json=body).json() == {"message": "success"}
        assert [view["name"] for view in _views(api)] == ["zeta", "test-view"]
        assert _members(api, "zeta") == [("build-deploy", "custom")]

    def test_create_errors(self, api):
        base = {"project_key": "lilian-test", "name": "v", "workflow_list": []}
        cases = [
            ({**base, "project_key": ""}, "projectKey cannot be empty"),
            ({**base, "name": ""}, "view name cannot be empty"),
            (
                {**base, "workflow_list": [{"workflow_key": "a", "workflow_type": "common_workflow"}]},
                "workflow type must be custom or product",
            ),
        ]
        for body, description in cases:
            response = api.post(VIEW_PATH, json=body)
            assert response.status_code == 400
            assert response.json()["description"] == description

    def test_create_duplicate(self, api):
        response = api.post(VIEW_PATH, json={"project_key": "lilian-test", "name": "test-view"})
        assert response.status_code == 400
        assert response.json()["code"] == 6892
        assert response.json()["description"] == "mongo duplicate key error"

    def test_create_bad_json_is_empty_400(self, api):
        response = api.post(VIEW_PATH, json={"project_key": "lilian-test", "name": "v", "workflow_list": "a"})
        assert response.status_code == 400
        assert response.content == b""

    def test_member_cannot_create(self, api_as):
        response = api_as("alice").post(VIEW_PATH, json={"project_key": "lilian-test", "name": "v"})
        assert response.status_code == 403
        assert response.content == b""

    def test_update_merges(self, api):
        assert _update(
            api, "test-view", [("build-deploy", True), ("xiaxianfuwu", False), ("ghost", False)]
        ).ok
        assert _members(api, "test-view") == [("build-deploy", "custom")]
        assert _update(api, "test-view", [("xiaxianfuwu", True)]).ok
        assert _members(api, "test-view") == [("xiaxianfuwu", "custom"), ("build-deploy", "custom")]

    def test_update_twice_is_stable(self, api):
        for _ in range(2):
            assert _update(api, "test-view", [("just-deploy", True), ("xiaxianfuwu", False)]).ok
        assert _members(api, "test-view") == [("just-deploy", "custom")]

    def test_update_keeps_update_time(self, api):
        assert _update(api, "test-view", [("just-deploy", True)]).ok
        assert _views(api)[0]["update_time"] == 1689329334

    def test_update_errors(self, api):
        no_project = api.put(f"{VIEW_PATH}/test-view", json={"workflow_list": []})
        assert no_project.json()["description"] == "projectKey cannot be empty"
        missing = _update(api, "release", [("a", True)], project_key="demo")
        assert missing.status_code == 500
        assert missing.json()["description"] == "failed to find workflow view release for project demo"
        duplicated = _update(api, "test-view", [("a", True), ("a", False)])
        assert duplicated.status_code == 500
        assert duplicated.json()["description"] == "workflow name duplicated"
        body = {"workflow_list": [{"workflow_key": "a", "workflow_type": "common_workflow", "enabled": True}]}
        bad_type = api.put(f"{VIEW_PATH}/test-view", params={"projectKey": "lilian-test"}, json=body)
        assert bad_type.json()["description"] == "workflow type must be custom or product"

    def test_delete(self, api):
        assert api.delete(f"{VIEW_PATH}/test-view", params={"projectKey": "lilian-test"}).ok
        assert _views(api) == []
        again = api.delete(f"{VIEW_PATH}/test-view", params={"projectKey": "lilian-test"})
        assert again.status_code == 400
        expected = {
            "code": 6894,
            "description": "find workflow view error: mongo: no documents in result",
            "extra": {},
            "message": "删除视图失败",
            "type": "error",
        }
        assert again.json() == expected

    def test_delete_needs_project_key(self, api):
        assert api.delete(f"{VIEW_PATH}/test-view").json()["description"] == "projectKey is required"


class TestTickets:
    BODY = {
        "project_key": "simple-service-demo",
        "approval_id": "CHG-1",
        "status": 1,
        "envs": ["prod"],
        "services": [{"service_name": "myapp", "service_module": "myapp-1"}],
        "users": [{"name": "Ann", "email": "ann@example.com"}],
        "execution_window_start": 100,
        "execution_window_end": 200,
    }

    def test_create(self, api, simulator):
        assert api.post(TICKET_PATH, json=self.BODY).json() == {"message": "success"}
        ticket = simulator.tickets[0]
        assert ticket["approval_id"] == "CHG-1"
        assert ticket["envs"] == ["prod"]
        assert ticket["create_time"] > 0

    def test_duplicate_approval_id(self, api):
        assert api.post(TICKET_PATH, json=self.BODY).ok
        response = api.post(TICKET_PATH, json=self.BODY)
        assert response.status_code == 400
        assert response.json()["code"] == 7100
        assert "E11000 duplicate key error" in response.json()["description"]

    @pytest.mark.parametrize(
        ("change", "description"),
        [
            ({"approval_id": ""}, "approval_id cannot be empty"),
            ({"project_key": ""}, "project_key cannot be empty"),
            ({"execution_window_start": 300}, "invalid time window: start time greater than end time"),
        ],
    )
    def test_invalid(self, api, change, description):
        response = api.post(TICKET_PATH, json={**self.BODY, **change})
        assert response.status_code == 400
        assert response.json()["code"] == 400
        assert response.json()["description"] == description

    def test_open_ended_window(self, api):
        assert api.post(TICKET_PATH, json={**self.BODY, "execution_window_end": 0}).ok

    def test_envs_as_string_is_empty_400(self, api):
        response = api.post(TICKET_PATH, json={**self.BODY, "envs": "prod"})
        assert response.status_code == 400
        assert response.content == b""

    def test_unknown_project(self, api):
        response = api.post(TICKET_PATH, json={**self.BODY, "project_key": "ghost"})
        assert response.json()["code"] == 7100
        assert response.json()["description"].startswith("failed to find project: ")

    def test_basic_license(self, api, simulator):
        simulator.settings.license = "basic"
        response = api.post(TICKET_PATH, json=self.BODY)
        assert response.status_code == 400
        assert response.json()["code"] == 7050
        assert response.json()["message"] == "用户许可证不可用，请检查许可证后重试"
