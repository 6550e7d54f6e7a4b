from __future__ import annotations

import json
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_zadig.exceptions import (
    ZadigBadRequestError,
    ZadigConfigurationError,
    ZadigError,
    ZadigNotFoundError,
)
from airflow_provider_zadig.hooks.zadig import ZadigHook
from airflow_provider_zadig.operators.view import (
    ZadigCreateWorkflowViewOperator,
    ZadigDeleteWorkflowViewOperator,
    ZadigUpdateWorkflowViewOperator,
    normalise_view_entries,
)
from airflow_provider_zadig.simulator import ZadigSimulator

# Seed data: project lilian-test has the workflows build-deploy, just-deploy and xiaxianfuwu, and the
# view test-view, which shows xiaxianfuwu.
PROJECT = "lilian-test"
VIEWS_PATH = "/openapi/workflows/view"


def membership(conn_id: str, view_name: str) -> list[str] | None:
    """List the project's views through the API and return the view's workflows, or ``None``."""
    views = ZadigHook(zadig_conn_id=conn_id).list_workflow_views(PROJECT)
    view = next((view for view in views if view.name == view_name), None)
    return sorted(view.workflow_keys) if view else None


def writes(simulator: ZadigSimulator) -> list[Any]:
    """Return the requests that change views, as (method, path, body)."""
    return [
        (request.method, request.path, request.json)
        for request in simulator.requests
        if request.path.startswith(VIEWS_PATH) and request.method != "GET"
    ]


def create_view(**kwargs: Any) -> ZadigCreateWorkflowViewOperator:
    arguments: dict[str, Any] = {"task_id": "create_view", "project_key": PROJECT, "view_name": "release"}
    arguments.update(kwargs)
    return ZadigCreateWorkflowViewOperator(**arguments)


def update_view(**kwargs: Any) -> ZadigUpdateWorkflowViewOperator:
    arguments: dict[str, Any] = {"task_id": "update_view", "project_key": PROJECT, "view_name": "test-view"}
    arguments.update(kwargs)
    return ZadigUpdateWorkflowViewOperator(**arguments)


def delete_view(**kwargs: Any) -> ZadigDeleteWorkflowViewOperator:
    arguments: dict[str, Any] = {"task_id": "delete_view", "project_key": PROJECT, "view_name": "test-view"}
    arguments.update(kwargs)
    return ZadigDeleteWorkflowViewOperator(**arguments)


def plain_error(description: str) -> str:
    return json.dumps({"code": 500, "message": "Internal Error: ", "description": description})


class TestCreateView:
    def test_creates_view(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        result = create_view(workflows=["build-deploy", "just-deploy"]).execute({})

        assert result == ["build-deploy", "just-deploy"]
        assert membership(zadig_connection, "release") == ["build-deploy", "just-deploy"]
        assert writes(simulator) == [
            (
                "POST",
                VIEWS_PATH,
                {
                    "project_key": PROJECT,
                    "name": "release",
                    "workflow_list": [
                        {"workflow_key": "build-deploy", "workflow_type": "custom", "enabled": True},
                        {"workflow_key": "just-deploy", "workflow_type": "custom", "enabled": True},
                    ],
                },
            )
        ]

    def test_duplicates_and_internal_type_names(
        self, simulator: ZadigSimulator, zadig_connection: str
    ) -> None:
        workflows = [
            "build-deploy",
            {"workflow_key": "just-deploy", "workflow_type": "common_workflow"},
            " build-deploy ",
            {"workflow_key": "just-deploy", "workflow_type": "custom"},
        ]

        create_view(workflows=workflows).execute({})

        body = writes(simulator)[0][2]
        assert body["workflow_list"] == [
            {"workflow_key": "build-deploy", "workflow_type": "custom", "enabled": True},
            {"workflow_key": "just-deploy", "workflow_type": "custom", "enabled": True},
        ]

    def test_running_twice_keeps_membership(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        create_view(workflows=["build-deploy"]).execute({})

        assert create_view(workflows=["build-deploy"]).execute({}) == ["build-deploy"]

        assert membership(zadig_connection, "release") == ["build-deploy"]
        assert len(writes(simulator)) == 1

    def test_existing_view_with_other_members_fails(
        self, simulator: ZadigSimulator, zadig_connection: str
    ) -> None:
        with pytest.raises(ZadigError, match="set upsert=True"):
            create_view(view_name="test-view", workflows=["build-deploy"]).execute({})

        assert membership(zadig_connection, "test-view") == ["xiaxianfuwu"]
        assert writes(simulator) == []

    def test_upsert_makes_membership_match(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        operator = create_view(view_name="test-view", workflows=["build-deploy", "just-deploy"], upsert=True)

        assert operator.execute({}) == ["build-deploy", "just-deploy"]

        assert membership(zadig_connection, "test-view") == ["build-deploy", "just-deploy"]
        assert writes(simulator) == [
            (
                "PUT",
                f"{VIEWS_PATH}/test-view",
                {
                    "workflow_list": [
                        {"workflow_key": "build-deploy", "workflow_type": "custom", "enabled": True},
                        {"workflow_key": "just-deploy", "workflow_type": "custom", "enabled": True},
                        {"workflow_key": "xiaxianfuwu", "workflow_type": "custom", "enabled": False},
                    ]
                },
            )
        ]

    def test_upsert_twice_keeps_membership(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        for _ in range(2):
            create_view(view_name="test-view", workflows=["just-deploy"], upsert=True).execute({})

        assert membership(zadig_connection, "test-view") == ["just-deploy"]
        assert len(writes(simulator)) == 1

    def test_upsert_shows_hidden_workflow_again(
        self, simulator: ZadigSimulator, zadig_connection: str
    ) -> None:
        create_view(view_name="test-view", workflows=["just-deploy"], upsert=True).execute({})

        create_view(view_name="test-view", workflows=["xiaxianfuwu"], upsert=True).execute({})

        assert membership(zadig_connection, "test-view") == ["xiaxianfuwu"]

    def test_view_created_meanwhile(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        # The first listing misses test-view, as if another run created it just after; Zadig then
        # responds to the create with 6892 and the operator compares the existing view instead.
        simulator.add_fault(
            "GET", VIEWS_PATH, status=200, body="[]", headers={"Content-Type": "application/json"}
        )

        result = create_view(view_name="test-view", workflows=["xiaxianfuwu"]).execute({})

        assert result == ["xiaxianfuwu"]
        assert simulator.count_requests("POST", VIEWS_PATH) == 1

    def test_unknown_workflow_rejected(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        with pytest.raises(ZadigConfigurationError) as caught:
            create_view(workflows=["biuld-deploy"]).execute({})

        assert "unknown workflow 'biuld-deploy' in project 'lilian-test'" in str(caught.value)
        assert "known: build-deploy, just-deploy, xiaxianfuwu" in str(caught.value)
        assert writes(simulator) == []

    def test_unknown_workflow_allowed_when_unchecked(
        self, simulator: ZadigSimulator, zadig_connection: str
    ) -> None:
        create_view(workflows=["later-workflow"], check_workflows_exist=False).execute({})

        assert membership(zadig_connection, "release") == ["later-workflow"]
        assert simulator.count_requests("GET", "/openapi/workflows") == 0

    def test_empty_view(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        assert create_view(workflows=[]).execute({}) == []

        assert membership(zadig_connection, "release") == []


class TestUpdateView:
    def test_add_and_remove(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        result = update_view(add=["build-deploy"], remove=["xiaxianfuwu"]).execute({})

        assert result == ["build-deploy"]
        assert membership(zadig_connection, "test-view") == ["build-deploy"]
        assert writes(simulator) == [
            (
                "PUT",
                f"{VIEWS_PATH}/test-view",
                {
                    "workflow_list": [
                        {"workflow_key": "build-deploy", "workflow_type": "custom", "enabled": True},
                        {"workflow_key": "xiaxianfuwu", "workflow_type": "custom", "enabled": False},
                    ]
                },
            )
        ]
        assert [request.query for request in simulator.requests if request.method == "PUT"] == [
            {"projectKey": PROJECT}
        ]

    def test_running_twice_keeps_membership(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        for _ in range(2):
            update_view(add=["build-deploy", "just-deploy"], remove="xiaxianfuwu").execute({})

        assert membership(zadig_connection, "test-view") == ["build-deploy", "just-deploy"]

    def test_workflows_not_named_stay(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        update_view(add="build-deploy").execute({})

        assert membership(zadig_connection, "test-view") == ["build-deploy", "xiaxianfuwu"]

    def test_removed_workflow_can_come_back(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        update_view(remove="xiaxianfuwu").execute({})

        update_view(add="xiaxianfuwu").execute({})

        assert membership(zadig_connection, "test-view") == ["xiaxianfuwu"]

    def test_removing_absent_workflow_is_ignored(
        self, simulator: ZadigSimulator, zadig_connection: str
    ) -> None:
        update_view(remove="just-deploy").execute({})

        assert membership(zadig_connection, "test-view") == ["xiaxianfuwu"]

    def test_duplicates_removed_before_sending(
        self, simulator: ZadigSimulator, zadig_connection: str
    ) -> None:
        update_view(
            add=[
                "build-deploy",
                "build-deploy",
                {"workflow_key": "build-deploy", "workflow_type": "common_workflow"},
            ],
            remove=["just-deploy", "just-deploy"],
        ).execute({})

        body = writes(simulator)[0][2]
        assert body["workflow_list"] == [
            {"workflow_key": "build-deploy", "workflow_type": "custom", "enabled": True},
            {"workflow_key": "just-deploy", "workflow_type": "custom", "enabled": False},
        ]

    def test_nothing_to_change_sends_nothing(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        assert update_view(add=[], remove=None).execute({}) is None

        assert simulator.requests == []

    def test_missing_view_fails_without_retry(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        with pytest.raises(AirflowFailException) as caught:
            update_view(view_name="release", add="build-deploy").execute({})

        message = str(caught.value)
        assert "View not found: project 'lilian-test' has no workflow view 'release'" in message
        assert "failed to find workflow view release for project lilian-test" in message
        assert isinstance(caught.value.__cause__, ZadigNotFoundError)
        assert simulator.count_requests("PUT", f"{VIEWS_PATH}/release") == 1

    def test_duplicate_key_answer_is_raised(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        simulator.add_fault(
            "PUT", f"{VIEWS_PATH}/test-view", status=500, body=plain_error("workflow name duplicated")
        )

        with pytest.raises(ZadigBadRequestError, match="workflow name duplicated"):
            update_view(add="build-deploy").execute({})

        assert simulator.count_requests("PUT", f"{VIEWS_PATH}/test-view") == 1

    def test_unknown_added_workflow_rejected(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        with pytest.raises(ZadigConfigurationError, match="unknown workflow 'wf-b'"):
            update_view(add=["build-deploy", "wf-b"]).execute({})

        assert writes(simulator) == []

    def test_unknown_removed_workflow_allowed(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        update_view(remove="wf-old").execute({})

        assert membership(zadig_connection, "test-view") == ["xiaxianfuwu"]


class TestDeleteView:
    def test_deletes_view(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        assert delete_view().execute({}) is True

        assert membership(zadig_connection, "test-view") is None

    def test_running_twice_succeeds(
        self, simulator: ZadigSimulator, zadig_connection: str, capfd: pytest.CaptureFixture[str]
    ) -> None:
        delete_view().execute({})

        assert delete_view().execute({}) is False

        out, err = capfd.readouterr()
        assert "View test-view does not exist in project lilian-test; nothing to delete" in out + err
        assert membership(zadig_connection, "test-view") is None

    def test_missing_view_fails_when_asked(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        with pytest.raises(AirflowFailException) as caught:
            delete_view(view_name="release", fail_if_missing=True).execute({})

        assert "View not found" in str(caught.value)
        assert isinstance(caught.value.__cause__, ZadigNotFoundError)
        assert caught.value.__cause__.code == 6894

    def test_workflows_stay(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        delete_view().execute({})

        keys = [
            brief.workflow_key for brief in ZadigHook(zadig_conn_id=zadig_connection).list_workflows(PROJECT)
        ]
        assert "xiaxianfuwu" in keys


class TestRejectedBeforeSending:
    @pytest.mark.parametrize(
        ("operator", "message"),
        [
            pytest.param(
                update_view(add="build-deploy", remove=["build-deploy"]),
                "is in both add and remove",
                id="both",
            ),
            pytest.param(
                update_view(add=[{"workflow_key": "a", "workflow_type": "pipeline"}]),
                "'custom' or 'product'",
                id="type",
            ),
            pytest.param(update_view(add=[{"workflow_type": "custom"}]), "add\\[0\\]", id="no-key"),
            pytest.param(update_view(add=[""]), "add\\[0\\]", id="empty-key"),
            pytest.param(update_view(add=[7]), "expected a workflow key or a dict", id="number"),
            pytest.param(
                update_view(add=[{"workflow_key": "a"}, {"workflow_key": "a", "workflow_type": "product"}]),
                "with two types",
                id="two-types",
            ),
            pytest.param(update_view(view_name="", add="a"), "view_name", id="update-empty-view"),
            pytest.param(
                create_view(project_key=" ", workflows=["a"]), "project_key", id="create-empty-project"
            ),
            pytest.param(
                create_view(workflows=[{"workflow_key": "a", "enabled": "x"}, 5]),
                "workflows",
                id="create-bad",
            ),
            pytest.param(create_view(view_name="{{ params.view }}"), "Jinja template", id="unrendered"),
            pytest.param(delete_view(view_name=""), "view_name", id="delete-empty-view"),
        ],
    )
    def test_invalid_argument(
        self, simulator: ZadigSimulator, zadig_connection: str, operator: Any, message: str
    ) -> None:
        with pytest.raises(ZadigConfigurationError, match=message):
            operator.execute({})

        assert simulator.requests == []


class TestNormaliseViewEntries:
    def test_single_key(self) -> None:
        entries = normalise_view_entries("wf-a", "add", enabled=True)

        assert [entry.to_body() for entry in entries] == [
            {"workflow_key": "wf-a", "workflow_type": "custom", "enabled": True}
        ]

    def test_product_internal_name(self) -> None:
        entries = normalise_view_entries(
            [{"workflow_key": "old", "workflow_type": "product_workflow"}], "remove", enabled=False
        )

        assert [entry.to_body() for entry in entries] == [
            {"workflow_key": "old", "workflow_type": "product", "enabled": False}
        ]

    def test_enabled_flag_comes_from_argument(self) -> None:
        entries = normalise_view_entries([{"workflow_key": "a", "enabled": True}], "remove", enabled=False)

        assert entries[0].enabled is False
