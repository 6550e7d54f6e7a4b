"""
Local checks that catch what a Zadig server would reject, or silently ignore, before any request.

:func:`check_execute_request` compares an execute request with the saved workflow. Zadig v3.4 rejects
an unknown parameter or a bad choice value with HTTP 500. It ignores unknown ``inputs[].job_name``
entries, so a misspelt job name turns a release into a run of the saved defaults (v3.4.0), or into a
run where every job is skipped (v3.4.1 and later).

:func:`validate_workflow_definition` applies the lint rules that ``POST /api/aslan/workflow/v4`` and
``PUT /api/aslan/workflow/v4/{name}`` apply in Zadig v3.4, and warns about settings the server accepts
but that make the workflow behave unexpectedly.

Both functions raise :class:`~airflow_provider_zadig.exceptions.ZadigConfigurationError` listing every
problem found, and return the warnings for the caller to log.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_zadig.exceptions import ZadigConfigurationError

if TYPE_CHECKING:
    from airflow_provider_zadig.models import (
        JobInput,
        WorkflowDefinition,
        WorkflowDetail,
        WorkflowParam,
        WorkflowParameter,
    )

#: Workflow keys that Zadig v3.4 accepts when it creates a workflow.
WORKFLOW_KEY_PATTERN = re.compile(r"[a-zA-Z0-9-]+")
#: Job names that Zadig v3.4 accepts: a lower-case letter or a CJK character, then up to 31 more.
JOB_NAME_PATTERN = re.compile(r"[a-z\u4e00-\u9fa5][a-z0-9\u4e00-\u9fa5-]{0,31}")


def check_execute_request(
    workflow: WorkflowDetail,
    parameters: Sequence[WorkflowParameter | Mapping[str, Any]] | None = None,
    inputs: Sequence[JobInput | Mapping[str, Any]] | None = None,
) -> list[str]:
    """
    Check an execute request's parameters and job inputs against the saved workflow.

    :param workflow: the workflow detail, as returned by ``ZadigHook.get_workflow``.
    :param parameters: the ``parameters`` of the request, as models or plain dicts.
    :param inputs: the ``inputs`` of the request, as models or plain dicts. ``None`` or an empty list
        means that no job inputs are sent.
    :return: warnings that do not stop the request, such as workflow jobs left out of ``inputs``.
    :raises ZadigConfigurationError: listing every unknown job name, unknown parameter name, choice
        value outside the parameter's options, and ``repo`` parameter of the wrong shape.
    """
    parsed_parameters = _parse_items(parameters, "parameters")
    parsed_inputs = _parse_items(inputs, "inputs")
    errors: list[str] = []
    warnings: list[str] = []

    _check_inputs(workflow, parsed_inputs, errors, warnings)
    for parameter in parsed_parameters:
        _check_parameter(workflow, parameter, errors, warnings)
    for name in _duplicates(parameter.name for parameter in parsed_parameters):
        errors.append(f"parameter {name!r} is given more than once")

    if errors:
        raise ZadigConfigurationError(
            f"invalid execute request for workflow {workflow.workflow_key!r}: " + "; ".join(errors)
        )
    return warnings


def validate_workflow_definition(definition: WorkflowDefinition | Mapping[str, Any]) -> list[str]:
    """
    Apply the checks that Zadig v3.4 makes when it creates or updates a workflow.

    :param definition: the workflow definition to send, as a model or as a dict.
    :return: warnings about settings that the server accepts but that are probably mistakes.
    :raises ZadigConfigurationError: listing an invalid workflow key, an empty project, duplicate stage
        or job names, and job names that :data:`JOB_NAME_PATTERN` does not match.
    """
    if isinstance(definition, Mapping):
        definition = _parse_definition(definition)
    errors: list[str] = []
    if not WORKFLOW_KEY_PATTERN.fullmatch(definition.name):
        errors.append(
            f"invalid workflow key {definition.name!r}: use only letters, digits and '-' (^[a-zA-Z0-9-]+$)"
        )
    if not definition.project.strip():
        errors.append("'project' is empty: set it to the key of the Zadig project that owns the workflow")
    errors.extend(_check_stage_and_job_names(definition))

    if errors:
        raise ZadigConfigurationError(
            f"invalid workflow definition {definition.name!r}: " + "; ".join(errors)
        )
    return _definition_warnings(definition)


def _parse_definition(definition: Mapping[str, Any]) -> WorkflowDefinition:
    from pydantic import ValidationError

    from airflow_provider_zadig.models import WorkflowDefinition
    from airflow_provider_zadig.models.base import describe_validation_error

    try:
        return WorkflowDefinition.model_validate(dict(definition))
    except ValidationError as error:
        raise ZadigConfigurationError(
            f"invalid workflow definition: {describe_validation_error(error)}"
        ) from error


def _parse_items(items: Sequence[Any] | None, field: str) -> list[Any]:
    """Turn plain dicts into request models, so both call styles are checked the same way."""
    from pydantic import ValidationError

    from airflow_provider_zadig.models import JobInput, WorkflowParameter
    from airflow_provider_zadig.models.base import describe_validation_error

    model = WorkflowParameter if field == "parameters" else JobInput
    parsed = []
    for index, item in enumerate(items or ()):
        if isinstance(item, model):
            parsed.append(item)
            continue
        try:
            parsed.append(model.model_validate(item))
        except ValidationError as error:
            problems = describe_validation_error(error)
            raise ZadigConfigurationError(f"invalid {field}[{index}]: {problems}") from error
    return parsed


def _duplicates(names: Iterable[str]) -> list[str]:
    return [name for name, count in Counter(names).items() if count > 1]


def _check_inputs(
    workflow: WorkflowDetail, inputs: list[JobInput], errors: list[str], warnings: list[str]
) -> None:
    known = workflow.job_names
    for job_input in inputs:
        if job_input.job_name not in known:
            errors.append(f"unknown job {job_input.job_name!r} in inputs (known: {_join(known)})")
    for name in _duplicates(job_input.job_name for job_input in inputs):
        errors.append(f"job {name!r} is given more than once in inputs")
    if not inputs:
        return
    named_in_inputs = {job_input.job_name for job_input in inputs}
    left_out = [name for name in known if name not in named_in_inputs]
    if left_out:
        warnings.append(
            f"workflow jobs not in inputs: {_join(left_out)}. Zadig 3.4.0 runs them with their saved "
            "settings, while Zadig 3.4.1 and later mark them skipped"
        )


def _check_parameter(
    workflow: WorkflowDetail, parameter: WorkflowParameter, errors: list[str], warnings: list[str]
) -> None:
    param = workflow.get_param(parameter.name)
    if param is None:
        known = [p.name for p in workflow.params]
        listing = f"known: {_join(known)}" if known else "the workflow defines no parameters"
        errors.append(f"unknown parameter {parameter.name!r} ({listing})")
        return
    if param.type == "choice":
        _check_choice(param, parameter, errors)
    _check_repo_shape(param, parameter, errors)
    if "type" in parameter.model_fields_set and parameter.type != param.type:
        warnings.append(
            f"parameter {parameter.name!r} is sent with type {parameter.type!r}, "
            f"but the workflow defines it as {param.type!r}"
        )
    if param.source == "fixed":
        warnings.append(
            f"parameter {parameter.name!r} has a fixed value on the workflow, so Zadig ignores the value sent"
        )


def _check_choice(param: WorkflowParam, parameter: WorkflowParameter, errors: list[str]) -> None:
    options = param.choice_option or []
    if parameter.value not in options:
        errors.append(
            f"invalid value {parameter.value!r} for choice parameter {parameter.name!r} "
            f"(options: {_join(options)})"
        )


def _check_repo_shape(param: WorkflowParam, parameter: WorkflowParameter, errors: list[str]) -> None:
    if param.type == "repo" and parameter.repo is None:
        errors.append(
            f"parameter {parameter.name!r} is a repo parameter: send type 'repo' and a 'repo' object with "
            "codehost_name, repo_namespace, repo_name, branch and prs (a list of integers)"
        )
    elif param.type != "repo" and parameter.repo is not None:
        errors.append(
            f"parameter {parameter.name!r} is a {param.type!r} parameter, so it takes 'value', not 'repo'"
        )
    elif parameter.repo is not None and any(pr <= 0 for pr in parameter.repo.prs or ()):
        errors.append(
            f"parameter {parameter.name!r}: repo.prs must be positive pull request numbers, "
            f"got {parameter.repo.prs}"
        )


def _check_stage_and_job_names(definition: WorkflowDefinition) -> list[str]:
    errors = [
        f"stage name {name!r} is used more than once"
        for name in _duplicates(stage.name for stage in definition.stages)
    ]
    job_names = [job.name for stage in definition.stages for job in stage.jobs]
    errors.extend(f"job name {name!r} is used more than once" for name in _duplicates(job_names))
    for stage in definition.stages:
        for job in stage.jobs:
            if not JOB_NAME_PATTERN.fullmatch(job.name):
                errors.append(
                    f"invalid job name {job.name!r} in stage {stage.name!r}: start with a lower-case letter "
                    "or a Chinese character, then use at most 31 lower-case letters, digits, Chinese "
                    "characters or '-'"
                )
    return errors


def _definition_warnings(definition: WorkflowDefinition) -> list[str]:
    warnings: list[str] = []
    limit = definition.concurrency_limit
    if limit is None or limit == 0 or limit < -1:
        limit_text = "not set, so the server stores 0" if limit is None else f"{limit}"
        warnings.append(
            f"concurrency_limit is {limit_text}: Zadig never starts tasks of this workflow; "
            "set 1 for one task at a time or -1 for no limit"
        )
    for stage in definition.stages:
        if stage.approval and stage.approval.get("enabled", True):
            warnings.append(
                f"stage {stage.name!r} has a stage-level 'approval', which Zadig 3.1 and later ignore; "
                "add a job of type 'approval' to the stage instead"
            )
    return warnings


def _join(names: Iterable[str]) -> str:
    text = ", ".join(names)
    return text or "none"
