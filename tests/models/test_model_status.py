"""Workflow status values: known ones, and unknown ones from newer servers."""

from __future__ import annotations

import logging
import uuid

import pytest

from airflow_provider_zadig.models import (
    DEFAULT_FAILURE_STATUSES,
    DEFAULT_SUCCESS_STATUSES,
    RETRYABLE_STATUSES,
    WorkflowStatus,
    WorkflowTaskBrief,
    parse_status,
)


@pytest.mark.parametrize(
    "value", ["passed", "failed", "timeout", "cancelled", "reject", "skipped", "unstable"]
)
def test_terminal_statuses(value: str) -> None:
    assert parse_status(value).is_terminal


@pytest.mark.parametrize(
    "value",
    [
        "waiting",
        "created",
        "queued",
        "running",
        "prepare",
        "wait_for_approval",
        "waiting_approve",
        "pause",
        "debug_before",
        "",
    ],
)
def test_statuses_in_progress(value: str) -> None:
    status = parse_status(value)
    assert not status.is_terminal
    assert not status.is_success
    assert not status.is_failure


def test_success_and_failure_sets() -> None:
    assert {status.value for status in WorkflowStatus if status.is_success} == {"passed", "unstable"}
    assert {status.value for status in WorkflowStatus if status.is_failure} == set(DEFAULT_FAILURE_STATUSES)
    assert DEFAULT_SUCCESS_STATUSES == ("passed",)
    assert {status.value for status in RETRYABLE_STATUSES} == {"failed", "timeout", "cancelled", "reject"}


def test_waiting_for_approval_spellings() -> None:
    assert parse_status("wait_for_approval").is_waiting_for_approval
    assert parse_status("waiting_approve").is_waiting_for_approval
    assert not parse_status("running").is_waiting_for_approval


def test_none_is_not_started() -> None:
    assert parse_status(None) is WorkflowStatus.NOT_STARTED
    assert parse_status(WorkflowStatus.PASSED) is WorkflowStatus.PASSED
    assert str(WorkflowStatus.PASSED) == "passed"


def test_unknown_status_is_logged_once_and_never_terminal(caplog: pytest.LogCaptureFixture) -> None:
    value = f"future-{uuid.uuid4().hex[:8]}"
    with caplog.at_level(logging.WARNING, logger="airflow_provider_zadig.models.status"):
        first = parse_status(value)
        second = WorkflowTaskBrief.model_validate({"task_id": 1, "status": value}).status
    assert first is second
    assert first.value == value
    assert not first.is_known
    assert not first.is_terminal
    assert not first.is_success
    assert not first.is_failure
    assert not first.is_waiting_for_approval
    messages = [record.getMessage() for record in caplog.records if value in record.getMessage()]
    assert len(messages) == 1
    assert "treated as still in progress" in messages[0]


def test_known_status_is_known() -> None:
    assert WorkflowStatus.RUNNING.is_known
