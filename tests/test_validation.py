from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_zadig.exceptions import ZadigConfigurationError
from airflow_provider_zadig.models import (
    JobInput,
    WorkflowDefinition,
    WorkflowDetail,
    WorkflowParameter,
)
from airflow_provider_zadig.validation import check_execute_request, validate_workflow_definition

RELEASE_WORKFLOW: dict[str, Any] = {
    "workflow_key": "rel",
    "project_key": "demo",
    "params": [
        {"name": "env", "type": "choice", "value": "dev", "choice_option": ["dev", "staging", "prod"]},
        {"name": "branch", "type": "string", "value": "main"},
        {"name": "release-id", "type": "string", "value": "", "source": "fixed"},
        {
            "name": "code",
            "type": "repo",
            "repo": {"source": "gitlab", "repo_namespace": "team", "repo_name": "svc", "branch": "main"},
        },
    ],
    "stages": [
        {"name": "build", "jobs": [{"name": "build-svc", "type": "zadig-build"}]},
        {"name": "deploy", "jobs": [{"name": "deploy-svc", "type": "zadig-deploy"}]},
    ],
}

REPO_VALUE = {"codehost_name": "gitlab", "repo_namespace": "team", "repo_name": "svc", "branch": "main"}


@pytest.fixture
def workflow() -> WorkflowDetail:
    return WorkflowDetail.model_validate(RELEASE_WORKFLOW)


def definition(**overrides: Any) -> WorkflowDefinition:
    body: dict[str, Any] = {
        "name": "release-svc",
        "project": "demo",
        "concurrency_limit": 1,
        "stages": [
            {"name": "build", "jobs": [{"name": "build-svc", "type": "zadig-build"}]},
            {"name": "deploy", "jobs": [{"name": "deploy-svc", "type": "zadig-deploy"}]},
        ],
    }
    body.update(overrides)
    return WorkflowDefinition.model_validate(body)


class TestCheckExecuteRequest:
    def test_valid_request_has_no_warnings(self, workflow: WorkflowDetail) -> None:
        warnings = check_execute_request(
            workflow,
            [WorkflowParameter(name="env", type="choice", value="prod")],
            [JobInput(job_name="build-svc"), JobInput(job_name="deploy-svc")],
        )

        assert warnings == []

    def test_no_parameters_or_inputs(self, workflow: WorkflowDetail) -> None:
        assert check_execute_request(workflow, None, None) == []

    def test_misspelt_job_name(self, workflow: WorkflowDetail) -> None:
        with pytest.raises(ZadigConfigurationError) as caught:
            check_execute_request(workflow, [], [{"job_name": "biuld-svc", "job_type": "zadig-build"}])

        assert "unknown job 'biuld-svc' in inputs (known: build-svc, deploy-svc)" in str(caught.value)

    def test_jobs_left_out_of_inputs_warn(self, workflow: WorkflowDetail) -> None:
        warnings = check_execute_request(workflow, [], [JobInput(job_name="deploy-svc")])

        assert len(warnings) == 1
        assert "workflow jobs not in inputs: build-svc" in warnings[0]

    def test_duplicate_job_input(self, workflow: WorkflowDetail) -> None:
        with pytest.raises(ZadigConfigurationError, match="job 'build-svc' is given more than once"):
            check_execute_request(workflow, [], [{"job_name": "build-svc"}, {"job_name": "build-svc"}])

    def test_bad_choice_value(self, workflow: WorkflowDetail) -> None:
        with pytest.raises(ZadigConfigurationError) as caught:
            check_execute_request(workflow, [{"name": "env", "type": "choice", "value": "prod2"}], [])

        assert "invalid value 'prod2' for choice parameter 'env' (options: dev, staging, prod)" in str(
            caught.value
        )

    def test_unknown_parameter(self, workflow: WorkflowDetail) -> None:
        with pytest.raises(ZadigConfigurationError) as caught:
            check_execute_request(workflow, [{"name": "colour", "type": "string", "value": "x"}], [])

        message = str(caught.value)
        assert "unknown parameter 'colour'" in message
        assert "known: env, branch, release-id, code" in message

    def test_unknown_parameter_without_params(self) -> None:
        bare = WorkflowDetail.model_validate({"workflow_key": "bare"})

        with pytest.raises(ZadigConfigurationError, match="the workflow defines no parameters"):
            check_execute_request(bare, [{"name": "colour", "value": "x"}])

    def test_every_problem_is_listed(self, workflow: WorkflowDetail) -> None:
        with pytest.raises(ZadigConfigurationError) as caught:
            check_execute_request(
                workflow,
                [{"name": "colour", "value": "x"}, {"name": "env", "type": "choice", "value": "prod2"}],
                [{"job_name": "biuld-svc"}],
            )

        message = str(caught.value)
        assert "'biuld-svc'" in message
        assert "'colour'" in message
        assert "'prod2'" in message

    def test_duplicate_parameter(self, workflow: WorkflowDetail) -> None:
        with pytest.raises(ZadigConfigurationError, match="parameter 'branch' is given more than once"):
            check_execute_request(
                workflow, [{"name": "branch", "value": "a"}, {"name": "branch", "value": "b"}]
            )

    def test_repo_parameter_without_repo(self, workflow: WorkflowDetail) -> None:
        with pytest.raises(ZadigConfigurationError, match="'code' is a repo parameter"):
            check_execute_request(workflow, [{"name": "code", "type": "string", "value": "main"}])

    def test_repo_value_on_string_parameter(self, workflow: WorkflowDetail) -> None:
        parameter = {"name": "branch", "type": "repo", "repo": REPO_VALUE}

        with pytest.raises(ZadigConfigurationError, match="takes 'value', not 'repo'"):
            check_execute_request(workflow, [parameter])

    def test_repo_prs_must_be_integers(self, workflow: WorkflowDetail) -> None:
        parameter = {"name": "code", "type": "repo", "repo": {**REPO_VALUE, "prs": ["12a"]}}

        with pytest.raises(ZadigConfigurationError) as caught:
            check_execute_request(workflow, [parameter])

        assert "invalid parameters[0]" in str(caught.value)
        assert "repo.prs" in str(caught.value)

    def test_repo_prs_must_be_positive(self, workflow: WorkflowDetail) -> None:
        parameter = {"name": "code", "type": "repo", "repo": {**REPO_VALUE, "prs": [0]}}

        with pytest.raises(ZadigConfigurationError, match="positive pull request numbers"):
            check_execute_request(workflow, [parameter])

    def test_repo_prs_from_template_text(self, workflow: WorkflowDetail) -> None:
        parameter = {"name": "code", "type": "repo", "repo": {**REPO_VALUE, "prs": "[12]"}}

        assert check_execute_request(workflow, [parameter]) == []

    def test_explicit_type_mismatch_warns(self, workflow: WorkflowDetail) -> None:
        warnings = check_execute_request(workflow, [{"name": "env", "type": "string", "value": "dev"}])

        assert warnings == [
            "parameter 'env' is sent with type 'string', but the workflow defines it as 'choice'"
        ]

    def test_omitted_type_does_not_warn(self, workflow: WorkflowDetail) -> None:
        assert check_execute_request(workflow, [{"name": "env", "value": "dev"}]) == []

    def test_fixed_parameter_warns(self, workflow: WorkflowDetail) -> None:
        warnings = check_execute_request(workflow, [{"name": "release-id", "value": "r-1"}])

        assert len(warnings) == 1
        assert "fixed value" in warnings[0]

    def test_malformed_input_dict(self, workflow: WorkflowDetail) -> None:
        with pytest.raises(ZadigConfigurationError) as caught:
            check_execute_request(workflow, [], [{"job_nmae": "build-svc"}])

        assert "invalid inputs[0]: job_name: Field required" in str(caught.value)
        assert "job_nmae: Extra inputs are not permitted" in str(caught.value)


class TestValidateWorkflowDefinition:
    def test_valid_definition(self) -> None:
        assert validate_workflow_definition(definition()) == []

    @pytest.mark.parametrize("key", ["release_svc", "release svc", "发布", ""])
    def test_invalid_workflow_key(self, key: str) -> None:
        with pytest.raises(ZadigConfigurationError, match="invalid workflow key"):
            validate_workflow_definition(definition(name=key))

    def test_workflow_key_with_trailing_newline(self) -> None:
        with pytest.raises(ZadigConfigurationError, match="invalid workflow key"):
            validate_workflow_definition(definition(name="release\n"))

    def test_empty_project(self) -> None:
        with pytest.raises(ZadigConfigurationError, match="'project' is empty"):
            validate_workflow_definition(definition(project=" "))

    def test_duplicate_stage_name(self) -> None:
        stages = [
            {"name": "build", "jobs": [{"name": "a", "type": "freestyle"}]},
            {"name": "build", "jobs": [{"name": "b", "type": "freestyle"}]},
        ]

        with pytest.raises(ZadigConfigurationError, match="stage name 'build' is used more than once"):
            validate_workflow_definition(definition(stages=stages))

    def test_duplicate_job_name_across_stages(self) -> None:
        stages = [
            {"name": "build", "jobs": [{"name": "run", "type": "freestyle"}]},
            {"name": "test", "jobs": [{"name": "run", "type": "freestyle"}]},
        ]

        with pytest.raises(ZadigConfigurationError, match="job name 'run' is used more than once"):
            validate_workflow_definition(definition(stages=stages))

    @pytest.mark.parametrize("name", ["Build", "1build", "build_svc", "-build", "b" * 33, ""])
    def test_invalid_job_name(self, name: str) -> None:
        stages = [{"name": "build", "jobs": [{"name": name, "type": "freestyle"}]}]

        with pytest.raises(ZadigConfigurationError, match="invalid job name"):
            validate_workflow_definition(definition(stages=stages))

    @pytest.mark.parametrize("name", ["b", "b" * 32, "build-2", "构建", "构建-svc"])
    def test_valid_job_name(self, name: str) -> None:
        stages = [{"name": "build", "jobs": [{"name": name, "type": "freestyle"}]}]

        assert validate_workflow_definition(definition(stages=stages)) == []

    @pytest.mark.parametrize("limit", [0, -2, None])
    def test_concurrency_limit_that_never_starts(self, limit: int | None) -> None:
        warnings = validate_workflow_definition(definition(concurrency_limit=limit))

        assert len(warnings) == 1
        assert "never starts tasks" in warnings[0]

    @pytest.mark.parametrize("limit", [-1, 1, 5])
    def test_concurrency_limit_that_runs(self, limit: int) -> None:
        assert validate_workflow_definition(definition(concurrency_limit=limit)) == []

    def test_stage_approval_warns(self) -> None:
        approval = {"enabled": True, "type": "native", "native_approval": {"needed_approvers": 1}}
        stages = [
            {"name": "deploy", "approval": approval, "jobs": [{"name": "deploy", "type": "zadig-deploy"}]}
        ]

        warnings = validate_workflow_definition(definition(stages=stages))

        assert len(warnings) == 1
        assert "stage 'deploy' has a stage-level 'approval'" in warnings[0]
        assert "type 'approval'" in warnings[0]

    def test_disabled_stage_approval_is_quiet(self) -> None:
        stages = [{"name": "deploy", "approval": {"enabled": False}, "jobs": []}]

        assert validate_workflow_definition(definition(stages=stages)) == []

    def test_every_problem_is_listed(self) -> None:
        stages = [{"name": "build", "jobs": [{"name": "Build", "type": "freestyle"}]}]

        with pytest.raises(ZadigConfigurationError) as caught:
            validate_workflow_definition(definition(name="bad key", project="", stages=stages))

        message = str(caught.value)
        assert "invalid workflow key 'bad key'" in message
        assert "'project' is empty" in message
        assert "invalid job name 'Build'" in message


def test_definition_accepted_as_dict():
    definition = {"name": "rel", "project": "demo", "concurrency_limit": 1, "stages": []}
    assert validate_workflow_definition(definition) == []


def test_definition_dict_with_unknown_key_rejected():
    definition = {"name": "rel", "project": "demo", "concurency_limit": 1}
    with pytest.raises(ZadigConfigurationError, match="concurency_limit"):
        validate_workflow_definition(definition)
