from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from airflow.providers.common.compat.sdk import DAG, AirflowFailException

from airflow_provider_zadig.exceptions import (
    ZadigBadRequestError,
    ZadigConfigurationError,
    ZadigError,
    ZadigNotFoundError,
)
from airflow_provider_zadig.hooks.zadig import ZadigHook
from airflow_provider_zadig.models import WorkflowDefinition
from airflow_provider_zadig.operators.workflow_definition import (
    ZadigCreateWorkflowOperator,
    ZadigDeleteWorkflowOperator,
    ZadigSyncWorkflowOperator,
    ZadigUpdateWorkflowOperator,
    load_workflow_definition,
)
from airflow_provider_zadig.simulator import ZadigSimulator

PROJECT = "lilian-test"
CREATE_PATH = "/api/aslan/workflow/v4"
UPDATE_PATH = f"{CREATE_PATH}/release-svc"
DELETE_PATH = "/openapi/workflows/custom"

DEFINITION: dict[str, Any] = {
    "name": "release-svc",
    "display_name": "Release service",
    "project": PROJECT,
    "concurrency_limit": 1,
    "stages": [
        {
            "name": "build",
            "jobs": [
                {
                    "name": "build-svc",
                    "type": "freestyle",
                    "spec": {
                        "steps": [
                            {
                                "name": "shell",
                                "type": "shell",
                                "spec": {"script": "echo {{.workflow.params.env}}"},
                            }
                        ]
                    },
                }
            ],
        },
        {"name": "deploy", "jobs": [{"name": "deploy-svc", "type": "freestyle", "spec": {}}]},
    ],
}


def definition(**overrides: Any) -> dict[str, Any]:
    body = copy.deepcopy(DEFINITION)
    body.update(overrides)
    return body


def stored(conn_id: str, key: str = "release-svc") -> Any:
    return ZadigHook(zadig_conn_id=conn_id).get_workflow(key, PROJECT)


def project_keys(conn_id: str, project: str = PROJECT) -> list[str]:
    return [brief.workflow_key for brief in ZadigHook(zadig_conn_id=conn_id).list_workflows(project)]


def writes(simulator: ZadigSimulator) -> list[tuple[str, str]]:
    return [(request.method, request.path) for request in simulator.requests if request.method != "GET"]


def output(capfd: pytest.CaptureFixture[str]) -> str:
    out, err = capfd.readouterr()
    return out + err


def coded_error(code: int, description: str) -> str:
    return json.dumps({"type": "error", "code": code, "message": "", "description": description, "extra": {}})


class TestCreateWorkflow:
    def test_creates_from_dict(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        result = ZadigCreateWorkflowOperator(task_id="create", definition=definition()).execute({})

        assert result == "release-svc"
        detail = stored(zadig_connection)
        assert detail.workflow_name == "Release service"
        assert detail.job_names == ["build-svc", "deploy-svc"]
        assert writes(simulator) == [("POST", CREATE_PATH)]

    def test_zadig_variables_are_sent_unchanged(
        self, simulator: ZadigSimulator, zadig_connection: str
    ) -> None:
        ZadigCreateWorkflowOperator(task_id="create", definition=definition()).execute({})

        body = next(request.json for request in simulator.requests if request.method == "POST")
        script = body["stages"][0]["jobs"][0]["spec"]["steps"][0]["spec"]["script"]
        assert script == "echo {{.workflow.params.env}}"

    def test_running_twice_leaves_workflow(
        self, simulator: ZadigSimulator, zadig_connection: str, capfd: pytest.CaptureFixture[str]
    ) -> None:
        ZadigCreateWorkflowOperator(task_id="create", definition=definition()).execute({})
        changed = definition(display_name="Changed")

        assert ZadigCreateWorkflowOperator(task_id="create", definition=changed).execute({}) == "release-svc"

        assert "already exists in project 'lilian-test'; left unchanged" in output(capfd)
        assert stored(zadig_connection).workflow_name == "Release service"
        assert writes(simulator) == [("POST", CREATE_PATH)]

    def test_existing_workflow_fails_when_asked(
        self, simulator: ZadigSimulator, zadig_connection: str
    ) -> None:
        operator = ZadigCreateWorkflowOperator(
            task_id="create", definition=definition(name="just-deploy"), fail_if_exists=True
        )

        with pytest.raises(
            ZadigError, match="workflow 'just-deploy' already exists in project 'lilian-test'"
        ):
            operator.execute({})

        assert writes(simulator) == []

    def test_adds_to_view(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        ZadigCreateWorkflowOperator(task_id="create", definition=definition(), view_name="test-view").execute(
            {}
        )

        views = ZadigHook(zadig_conn_id=zadig_connection).list_workflow_views(PROJECT)
        assert views[0].workflow_keys == ["xiaxianfuwu", "release-svc"]

    def test_missing_view_rejected_before_create(
        self, simulator: ZadigSimulator, zadig_connection: str
    ) -> None:
        operator = ZadigCreateWorkflowOperator(task_id="create", definition=definition(), view_name="release")

        with pytest.raises(
            ZadigConfigurationError, match="view 'release' not found in project 'lilian-test'"
        ):
            operator.execute({})

        assert writes(simulator) == []

    def test_key_of_another_project(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        # build-images belongs to simple-service-demo; workflow keys are unique across projects.
        operator = ZadigCreateWorkflowOperator(task_id="create", definition=definition(name="build-images"))

        with pytest.raises(AirflowFailException) as caught:
            operator.execute({})

        message = str(caught.value)
        assert "Zadig code 6540" in message
        assert "simple-service-demo" in message
        assert "unique across all Zadig projects" in message
        assert isinstance(caught.value.__cause__, ZadigBadRequestError)
        assert simulator.count_requests("POST", CREATE_PATH) == 1

    def test_lint_error_for_missing_project(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        operator = ZadigCreateWorkflowOperator(
            task_id="create", definition=definition(project="no-such-project")
        )

        with pytest.raises(AirflowFailException) as caught:
            operator.execute({})

        assert "Zadig code 6545" in str(caught.value)
        assert "project no-such-project not found" in str(caught.value)
        assert caught.value.__cause__.code == 6545

    def test_basic_license_rejects_limit(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        simulator.settings.license = "basic"
        operator = ZadigCreateWorkflowOperator(task_id="create", definition=definition(concurrency_limit=5))

        with pytest.raises(AirflowFailException) as caught:
            operator.execute({})

        assert "Zadig code 7050" in str(caught.value)
        assert "professional or enterprise license" in str(caught.value)
        assert caught.value.__cause__.code == 7050

    def test_basic_license_accepts_limit_one(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        simulator.settings.license = "basic"

        ZadigCreateWorkflowOperator(task_id="create", definition=definition()).execute({})

        assert "release-svc" in project_keys(zadig_connection)


class TestUpdateWorkflow:
    def test_replaces_definition(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        ZadigCreateWorkflowOperator(task_id="create", definition=definition()).execute({})
        changed = definition(display_name="Release v2", stages=DEFINITION["stages"][:1])

        assert ZadigUpdateWorkflowOperator(task_id="update", definition=changed).execute({}) == "release-svc"

        detail = stored(zadig_connection)
        assert detail.workflow_name == "Release v2"
        assert detail.job_names == ["build-svc"]

    def test_running_twice_gives_same_definition(
        self, simulator: ZadigSimulator, zadig_connection: str
    ) -> None:
        ZadigCreateWorkflowOperator(task_id="create", definition=definition()).execute({})
        changed = definition(description="second version")

        for _ in range(2):
            ZadigUpdateWorkflowOperator(
                task_id="update", definition=changed, workflow_key="release-svc"
            ).execute({})

        assert stored(zadig_connection).description == "second version"
        assert simulator.count_requests("PUT", UPDATE_PATH) == 2

    def test_missing_workflow_fails_without_put(
        self, simulator: ZadigSimulator, zadig_connection: str
    ) -> None:
        with pytest.raises(ZadigError, match="Workflow 'release-svc' not found in project 'lilian-test'"):
            ZadigUpdateWorkflowOperator(task_id="update", definition=definition()).execute({})

        assert writes(simulator) == []

    def test_workflow_of_another_project_is_not_touched(
        self, simulator: ZadigSimulator, zadig_connection: str
    ) -> None:
        # Zadig would replace build-images (project simple-service-demo) and move it to lilian-test.
        with pytest.raises(ZadigError, match="not found in project 'lilian-test'"):
            ZadigUpdateWorkflowOperator(task_id="update", definition=definition(name="build-images")).execute(
                {}
            )

        assert writes(simulator) == []
        assert "build-images" in project_keys(zadig_connection, "simple-service-demo")

    def test_deleted_meanwhile_fails_at_once(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        ZadigCreateWorkflowOperator(task_id="create", definition=definition()).execute({})
        simulator.add_fault(
            "PUT", UPDATE_PATH, status=400, body=coded_error(6542, "mongo: no documents in result")
        )

        with pytest.raises(AirflowFailException) as caught:
            ZadigUpdateWorkflowOperator(task_id="update", definition=definition()).execute({})

        assert "ZadigSyncWorkflowOperator, which creates missing workflows" in str(caught.value)
        assert isinstance(caught.value.__cause__, ZadigNotFoundError)
        assert simulator.count_requests("PUT", UPDATE_PATH) == 1

    def test_duplicate_display_name_rejected(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        ZadigCreateWorkflowOperator(task_id="create", definition=definition()).execute({})
        taken = definition(display_name="offline service")

        with pytest.raises(AirflowFailException) as caught:
            ZadigUpdateWorkflowOperator(task_id="update", definition=taken).execute({})

        assert "Zadig code 6540" in str(caught.value)
        assert "same display name" in str(caught.value)
        assert stored(zadig_connection).workflow_name == "Release service"

    def test_basic_license_rejects_limit(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        ZadigCreateWorkflowOperator(task_id="create", definition=definition()).execute({})
        simulator.settings.license = "basic"

        with pytest.raises(AirflowFailException, match="Zadig code 7050"):
            ZadigUpdateWorkflowOperator(task_id="update", definition=definition(concurrency_limit=3)).execute(
                {}
            )

    def test_key_mismatch_rejected(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        operator = ZadigUpdateWorkflowOperator(
            task_id="update", definition=definition(), workflow_key="other"
        )

        with pytest.raises(ZadigConfigurationError, match="differs from the definition's name"):
            operator.execute({})

        assert simulator.requests == []


class TestDeleteWorkflow:
    def delete(self, **kwargs: Any) -> ZadigDeleteWorkflowOperator:
        arguments: dict[str, Any] = {
            "task_id": "delete",
            "workflow_key": "just-deploy",
            "project_key": PROJECT,
        }
        arguments.update(kwargs)
        return ZadigDeleteWorkflowOperator(**arguments)

    def test_deletes(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        assert self.delete().execute({}) is True

        assert "just-deploy" not in project_keys(zadig_connection)
        assert [request.query for request in simulator.requests if request.method == "DELETE"] == [
            {"workflowKey": "just-deploy", "projectKey": PROJECT}
        ]

    def test_running_twice_succeeds(
        self, simulator: ZadigSimulator, zadig_connection: str, capfd: pytest.CaptureFixture[str]
    ) -> None:
        self.delete().execute({})

        assert self.delete().execute({}) is False

        assert "Project lilian-test has no workflow just-deploy; nothing to delete" in output(capfd)
        assert simulator.count_requests("DELETE", DELETE_PATH) == 1

    def test_missing_fails_when_asked(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        with pytest.raises(ZadigError, match="workflow 'gone' not found in project 'lilian-test'"):
            self.delete(workflow_key="gone", fail_if_missing=True).execute({})

        assert writes(simulator) == []

    def test_workflow_of_another_project_stays(
        self, simulator: ZadigSimulator, zadig_connection: str
    ) -> None:
        assert self.delete(workflow_key="build-images").execute({}) is False

        assert "build-images" in project_keys(zadig_connection, "simple-service-demo")
        assert writes(simulator) == []

    def test_deleted_meanwhile_is_success(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        simulator.add_fault(
            "DELETE", DELETE_PATH, status=400, body=coded_error(6543, "mongo: no documents in result")
        )

        assert self.delete().execute({}) is False

    @pytest.mark.parametrize(
        "arguments", [{"workflow_key": ""}, {"project_key": " "}, {"workflow_key": None}]
    )
    def test_empty_key_rejected(
        self, simulator: ZadigSimulator, zadig_connection: str, arguments: dict[str, Any]
    ) -> None:
        with pytest.raises(ZadigConfigurationError):
            self.delete(**arguments).execute({})

        assert simulator.requests == []


class TestSyncWorkflow:
    def write_definition(self, folder: Path, body: dict[str, Any]) -> None:
        (folder / "workflows").mkdir(exist_ok=True)
        (folder / "workflows" / "release-svc.yaml").write_text(yaml.safe_dump(body, allow_unicode=True))

    def sync_in_dag(self, folder: Path, **kwargs: Any) -> ZadigSyncWorkflowOperator:
        with DAG(dag_id="sync_test", schedule=None, start_date=datetime(2025, 1, 1)) as dag:
            operator = ZadigSyncWorkflowOperator(
                task_id="sync", definition="workflows/release-svc.yaml", **kwargs
            )
        dag.fileloc = str(folder / "release_dag.py")
        return operator

    def test_creates_then_updates_from_dag_folder(
        self, simulator: ZadigSimulator, zadig_connection: str, tmp_path: Path
    ) -> None:
        self.write_definition(tmp_path, definition())
        assert self.sync_in_dag(tmp_path).execute({}) == "release-svc"
        assert stored(zadig_connection).workflow_name == "Release service"

        self.write_definition(tmp_path, definition(display_name="Release v2"))
        assert self.sync_in_dag(tmp_path).execute({}) == "release-svc"

        assert stored(zadig_connection).workflow_name == "Release v2"
        assert writes(simulator) == [("POST", CREATE_PATH), ("PUT", UPDATE_PATH)]

    def test_running_twice_gives_same_workflow(
        self, simulator: ZadigSimulator, zadig_connection: str, tmp_path: Path
    ) -> None:
        self.write_definition(tmp_path, definition())

        self.sync_in_dag(tmp_path).execute({})
        first = stored(zadig_connection).model_dump(exclude={"update_time", "create_time"})
        self.sync_in_dag(tmp_path).execute({})

        assert stored(zadig_connection).model_dump(exclude={"update_time", "create_time"}) == first
        assert project_keys(zadig_connection).count("release-svc") == 1

    def test_template_searchpath(
        self, simulator: ZadigSimulator, zadig_connection: str, tmp_path: Path
    ) -> None:
        self.write_definition(tmp_path, definition())
        with DAG(
            dag_id="sync_test",
            schedule=None,
            start_date=datetime(2025, 1, 1),
            template_searchpath=str(tmp_path),
        ):
            operator = ZadigSyncWorkflowOperator(task_id="sync", definition="workflows/release-svc.yaml")

        assert operator.execute({}) == "release-svc"

    def test_absolute_path(self, simulator: ZadigSimulator, zadig_connection: str, tmp_path: Path) -> None:
        self.write_definition(tmp_path, definition())
        path = tmp_path / "workflows" / "release-svc.yaml"

        ZadigSyncWorkflowOperator(task_id="sync", definition=str(path)).execute({})
        ZadigSyncWorkflowOperator(task_id="sync", definition=path).execute({})

        assert writes(simulator) == [("POST", CREATE_PATH), ("PUT", UPDATE_PATH)]

    def test_yaml_text(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        text = yaml.safe_dump(definition())

        ZadigSyncWorkflowOperator(task_id="sync", definition=text).execute({})

        assert stored(zadig_connection).job_names == ["build-svc", "deploy-svc"]

    def test_shipped_example_definition(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        example = Path(__file__).parents[2] / "example_dags" / "workflows" / "demo-release-as-code.yaml"

        for _ in range(2):
            ZadigSyncWorkflowOperator(task_id="sync", definition=example).execute({})

        detail = ZadigHook(zadig_conn_id=zadig_connection).get_workflow(
            "demo-release-as-code", "simple-service-demo"
        )
        assert detail.job_names == ["build-service", "deploy-service"]

    def test_view_membership_on_create_and_update(
        self, simulator: ZadigSimulator, zadig_connection: str
    ) -> None:
        hook = ZadigHook(zadig_conn_id=zadig_connection)
        ZadigSyncWorkflowOperator(task_id="sync", definition=definition(), view_name="test-view").execute({})
        hook.update_workflow_view(PROJECT, "test-view", remove=["release-svc"])

        ZadigSyncWorkflowOperator(task_id="sync", definition=definition(), view_name="test-view").execute({})
        ZadigSyncWorkflowOperator(task_id="sync", definition=definition(), view_name="test-view").execute({})

        assert hook.list_workflow_views(PROJECT)[0].workflow_keys == ["xiaxianfuwu", "release-svc"]

    def test_missing_view_rejected(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        with pytest.raises(ZadigConfigurationError, match="view 'release' not found"):
            ZadigSyncWorkflowOperator(task_id="sync", definition=definition(), view_name="release").execute(
                {}
            )

        assert writes(simulator) == []

    def test_key_of_another_project(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        with pytest.raises(AirflowFailException, match="Zadig code 6540"):
            ZadigSyncWorkflowOperator(task_id="sync", definition=definition(name="build-images")).execute({})

        assert simulator.count_requests("PUT", f"{CREATE_PATH}/build-images") == 0

    def test_concurrency_limit_zero_warns(
        self, simulator: ZadigSimulator, zadig_connection: str, capfd: pytest.CaptureFixture[str]
    ) -> None:
        ZadigSyncWorkflowOperator(task_id="sync", definition=definition(concurrency_limit=0)).execute({})

        assert "Zadig never starts tasks of this workflow" in output(capfd)

    def test_stage_approval_warns(
        self, simulator: ZadigSimulator, zadig_connection: str, capfd: pytest.CaptureFixture[str]
    ) -> None:
        stages = copy.deepcopy(DEFINITION["stages"])
        stages[1]["approval"] = {"enabled": True, "type": "native"}

        ZadigSyncWorkflowOperator(task_id="sync", definition=definition(stages=stages)).execute({})

        assert "stage 'deploy' has a stage-level 'approval'" in output(capfd)


INVALID_DEFINITIONS = [
    pytest.param(definition(name="release_svc"), "invalid workflow key 'release_svc'", id="key"),
    pytest.param(definition(project=""), "'project' is empty", id="empty-project"),
    pytest.param(
        definition(stages=[{"name": "a", "jobs": []}, {"name": "a", "jobs": []}]),
        "stage name 'a' is used more than once",
        id="duplicate-stage",
    ),
    pytest.param(
        definition(
            stages=[
                {"name": "a", "jobs": [{"name": "run", "type": "freestyle"}]},
                {"name": "b", "jobs": [{"name": "run", "type": "freestyle"}]},
            ]
        ),
        "job name 'run' is used more than once",
        id="duplicate-job",
    ),
    pytest.param(
        definition(stages=[{"name": "a", "jobs": [{"name": "Build_Svc", "type": "freestyle"}]}]),
        "invalid job name 'Build_Svc'",
        id="job-name",
    ),
    pytest.param(definition(colour="blue"), "colour: Extra inputs are not permitted", id="unknown-key"),
    pytest.param({"project": PROJECT}, "name: Field required", id="no-name"),
    pytest.param("name: [unclosed", "invalid YAML", id="bad-yaml"),
    pytest.param("- a\n- b\n", "expected a mapping, got list", id="yaml-list"),
    pytest.param("workflows/missing.yaml", "file 'workflows/missing.yaml' not found", id="missing-file"),
]


class TestRejectedBeforeSending:
    @pytest.mark.parametrize(("source", "message"), INVALID_DEFINITIONS)
    @pytest.mark.parametrize(
        "operator_class",
        [ZadigCreateWorkflowOperator, ZadigUpdateWorkflowOperator, ZadigSyncWorkflowOperator],
    )
    def test_invalid_definition(
        self,
        simulator: ZadigSimulator,
        zadig_connection: str,
        operator_class: type[Any],
        source: Any,
        message: str,
    ) -> None:
        with pytest.raises(ZadigConfigurationError, match=message):
            operator_class(task_id="op", definition=source).execute({})

        assert simulator.requests == []

    def test_every_problem_in_one_message(self, simulator: ZadigSimulator, zadig_connection: str) -> None:
        source = definition(
            name="bad key", stages=[{"name": "a", "jobs": [{"name": "A", "type": "freestyle"}]}]
        )

        with pytest.raises(ZadigConfigurationError) as caught:
            ZadigSyncWorkflowOperator(task_id="sync", definition=source).execute({})

        assert "invalid workflow key 'bad key'" in str(caught.value)
        assert "invalid job name 'A'" in str(caught.value)


class TestLoadWorkflowDefinition:
    def test_model_passes_through(self) -> None:
        model = WorkflowDefinition.model_validate(definition())

        assert load_workflow_definition(model) is model

    def test_json_file(self, tmp_path: Path) -> None:
        (tmp_path / "release.json").write_text(json.dumps(definition()))

        loaded = load_workflow_definition("release.json", [tmp_path])

        assert loaded.name == "release-svc"

    def test_first_search_dir_wins(self, tmp_path: Path) -> None:
        first, second = tmp_path / "first", tmp_path / "second"
        for folder, name in ((first, "from-first"), (second, "from-second")):
            folder.mkdir()
            (folder / "release.yml").write_text(yaml.safe_dump(definition(name=name)))

        assert load_workflow_definition("release.yml", [first, second]).name == "from-first"

    def test_missing_file_lists_places(self, tmp_path: Path) -> None:
        with pytest.raises(ZadigConfigurationError) as caught:
            load_workflow_definition("release.yaml", [tmp_path / "a", tmp_path / "b"])

        assert str(tmp_path / "a" / "release.yaml") in str(caught.value)
        assert str(tmp_path / "b" / "release.yaml") in str(caught.value)

    def test_chinese_names(self) -> None:
        text = (
            "name: release\nproject: demo\n"
            "stages:\n  - name: 构建\n    jobs:\n      - name: 构建-svc\n        type: freestyle\n"
        )

        loaded = load_workflow_definition(text)

        assert loaded.stages[0].jobs[0].name == "构建-svc"


class TestTemplateFields:
    def test_definition_is_not_templated(self) -> None:
        for operator_class in (
            ZadigCreateWorkflowOperator,
            ZadigUpdateWorkflowOperator,
            ZadigSyncWorkflowOperator,
        ):
            assert "definition" not in operator_class.template_fields

    def test_keys_are_templated(self) -> None:
        assert set(ZadigDeleteWorkflowOperator.template_fields) == {
            "workflow_key",
            "project_key",
            "zadig_conn_id",
        }
        assert set(ZadigUpdateWorkflowOperator.template_fields) == {"workflow_key", "zadig_conn_id"}
        assert set(ZadigSyncWorkflowOperator.template_fields) == {"view_name", "zadig_conn_id"}
