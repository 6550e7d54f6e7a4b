"""
ZadigExecuteWorkflowOperator's request: rendering, type coercion, checks before any request, masking.

Runs against the Zadig simulator over HTTP and renders templates with Airflow's own code, so the
body checked here is what the server received.
"""

from __future__ import annotations

from typing import Any

import jinja2
import pytest
from airflow.sdk._shared.secrets_masker import redact
from airflow.sdk.exceptions import AirflowFailException
from airflow.sdk.execution_time.task_runner import _serialize_rendered_fields
from structlog.testing import capture_logs
from workflow_runtime import (
    DAG_ID,
    RELEASE_WORKFLOW,
    RUN_ID,
    FakeSupervisor,
    create_release_workflow,
    install_supervisor,
    make_context,
    make_dag,
    render,
    run_task,
)

from airflow_provider_zadig.exceptions import ZadigBadRequestError, ZadigNotFoundError
from airflow_provider_zadig.operators.workflow import ZadigExecuteWorkflowOperator
from airflow_provider_zadig.simulator import ZadigSimulator

TASK_PATH = "/openapi/workflows/custom/task"
PROJECT = RELEASE_WORKFLOW["project"]
WORKFLOW = RELEASE_WORKFLOW["name"]


@pytest.fixture
def supervisor(monkeypatch: pytest.MonkeyPatch) -> FakeSupervisor:
    return install_supervisor(monkeypatch)


@pytest.fixture
def release(zadig_connection: str, simulator: ZadigSimulator) -> str:
    create_release_workflow(zadig_connection)
    simulator.clear_requests()
    return zadig_connection


def make_operator(dag_kwargs: dict[str, Any] | None = None, **overrides: Any) -> ZadigExecuteWorkflowOperator:
    kwargs: dict[str, Any] = {
        "task_id": "run_release",
        "project_key": PROJECT,
        "workflow_key": WORKFLOW,
        "check_interval": 0.02,
    }
    kwargs.update(overrides)
    with make_dag(**(dag_kwargs or {})):
        return ZadigExecuteWorkflowOperator(**kwargs)


def posted_body(simulator: ZadigSimulator) -> dict[str, Any]:
    bodies = [r.json for r in simulator.requests if r.method == "POST" and r.path == TASK_PATH]
    assert len(bodies) == 1
    return bodies[0]


def templated_parameters() -> list[dict[str, Any]]:
    return [
        {"name": "branch", "type": "string", "value": "{{ dag_run.conf['branch'] }}"},
        {"name": "replicas", "type": "string", "value": 3},
        {
            "name": "code",
            "type": "repo",
            "repo": {
                "codehost_name": "gitlab",
                "repo_namespace": "team",
                "repo_name": "svc",
                "branch": "{{ params.br }}",
                "prs": "{{ ti.xcom_pull(task_ids='find_pr') }}",
            },
        },
    ]


class TestTemplates:
    @pytest.mark.parametrize("pull_request", [[12], "12", 12], ids=["list", "text", "number"])
    def test_nested_templates_rendered_and_typed(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor, pull_request: Any
    ) -> None:
        supervisor.xcoms[(DAG_ID, RUN_ID, "find_pr", -1, "return_value")] = pull_request
        inputs = [
            {
                "job_name": "deploy-svc",
                "job_type": "zadig-deploy",
                "parameters": {"env_name": "{{ params.env }}"},
            }
        ]
        operator = make_operator(parameters=templated_parameters(), inputs=inputs)
        context = make_context(
            supervisor, operator, params={"br": "release/1.2", "env": "staging"}, conf={"branch": "hotfix"}
        )

        render(operator, context)
        run_task(operator, context)

        body = posted_body(simulator)
        parameters = {parameter["name"]: parameter for parameter in body["parameters"]}
        assert parameters["branch"]["value"] == "hotfix"
        assert parameters["replicas"]["value"] == "3"
        assert parameters["code"]["repo"]["prs"] == [12]
        assert parameters["code"]["repo"]["branch"] == "release/1.2"
        assert body["inputs"][0]["parameters"] == {"env_name": "staging"}

    def test_rendered_view_shows_values(self, supervisor: FakeSupervisor) -> None:
        operator = make_operator(parameters=templated_parameters())
        context = make_context(supervisor, operator, params={"br": "main"}, conf={"branch": "hotfix"})

        render(operator, context)

        rendered = _serialize_rendered_fields(operator)
        assert rendered["parameters"][0]["value"] == "hotfix"
        assert rendered["parameters"][2]["repo"]["branch"] == "main"

    def test_leftover_template_fails_before_post(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        parameters = [{"name": "branch", "value": "{{ params.missing }}"}]
        # DebugUndefined leaves an undefined variable's template in the rendered text.
        operator = make_operator(
            dag_kwargs={"template_undefined": jinja2.DebugUndefined}, parameters=parameters
        )
        context = make_context(supervisor, operator)

        render(operator, context)
        with pytest.raises(AirflowFailException, match=r"parameters\[0\]\.value"):
            run_task(operator, context)

        assert simulator.requests == []
        assert supervisor.xcom("run_release", "zadig_task_id") is None

    def test_template_text_from_conf_fails_before_post(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        inputs = [{"job_name": "deploy-svc", "parameters": {"env_name": "{{ dag_run.conf['env'] }}"}}]
        operator = make_operator(inputs=inputs)
        context = make_context(supervisor, operator, conf={"env": "{{ params.env }}"})

        render(operator, context)
        with pytest.raises(AirflowFailException, match=r"inputs\[0\]\.parameters\.env_name"):
            run_task(operator, context)

        assert simulator.requests == []

    @pytest.mark.parametrize("prs", ["twelve", "[12, 'x']", True])
    def test_invalid_pull_request_fails_before_post(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor, prs: Any
    ) -> None:
        parameters = templated_parameters()
        parameters[2]["repo"]["prs"] = prs
        parameters[0]["value"] = "main"
        parameters[2]["repo"]["branch"] = "main"
        operator = make_operator(parameters=parameters)

        with pytest.raises(AirflowFailException, match=r"parameters\[2\]\.repo\.prs"):
            run_task(operator, make_context(supervisor, operator))

        assert simulator.requests == []

    @pytest.mark.parametrize(
        ("argument", "value"),
        [
            ("parameters", {"branch": "main"}),
            ("parameters", "[{'name': 'branch'}]"),
            ("inputs", "deploy-svc"),
        ],
    )
    def test_non_list_argument_fails(self, supervisor: FakeSupervisor, argument: str, value: Any) -> None:
        operator = make_operator(**{argument: value})

        with pytest.raises(AirflowFailException, match=f"invalid {argument}"):
            run_task(operator, make_context(supervisor, operator))

    @pytest.mark.parametrize("workflow_key", ["", "   ", None])
    def test_empty_workflow_key_fails(self, supervisor: FakeSupervisor, workflow_key: Any) -> None:
        operator = make_operator(workflow_key=workflow_key)

        with pytest.raises(AirflowFailException, match="invalid workflow_key"):
            run_task(operator, make_context(supervisor, operator))

    def test_empty_parameter_name_fails(self, supervisor: FakeSupervisor) -> None:
        operator = make_operator(parameters=[{"name": "", "value": "x"}])

        with pytest.raises(AirflowFailException, match=r"parameters\[0\]\.name"):
            run_task(operator, make_context(supervisor, operator))


class TestUnknownWorkflow:
    def test_wrong_key_posts_once_and_skips_retries(
        self, zadig_connection: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        operator = make_operator(project_key="lilian-test", workflow_key="Build & Deploy", check_inputs=False)

        with pytest.raises(AirflowFailException) as failure:
            run_task(operator, make_context(supervisor, operator))

        message = str(failure.value)
        assert simulator.count_requests("POST", TASK_PATH) == 1
        assert "6542" in message
        assert "查询workflow失败" in message
        assert "mongo: no documents in result" in message
        assert "'Build & Deploy'" in message
        assert "display name" in message
        assert isinstance(failure.value.__cause__, ZadigNotFoundError)
        assert failure.value.__cause__.code == 6542
        assert supervisor.xcom("run_release", "zadig_task_id") is None
        assert supervisor.stored_state("run_release") == {}

    def test_wrong_key_found_by_workflow_check(
        self, zadig_connection: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        operator = make_operator(project_key="lilian-test", workflow_key="build_deploy")

        with pytest.raises(AirflowFailException, match="display name"):
            run_task(operator, make_context(supervisor, operator))

        assert simulator.count_requests("POST", TASK_PATH) == 0


class TestWorkflowProject:
    def test_wrong_project_executes_nothing(
        self, zadig_connection: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        operator = make_operator(project_key="simple-service-demo", workflow_key="build-deploy")

        with pytest.raises(AirflowFailException, match="not in Zadig project 'simple-service-demo'"):
            run_task(operator, make_context(supervisor, operator))

        assert simulator.count_requests("POST", TASK_PATH) == 0

    def test_display_name_suggests_key(
        self, zadig_connection: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        operator = make_operator(project_key="lilian-test", workflow_key="offline service")

        with pytest.raises(AirflowFailException, match="display name of the workflow with key 'xiaxianfuwu'"):
            run_task(operator, make_context(supervisor, operator))

        assert simulator.count_requests("POST", TASK_PATH) == 0


class TestServerRejections:
    @pytest.mark.parametrize(
        ("parameter", "description"),
        [
            ({"name": "env", "type": "choice", "value": "prod2"}, "invalid choice value prod2"),
            ({"name": "colour", "type": "string", "value": "x"}, "param colour not found"),
        ],
    )
    def test_http_500_input_error_posts_once(
        self,
        release: str,
        simulator: ZadigSimulator,
        supervisor: FakeSupervisor,
        parameter: dict[str, Any],
        description: str,
    ) -> None:
        operator = make_operator(parameters=[parameter], check_inputs=False)

        # An Airflow retry would send the same rejected request again, so the task fails without one.
        with pytest.raises(AirflowFailException, match=description) as raised:
            run_task(operator, make_context(supervisor, operator))

        assert isinstance(raised.value.__cause__, ZadigBadRequestError)
        assert simulator.count_requests("POST", TASK_PATH) == 1
        assert supervisor.xcom("run_release", "zadig_task_id") is None

    @pytest.mark.parametrize(
        ("parameter", "problem"),
        [
            ({"name": "env", "type": "choice", "value": "prod2"}, "prod2"),
            ({"name": "colour", "type": "string", "value": "x"}, "colour"),
        ],
    )
    def test_input_checks_stop_before_post(
        self,
        release: str,
        simulator: ZadigSimulator,
        supervisor: FakeSupervisor,
        parameter: dict[str, Any],
        problem: str,
    ) -> None:
        operator = make_operator(parameters=[parameter])

        with pytest.raises(AirflowFailException, match=problem):
            run_task(operator, make_context(supervisor, operator))

        assert simulator.count_requests("POST", TASK_PATH) == 0


class TestCredentials:
    SECRET = "canary-db-51"

    def test_flagged_parameter_masked(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        parameters = [{"name": "db_password", "value": "{{ params.pw }}", "is_credential": True}]
        operator = make_operator(parameters=parameters)
        context = make_context(supervisor, operator, params={"pw": self.SECRET})

        with capture_logs() as logs:
            render(operator, context)
            rendered = _serialize_rendered_fields(operator)
            run_task(operator, context)

        assert self.SECRET in supervisor.masked
        assert redact(f"password is {self.SECRET}") == "password is ***"
        assert self.SECRET not in repr(rendered)
        assert self.SECRET not in repr(logs)
        assert self.SECRET not in repr(supervisor.xcoms)
        assert "is_credential" not in posted_body(simulator)["parameters"][0]
        assert posted_body(simulator)["parameters"][0]["value"] == self.SECRET

    def test_parameter_flagged_by_workflow_masked(
        self, release: str, simulator: ZadigSimulator, supervisor: FakeSupervisor
    ) -> None:
        secret = "canary-db-52"
        operator = make_operator(parameters=[{"name": "db_password", "value": secret}])
        context = make_context(supervisor, operator)

        with capture_logs() as logs:
            render(operator, context)
            run_task(operator, context)

        assert secret in supervisor.masked
        assert secret not in repr(logs)
        assert secret not in repr(_serialize_rendered_fields(operator))
