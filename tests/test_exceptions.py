"""The exception tree: what Airflow retries, and what survives pickling between processes."""

from __future__ import annotations

import pickle

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_zadig.exceptions import (
    ZadigBadRequestError,
    ZadigConfigurationError,
    ZadigError,
    ZadigNotFoundError,
    ZadigWaitTimeoutError,
    ZadigWorkflowTaskError,
)


def test_configuration_error_skips_retries():
    error = ZadigConfigurationError("invalid verify 'maybe'")
    assert isinstance(error, ZadigError)
    assert isinstance(error, AirflowFailException)


def test_api_error_stays_retryable():
    error = ZadigNotFoundError("not found", status_code=500)
    assert isinstance(error, AirflowException)
    assert not isinstance(error, AirflowFailException)


def test_api_error_pickle_keeps_context():
    error = ZadigBadRequestError(
        "POST /openapi/workflows/custom/task failed",
        status_code=400,
        code=6542,
        description="mongo: no documents in result",
        server_message="查询workflow失败",
        method="POST",
        path="/openapi/workflows/custom/task",
    )
    error.retry_after = 5.0
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ZadigBadRequestError
    assert str(copy) == str(error)
    assert copy.status_code == 400
    assert copy.code == 6542
    assert copy.server_message == "查询workflow失败"
    assert copy.path == "/openapi/workflows/custom/task"
    assert copy.retry_after == 5.0


def test_task_error_pickle_keeps_context():
    error = ZadigWaitTimeoutError("timed out", workflow_key="build-images", task_id=7, status="running")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ZadigWaitTimeoutError
    assert isinstance(copy, ZadigWorkflowTaskError)
    assert copy.workflow_key == "build-images"
    assert copy.task_id == 7
    assert copy.status == "running"
