"""Token checks, unknown routes and methods, and the JSON encoding of responses."""

from __future__ import annotations

import pytest
import requests

LIST_PATH = "/openapi/workflows"
PARAMS = {"projectKey": "lilian-test"}


def test_missing_token_gets_empty_401(simulator):
    response = requests.get(simulator.url + LIST_PATH, params=PARAMS, timeout=5)
    assert response.status_code == 401
    assert response.content == b""


def test_unknown_token_gets_empty_401(simulator):
    headers = {"Authorization": "Bearer not-a-token"}
    response = requests.get(simulator.url + LIST_PATH, params=PARAMS, headers=headers, timeout=5)
    assert response.status_code == 401
    assert response.content == b""


@pytest.mark.parametrize("value", ["{token}", "Bearer  {token}", "Bearer {token} extra"])
def test_header_must_have_two_parts(simulator, value):
    headers = {"Authorization": value.format(token=simulator.token)}
    response = requests.get(simulator.url + LIST_PATH, params=PARAMS, headers=headers, timeout=5)
    assert response.status_code == 401


def test_scheme_word_is_not_checked(simulator):
    headers = {"Authorization": f"Token {simulator.token}"}
    response = requests.get(simulator.url + LIST_PATH, params=PARAMS, headers=headers, timeout=5)
    assert response.status_code == 200


def test_query_token_is_accepted(simulator):
    params = {**PARAMS, "token": simulator.token}
    response = requests.get(simulator.url + LIST_PATH, params=params, timeout=5)
    assert response.status_code == 200


def test_query_token_wins_over_header(simulator):
    params = {**PARAMS, "token": "wrong"}
    headers = {"Authorization": f"Bearer {simulator.token}"}
    response = requests.get(simulator.url + LIST_PATH, params=params, headers=headers, timeout=5)
    assert response.status_code == 401


def test_unknown_openapi_path_is_404_text(api):
    response = api.get("/openapi/nothing/here")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "Invalid path: /openapi/nothing/here"


def test_unknown_aslan_path_shows_internal_path(api):
    response = api.get("/api/aslan/nothing")
    assert response.status_code == 404
    assert response.text == "Invalid path: /api/nothing"


def test_unknown_path_without_token_is_401(simulator):
    response = requests.get(simulator.url + "/openapi/nothing", timeout=5)
    assert response.status_code == 401


def test_wrong_method_is_405_text(api):
    response = api.put("/openapi/workflows/custom/task")
    assert response.status_code == 405
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "Method not allowed: PUT /openapi/workflows/custom/task"


def test_no_docs_pages(simulator):
    response = requests.get(simulator.url + "/docs", timeout=5)
    assert response.status_code == 404


def test_json_is_go_encoded(api):
    response = api.get("/openapi/workflows/custom/task", params={"taskId": 1, "workflowKey": "build-images"})
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert (
        response.text
        == '{"code":500,"message":"Internal Error: ","description":"mongo: no documents in result"}'
    )


def test_chinese_text_is_utf8_not_escaped(api):
    response = api.post(
        "/openapi/workflows/custom/task", json={"workflow_key": "missing", "project_key": "x"}
    )
    assert "查询workflow失败".encode() in response.content
