"""Values that the server flags ``is_credential: true`` are redacted when a detail is parsed."""

from __future__ import annotations

from airflow_provider_zadig.models import REDACTED, WorkflowDetail, WorkflowTask


def test_task_detail_redacts_nested_credentials() -> None:
    task = WorkflowTask.model_validate(
        {
            "task_id": 1,
            "params": [
                {
                    "name": "DB_PASSWORD",
                    "value": "canary-db-51",
                    "default": "canary-default",
                    "is_credential": True,
                },
                {"name": "REGION", "value": "cn-north", "is_credential": False},
            ],
            "stages": [
                {
                    "name": "build",
                    "jobs": [
                        {
                            "name": "job-0-0-0-build",
                            "type": "freestyle",
                            "spec": {
                                "properties": {
                                    "envs": [{"key": "TOKEN", "value": "canary-env-7", "is_credential": True}]
                                }
                            },
                        }
                    ],
                }
            ],
        }
    )
    text = task.model_dump_json()
    assert "canary-db-51" not in text
    assert "canary-default" not in text
    assert "canary-env-7" not in text
    assert task.params is not None
    assert task.params[0]["value"] == REDACTED
    assert task.params[0]["default"] == REDACTED
    assert task.params[1]["value"] == "cn-north"


def test_workflow_detail_redacts_credential_params() -> None:
    detail = WorkflowDetail.model_validate(
        {
            "workflow_key": "wf",
            "params": [
                {"name": "password", "type": "string", "value": "canary-db-51", "is_credential": True},
                {"name": "empty", "type": "string", "value": "", "is_credential": True},
            ],
        }
    )
    password = detail.get_param("password")
    empty = detail.get_param("empty")
    assert password is not None
    assert password.value == REDACTED
    assert empty is not None
    assert empty.value == ""
    assert "canary-db-51" not in repr(detail)


def test_values_that_are_not_flagged_stay() -> None:
    task = WorkflowTask.model_validate(
        {"task_id": 1, "params": [{"name": "a", "value": "visible", "is_credential": False}]}
    )
    assert task.params is not None
    assert task.params[0]["value"] == "visible"
