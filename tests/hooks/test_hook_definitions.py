"""Workflow definitions for create and update: a dict, YAML text or a file, validated before sending."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hook_testing import SUCCESS, WORKFLOW_V4_URL

from airflow_provider_zadig.exceptions import ZadigConfigurationError
from airflow_provider_zadig.hooks._bodies import load_workflow_definition
from airflow_provider_zadig.models import WorkflowDefinition

YAML_TEXT = """\
name: wf-new
display_name: 新工作流
project: demo
concurrency_limit: 1
stages:
  - name: build
    parallel: true
    jobs:
      - name: build
        type: zadig-build
        spec:
          docker_registry_id: "62c0"
"""
EXPECTED = {
    "name": "wf-new",
    "display_name": "新工作流",
    "project": "demo",
    "concurrency_limit": 1,
    "stages": [
        {
            "name": "build",
            "parallel": True,
            "jobs": [{"name": "build", "type": "zadig-build", "spec": {"docker_registry_id": "62c0"}}],
        }
    ],
}


def test_dict_definition() -> None:
    assert load_workflow_definition(EXPECTED).to_body() == EXPECTED


def test_yaml_text_definition() -> None:
    assert load_workflow_definition(YAML_TEXT).to_body() == EXPECTED


def test_json_text_definition() -> None:
    assert load_workflow_definition(json.dumps(EXPECTED)).to_body() == EXPECTED


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".YAML"])
def test_yaml_file_definition(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"workflow{suffix}"
    path.write_text(YAML_TEXT, encoding="utf-8")
    assert load_workflow_definition(str(path)).to_body() == EXPECTED
    assert load_workflow_definition(path).to_body() == EXPECTED


def test_json_file_definition(tmp_path: Path) -> None:
    path = tmp_path / "workflow.json"
    path.write_text(json.dumps(EXPECTED, ensure_ascii=False), encoding="utf-8")
    assert load_workflow_definition(str(path)).to_body() == EXPECTED


def test_existing_file_without_known_suffix(tmp_path: Path) -> None:
    path = tmp_path / "workflow.txt"
    path.write_text(YAML_TEXT, encoding="utf-8")
    assert load_workflow_definition(str(path)).name == "wf-new"


def test_model_definition_is_used_as_is() -> None:
    definition = WorkflowDefinition(name="wf", project="demo")
    assert load_workflow_definition(definition) is definition


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("/no/such/workflow.yaml", "Cannot read the workflow definition file '/no/such/workflow.yaml'"),
        ("name: [unclosed", "Invalid YAML in the workflow definition text"),
        ("- just\n- a list\n", "must be a mapping"),
        ({"name": "wf", "project": "demo", "stage": []}, "stage: Extra inputs are not permitted"),
        ({"project": "demo"}, "name: Field required"),
        (42, "got int"),
    ],
)
def test_invalid_definitions(source: Any, fragment: str) -> None:
    with pytest.raises(ZadigConfigurationError) as excinfo:
        load_workflow_definition(source)
    assert fragment in str(excinfo.value)


def test_invalid_json_file(tmp_path: Path) -> None:
    path = tmp_path / "workflow.json"
    path.write_text("{name: wf}", encoding="utf-8")
    with pytest.raises(ZadigConfigurationError, match="Invalid JSON in"):
        load_workflow_definition(path)


def test_create_workflow_sends_the_parsed_yaml(hook: Any, requests_mock: Any, tmp_path: Path) -> None:
    path = tmp_path / "workflow.yaml"
    path.write_text(YAML_TEXT, encoding="utf-8")
    requests_mock.post(WORKFLOW_V4_URL, json=SUCCESS)
    hook.create_workflow(str(path))
    assert json.loads(requests_mock.last_request.body.decode("utf-8")) == EXPECTED


def test_invalid_definition_is_not_sent(hook: Any, requests_mock: Any) -> None:
    with pytest.raises(ZadigConfigurationError):
        hook.create_workflow("name: [unclosed")
    assert requests_mock.call_count == 0


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "workflow.yaml"
    path.write_bytes("name: 构建\n".encode("gbk"))
    with pytest.raises(ZadigConfigurationError, match="is not UTF-8 text"):
        load_workflow_definition(path)
