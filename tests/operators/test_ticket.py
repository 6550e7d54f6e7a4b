from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_zadig.exceptions import (
    ZadigBadRequestError,
    ZadigConfigurationError,
    ZadigNotFoundError,
    ZadigServerError,
)
from airflow_provider_zadig.operators.ticket import ZadigCreateApprovalTicketOperator, window_timestamp
from airflow_provider_zadig.simulator import ZadigSimulator

TICKET_PATH = "/openapi/ticket/approval"
PROJECT = "simple-service-demo"
# 2030-01-01T00:00:00Z and 2030-01-02T00:00:00Z.
START = 1893456000
END = 1893542400


def ticket_operator(**kwargs: Any) -> ZadigCreateApprovalTicketOperator:
    arguments: dict[str, Any] = {"task_id": "file_ticket", "project_key": PROJECT, "approval_id": "CHG-1"}
    arguments.update(kwargs)
    return ZadigCreateApprovalTicketOperator(**arguments)


def sent_bodies(simulator: ZadigSimulator) -> list[Any]:
    return [request.json for request in simulator.requests if request.path == TICKET_PATH]


def output(capfd: pytest.CaptureFixture[str]) -> str:
    """Return what the task logger wrote; Airflow's structlog setup writes to the captured streams."""
    out, err = capfd.readouterr()
    return out + err


class TestCreateTicket:
    def test_sends_every_field(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        operator = ticket_operator(
            status=1,
            envs=["dev", "staging"],
            services=[{"service_name": "myapp", "service_module": "myapp"}, "worker"],
            users=[{"name": "Ann", "email": "ann@example.com"}, "bob@example.com"],
            execution_window_start=START,
            execution_window_end=END,
        )

        assert operator.execute({}) == "CHG-1"

        assert sent_bodies(simulator) == [
            {
                "project_key": PROJECT,
                "approval_id": "CHG-1",
                "status": 1,
                "envs": ["dev", "staging"],
                "services": [
                    {"service_name": "myapp", "service_module": "myapp"},
                    {"service_name": "worker", "service_module": ""},
                ],
                "users": [
                    {"name": "Ann", "email": "ann@example.com"},
                    {"name": "", "email": "bob@example.com"},
                ],
                "execution_window_start": START,
                "execution_window_end": END,
            }
        ]
        assert [ticket["approval_id"] for ticket in simulator.tickets] == ["CHG-1"]

    def test_single_env_string_becomes_list(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        ticket_operator(envs="prod").execute({})

        assert sent_bodies(simulator)[0]["envs"] == ["prod"]

    def test_defaults_mean_no_limits(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        ticket_operator().execute({})

        body = sent_bodies(simulator)[0]
        assert body["status"] == 1
        assert body["envs"] == []
        assert body["services"] == []
        assert body["users"] == []
        assert body["execution_window_start"] == 0
        assert body["execution_window_end"] == 0

    def test_rendered_text_values(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        operator = ticket_operator(
            approval_id=" CHG-7 ",
            status="0",
            execution_window_start=str(START),
            execution_window_end="2030-01-02T00:00:00+00:00",
        )

        assert operator.execute({}) == "CHG-7"

        body = sent_bodies(simulator)[0]
        assert body["approval_id"] == "CHG-7"
        assert body["status"] == 0
        assert body["execution_window_start"] == START
        assert body["execution_window_end"] == END

    def test_numeric_approval_id(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        assert ticket_operator(approval_id=4711).execute({}) == "4711"

        assert sent_bodies(simulator)[0]["approval_id"] == "4711"

    def test_milliseconds_are_converted_and_logged(
        self, simulator: ZadigSimulator, zadig_connection: str, capfd: pytest.CaptureFixture[str]
    ) -> None:
        ticket_operator(execution_window_start=START * 1000, execution_window_end=END * 1000 + 999).execute(
            {}
        )

        body = sent_bodies(simulator)[0]
        assert body["execution_window_start"] == START
        assert body["execution_window_end"] == END
        assert f"execution_window_start {START * 1000} is in milliseconds" in output(capfd)

    def test_datetimes_are_converted(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        ticket_operator(
            execution_window_start=datetime(2030, 1, 1, 8, tzinfo=timezone(timedelta(hours=8))),
            execution_window_end=datetime(2030, 1, 2),
        ).execute({})

        body = sent_bodies(simulator)[0]
        assert body["execution_window_start"] == START
        assert body["execution_window_end"] == END

    def test_window_in_the_past_warns(
        self, simulator: ZadigSimulator, zadig_connection: str, capfd: pytest.CaptureFixture[str]
    ) -> None:
        ticket_operator(execution_window_start=1_600_000_000, execution_window_end=1_600_003_600).execute({})

        assert "ended at 2020-09-13T13:26:40+00:00" in output(capfd)
        assert len(sent_bodies(simulator)) == 1


class TestRunningTwice:
    def test_duplicate_is_success_with_log(
        self, simulator: ZadigSimulator, zadig_connection: str, capfd: pytest.CaptureFixture[str]
    ) -> None:
        ticket_operator(envs="dev").execute({})
        output(capfd)

        assert ticket_operator(envs="dev").execute({}) == "CHG-1"

        assert "Pre-approval ticket CHG-1 already exists" in output(capfd)
        assert len(sent_bodies(simulator)) == 2
        assert len(simulator.tickets) == 1

    def test_duplicate_keeps_first_ticket(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        ticket_operator(envs="dev").execute({})

        ticket_operator(envs="prod").execute({})

        assert simulator.tickets[0]["envs"] == ["dev"]

    def test_strict_mode_fails_on_duplicate(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        ticket_operator().execute({})

        with pytest.raises(AirflowFailException) as caught:
            ticket_operator(fail_if_exists=True).execute({})

        assert "approval id 'CHG-1' already exists" in str(caught.value)
        assert "E11000" in str(caught.value)
        assert isinstance(caught.value.__cause__, ZadigBadRequestError)
        assert caught.value.__cause__.code == 7100

    def test_strict_mode_creates_new_ticket(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        assert ticket_operator(fail_if_exists=True).execute({}) == "CHG-1"

        assert len(simulator.tickets) == 1


class TestServerErrors:
    def test_basic_license_fails_at_once(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        simulator.settings.license = "basic"

        with pytest.raises(AirflowFailException) as caught:
            ticket_operator().execute({})

        message = str(caught.value)
        assert "Zadig code 7050" in message
        assert "professional or enterprise license" in message
        assert isinstance(caught.value.__cause__, ZadigBadRequestError)
        assert len(sent_bodies(simulator)) == 1

    def test_missing_project_is_not_a_duplicate(
        self, simulator: ZadigSimulator, zadig_connection: str
    ) -> None:
        with pytest.raises(AirflowFailException) as caught:
            ticket_operator(project_key="no-such-project").execute({})

        message = str(caught.value)
        assert "failed to find project" in message
        assert "Check project_key" in message
        assert isinstance(caught.value.__cause__, (ZadigNotFoundError, ZadigBadRequestError))
        assert caught.value.__cause__.code == 7100
        assert simulator.tickets == []

    def test_other_7100_error_is_raised(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        body = {"type": "error", "code": 7100, "message": "创建预审批单失败", "description": "write timeout"}
        simulator.add_fault("POST", TICKET_PATH, status=400, body=json.dumps(body))

        with pytest.raises(ZadigBadRequestError, match="write timeout"):
            ticket_operator().execute({})

    def test_server_error_is_raised(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        body = {"code": 500, "message": "Internal Error: ", "description": "license service unavailable"}
        simulator.add_fault("POST", TICKET_PATH, status=500, body=json.dumps(body))

        with pytest.raises(ZadigServerError, match="license service unavailable"):
            ticket_operator().execute({})


class TestRejectedBeforeSending:
    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            pytest.param(
                {"execution_window_start": END, "execution_window_end": START}, "is after end", id="window"
            ),
            pytest.param(
                {"execution_window_start": END * 1000, "execution_window_end": START},
                "is after end",
                id="ms-window",
            ),
            pytest.param({"approval_id": ""}, "approval_id", id="empty-approval-id"),
            pytest.param({"approval_id": "  "}, "approval_id", id="blank-approval-id"),
            pytest.param({"approval_id": None}, "approval_id", id="none-approval-id"),
            pytest.param({"project_key": ""}, "project_key", id="empty-project"),
            pytest.param({"approval_id": "{{ params.missing }}"}, "Jinja template", id="unrendered"),
            pytest.param({"status": 2}, "invalid status 2", id="status-2"),
            pytest.param({"status": "yes"}, "invalid status", id="status-text"),
            pytest.param({"execution_window_start": -1}, "cannot be negative", id="negative"),
            pytest.param({"execution_window_end": "tomorrow"}, "ISO 8601", id="garbage-text"),
            pytest.param({"execution_window_end": True}, "expected epoch seconds", id="boolean"),
            pytest.param({"envs": 5}, "invalid envs", id="envs-number"),
            pytest.param({"envs": ["dev", 5]}, "envs.1", id="envs-item"),
            pytest.param({"services": [{"service_module": "m"}]}, "service_name", id="service-name"),
            pytest.param({"services": [{"service_name": "a", "colour": "x"}]}, "colour", id="service-key"),
            pytest.param({"users": [{"name": "Ann"}]}, "email", id="user-email"),
        ],
    )
    def test_invalid_argument(
        self, simulator: ZadigSimulator, zadig_connection: str, arguments: dict[str, Any], message: str
    ) -> None:
        with pytest.raises(ZadigConfigurationError, match=message):
            ticket_operator(**arguments).execute({})

        assert simulator.requests == []


class TestWindowTimestamp:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (None, (0, False)),
            ("", (0, False)),
            (0, (0, False)),
            (START, (START, False)),
            (float(START) + 0.9, (START, False)),
            (START * 1000, (START, True)),
            (" 1893456000 ", (START, False)),
            ("1893456000000", (START, True)),
            ("2030-01-01T00:00:00Z", (START, False)),
            ("2030-01-01 08:00:00+08:00", (START, False)),
            (datetime(2030, 1, 1, tzinfo=timezone.utc), (START, False)),
            # 1e11 is still seconds (the year 5138); one more is read as milliseconds.
            (100_000_000_000, (100_000_000_000, False)),
            (100_000_000_001, (100_000_000, True)),
        ],
    )
    def test_conversion(self, value: Any, expected: tuple[int, bool]) -> None:
        assert window_timestamp(value, "execution_window_start") == expected


class TestTemplateFields:
    def test_every_user_input_is_templated(self) -> None:
        assert set(ZadigCreateApprovalTicketOperator.template_fields) == {
            "project_key",
            "approval_id",
            "status",
            "envs",
            "services",
            "users",
            "execution_window_start",
            "execution_window_end",
            "zadig_conn_id",
        }
