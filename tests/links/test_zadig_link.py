"""
ZadigWorkflowTaskLink reads the ``zadig_task_url`` XCom through Airflow's own XCom code.

Airflow 3 computes extra links on the worker and reads XComs through the supervisor channel
(``task_runner.SUPERVISOR_COMMS``). These tests replace that channel with an in-memory fake and run
everything else as Airflow does.
"""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk.execution_time import comms, task_runner
from airflow.sdk.types import TaskInstanceKey

from airflow_provider_zadig.links.zadig import ZADIG_TASK_URL_XCOM_KEY, ZadigWorkflowTaskLink
from airflow_provider_zadig.operators.workflow import ZadigExecuteWorkflowOperator
from airflow_provider_zadig.operators.workflow_task import (
    ZadigApproveWorkflowTaskOperator,
    ZadigCancelWorkflowTaskOperator,
    ZadigRetryWorkflowTaskOperator,
)

TASK_URL = (
    "https://zadig.example.com/v1/projects/detail/demo/pipelines/custom/release/42?display_name=Release"
)
TI_KEY = TaskInstanceKey(
    dag_id="release", task_id="run_release", run_id="manual__1", try_number=1, map_index=-1
)


class XComChannel:
    """Replies to the XCom reads of the task process with ``value``, or raises ``error``."""

    def __init__(self, value: Any = None, error: Exception | None = None) -> None:
        self.value = value
        self.error = error
        self.requests: list[comms.GetXCom] = []

    def send(self, msg: Any) -> Any:
        assert isinstance(msg, comms.GetXCom)
        self.requests.append(msg)
        if self.error is not None:
            raise self.error
        return comms.XComResult(key=msg.key, value=self.value)


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> XComChannel:
    channel = XComChannel()
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", channel, raising=False)
    return channel


def get_link() -> str:
    return ZadigWorkflowTaskLink().get_link(operator=None, ti_key=TI_KEY)


def test_link_name() -> None:
    assert ZadigWorkflowTaskLink().name == "Zadig Task"
    assert ZadigWorkflowTaskLink().xcom_key == "_link_ZadigWorkflowTaskLink"


def test_link_reads_task_url(channel: XComChannel) -> None:
    channel.value = TASK_URL

    assert get_link() == TASK_URL

    request = channel.requests[0]
    assert request.key == ZADIG_TASK_URL_XCOM_KEY == "zadig_task_url"
    assert (request.dag_id, request.task_id, request.run_id, request.map_index) == (
        "release",
        "run_release",
        "manual__1",
        -1,
    )


@pytest.mark.parametrize(
    "value", [None, "", 42, {"url": TASK_URL}, "javascript:alert(1)", "zadig.example.com"]
)
def test_link_empty_for_missing_or_odd_value(channel: XComChannel, value: Any) -> None:
    channel.value = value

    assert get_link() == ""


@pytest.mark.parametrize("error", [RuntimeError("supervisor gone"), TypeError("bad reply"), KeyError("x")])
def test_link_never_raises(channel: XComChannel, error: Exception) -> None:
    channel.error = error

    assert get_link() == ""


def test_link_without_supervisor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(task_runner, "SUPERVISOR_COMMS", raising=False)

    assert get_link() == ""


@pytest.mark.parametrize(
    "operator_class",
    [
        ZadigExecuteWorkflowOperator,
        ZadigRetryWorkflowTaskOperator,
        ZadigApproveWorkflowTaskOperator,
        ZadigCancelWorkflowTaskOperator,
    ],
)
def test_operators_register_link(operator_class: type) -> None:
    links = [link for link in operator_class.operator_extra_links if isinstance(link, ZadigWorkflowTaskLink)]

    assert len(links) == 1
