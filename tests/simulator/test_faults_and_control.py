"""Request log, fault injection and the HTTP control plane."""

from __future__ import annotations

import time

import pytest
import requests

DETAIL_PATH = "/openapi/workflows/custom/task"
LIST_PATH = "/openapi/workflows"
PARAMS = {"projectKey": "lilian-test"}


class TestRequestLog:
    def test_records_requests(self, api, simulator):
        api.post(DETAIL_PATH, params={"x": "1"}, json={"workflow_key": "build-images"})
        recorded = simulator.requests[-1]
        assert recorded.method == "POST"
        assert recorded.path == DETAIL_PATH
        assert recorded.query == {"x": "1"}
        assert recorded.headers["authorization"] == f"Bearer {simulator.token}"
        assert recorded.json == {"workflow_key": "build-images"}
        assert recorded.body_text == '{"workflow_key": "build-images"}'

    def test_count_requests(self, api, simulator):
        api.get(LIST_PATH, params=PARAMS)
        api.get(LIST_PATH, params=PARAMS)
        assert simulator.count_requests("get", LIST_PATH) == 2
        assert simulator.count_requests("POST", LIST_PATH) == 0

    def test_unauthenticated_requests_are_recorded(self, simulator):
        requests.get(simulator.url + LIST_PATH, timeout=5)
        assert simulator.count_requests("GET", LIST_PATH) == 1

    def test_reset_clears_log(self, api, simulator):
        api.get(LIST_PATH, params=PARAMS)
        simulator.reset()
        assert simulator.requests == []


class TestFaults:
    def test_html_502_once(self, api, simulator):
        body = "<html><body>Bad Gateway</body></html>"
        simulator.add_fault("GET", LIST_PATH, status=502, body=body, headers={"Content-Type": "text/html"})
        first = api.get(LIST_PATH, params=PARAMS)
        assert first.status_code == 502
        assert first.text == body
        assert first.headers["Content-Type"] == "text/html"
        assert api.get(LIST_PATH, params=PARAMS).status_code == 200

    def test_retry_after_header(self, api, simulator):
        simulator.add_fault("GET", LIST_PATH, status=503, headers={"Retry-After": "5"})
        response = api.get(LIST_PATH, params=PARAMS)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.content == b""

    def test_times_and_wildcard_method(self, api, simulator):
        simulator.add_fault("*", LIST_PATH, status=504, times=2)
        statuses = [api.get(LIST_PATH, params=PARAMS).status_code for _ in range(3)]
        assert statuses == [504, 504, 200]

    def test_forever_until_cleared(self, api, simulator):
        simulator.add_fault("GET", LIST_PATH, status=500, times=None)
        assert [api.get(LIST_PATH, params=PARAMS).status_code for _ in range(3)] == [500, 500, 500]
        simulator.clear_faults()
        assert api.get(LIST_PATH, params=PARAMS).status_code == 200

    def test_json_body_gets_json_type(self, api, simulator):
        simulator.add_fault("GET", LIST_PATH, status=400, body='{"code":6161}')
        response = api.get(LIST_PATH, params=PARAMS)
        assert response.headers["Content-Type"].startswith("application/json")

    def test_connection_reset(self, api, simulator):
        simulator.add_fault("GET", LIST_PATH, reset_connection=True)
        with pytest.raises(requests.ConnectionError):
            api.get(LIST_PATH, params=PARAMS)
        assert api.get(LIST_PATH, params=PARAMS).status_code == 200

    def test_delay_then_real_response(self, api, simulator):
        simulator.add_fault("GET", LIST_PATH, status=None, delay=0.3)
        started = time.monotonic()
        response = api.get(LIST_PATH, params=PARAMS)
        assert response.status_code == 200
        assert time.monotonic() - started >= 0.3

    def test_delay_causes_client_timeout(self, api, simulator):
        simulator.add_fault("GET", LIST_PATH, status=None, delay=1.0)
        with pytest.raises(requests.Timeout):
            requests.get(simulator.url + LIST_PATH, params=PARAMS, timeout=0.2)

    def test_fault_applies_before_token_check(self, simulator):
        simulator.add_fault("GET", LIST_PATH, status=502)
        assert requests.get(simulator.url + LIST_PATH, timeout=5).status_code == 502


class TestControlPlane:
    def _control(self, simulator, method, path, **kwargs):
        return requests.request(method, f"{simulator.url}/_simulator/{path}", timeout=5, **kwargs)

    def test_health(self, simulator):
        body = self._control(simulator, "GET", "health").json()
        assert body["status"] == "ok"
        assert body["version"] == "3.4.0"

    def test_requests_endpoint(self, api, simulator):
        api.get(LIST_PATH, params=PARAMS)
        recorded = self._control(simulator, "GET", "requests").json()
        assert [(r["method"], r["path"]) for r in recorded] == [("GET", LIST_PATH)]
        assert self._control(simulator, "DELETE", "requests").ok
        assert simulator.requests == []

    def test_faults_endpoint(self, api, simulator):
        fault = {"method": "GET", "path": LIST_PATH, "status": 503, "headers": {"Retry-After": "1"}}
        assert self._control(simulator, "POST", "faults", json=fault).ok
        assert len(self._control(simulator, "GET", "faults").json()) == 1
        assert api.get(LIST_PATH, params=PARAMS).status_code == 503

    def test_task_status_endpoint(self, api, simulator):
        task_id = api.execute()
        response = self._control(
            simulator, "POST", f"tasks/build-images/{task_id}/status", json={"status": "failed"}
        )
        assert response.ok
        assert api.task("build-images", task_id)["status"] == "failed"
        missing = self._control(simulator, "POST", "tasks/build-images/99/status", json={"status": "failed"})
        assert missing.status_code == 404

    def test_job_outcome_endpoint(self, api, simulator):
        outcome = {
            "workflow_key": "build-images",
            "job_name": "build-myapps",
            "status": "failed",
            "error": "boom",
        }
        assert self._control(simulator, "POST", "job-outcomes", json=outcome).ok
        task_id = api.execute()
        detail = simulator.wait_for_task_status("build-images", task_id, "failed")
        assert detail["stages"][0]["jobs"][0]["error"] == "boom"

    def test_settings_endpoint(self, simulator):
        response = self._control(simulator, "PUT", "settings", json={"license": "basic"})
        assert response.json()["license"] == "basic"
        assert simulator.settings.license == "basic"
        invalid = self._control(simulator, "PUT", "settings", json={"version": "9.9"})
        assert invalid.status_code == 400

    def test_reset_endpoint(self, api, simulator):
        api.execute()
        assert self._control(simulator, "POST", "reset").ok
        assert simulator.requests == []
        assert api.get(DETAIL_PATH, params={"taskId": 1, "workflowKey": "build-images"}).status_code == 500

    def test_tickets_endpoint(self, api, simulator):
        body = {"project_key": "simple-service-demo", "approval_id": "A-1"}
        assert api.post("/openapi/ticket/approval", json=body).ok
        assert [t["approval_id"] for t in self._control(simulator, "GET", "tickets").json()] == ["A-1"]

    def test_control_plane_is_not_logged(self, simulator):
        self._control(simulator, "GET", "health")
        assert simulator.requests == []
