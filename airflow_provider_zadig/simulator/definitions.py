"""
Workflow definitions for ``POST /api/aslan/workflow/v4`` and ``PUT /api/aslan/workflow/v4/:name``.

Zadig v3.4.0 parses these bodies with gopkg.in/yaml.v3, so YAML and JSON both work, and checks them
in ``CreateWorkflowV4``/``UpdateWorkflowV4`` and the workflow lint. The descriptions of the lint
errors (code 6545) and the license error (code 7050) are the simulator's own wording; the codes and
HTTP statuses are Zadig's.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from airflow_provider_zadig.simulator.errors import BadRequest, CodedError
from airflow_provider_zadig.simulator.state import Store, WorkflowRecord

WORKFLOW_KEY_PATTERN = re.compile(r"^[a-zA-Z0-9-]+$")
JOB_NAME_PATTERN = re.compile(r"^[a-z\u4e00-\u9fa5][a-z0-9\u4e00-\u9fa5-]{0,31}$")
#: ``concurrency_limit`` values that a basic (non-professional) license accepts.
BASIC_LICENSE_LIMITS = (-1, 1)


def parse_definition(body: bytes) -> dict[str, Any]:
    """
    Parse a workflow body (YAML or JSON).

    :raises BadRequest: when the body is not YAML or not a mapping.
    """
    try:
        text = body.decode("utf-8")
        definition = _load_json(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BadRequest(f"yaml: {exc}") from None
    if definition is None:
        return {}
    if not isinstance(definition, dict):
        raise BadRequest(
            f"yaml: unmarshal errors: cannot unmarshal {type(definition).__name__} into models.WorkflowV4"
        )
    return definition


def _load_json(text: str) -> Any:
    # yaml.v3 reads any JSON document, but PyYAML implements YAML 1.1 and misreads a few JSON
    # escapes, so JSON gets the JSON parser and falls back to YAML only when it is not valid JSON.
    try:
        return json.loads(text)
    except ValueError:
        return yaml.safe_load(text)


def check_new_key(store: Store, definition: dict[str, Any]) -> None:
    """:raises CodedError: 6540 when any project already has a workflow with this key (keys are global)."""
    existing = store.workflows.get(str(definition.get("name") or ""))
    if existing is not None:
        raise CodedError(6540, f"与项目 [{existing.project}] 中的工作流 [{existing.display_name}] 标识相同")


def check_display_name(store: Store, key: str, definition: dict[str, Any]) -> None:
    """:raises CodedError: 6540 when another workflow of the project has the same display name."""
    project = str(definition.get("project") or "")
    display_name = str(definition.get("display_name") or "")
    for other in store.workflows.values():
        if (
            other.key != key
            and other.project == project
            and display_name
            and other.display_name == display_name
        ):
            raise CodedError(6540, f"与项目 [{project}] 中的工作流 [{display_name}] 名称相同")


def lint_definition(store: Store, definition: dict[str, Any]) -> None:
    """
    Check a definition like Zadig's workflow lint.

    :raises CodedError: 6545 for an invalid project, key, stage or job; 7050 for what a basic license forbids.
    """
    project = str(definition.get("project") or "")
    if not project:
        raise CodedError(6545, "project should not be empty")
    key = str(definition.get("name") or "")
    if not WORKFLOW_KEY_PATTERN.match(key):
        raise CodedError(
            6545, f"workflow key {key!r} is invalid: it must match {WORKFLOW_KEY_PATTERN.pattern}"
        )
    if project not in store.projects:
        raise CodedError(6545, f"project {project} not found")
    limit = _int_field(definition, "concurrency_limit")
    if store.settings.license == "basic" and limit not in BASIC_LICENSE_LIMITS:
        raise CodedError(7050, f"concurrency_limit {limit} needs a professional license: use -1 or 1")
    _lint_stages(store, definition.get("stages") or [])


def _int_field(definition: dict[str, Any], name: str) -> int:
    value = definition.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"yaml: unmarshal errors: cannot unmarshal {value!r} into int field {name}")
    return value


def _lint_stages(store: Store, stages: list[Any]) -> None:
    stage_names: set[str] = set()
    job_names: set[str] = set()
    for stage in stages:
        if not isinstance(stage, dict):
            raise BadRequest("yaml: unmarshal errors: a stage must be a mapping")
        name = str(stage.get("name") or "")
        if name in stage_names:
            raise CodedError(6545, f"duplicated stage name: {name}")
        stage_names.add(name)
        for job in stage.get("jobs") or []:
            _lint_job(store, job, job_names)


def _lint_job(store: Store, job: Any, job_names: set[str]) -> None:
    if not isinstance(job, dict):
        raise BadRequest("yaml: unmarshal errors: a job must be a mapping")
    name = str(job.get("name") or "")
    if name in job_names:
        raise CodedError(6545, f"duplicated job name: {name}")
    job_names.add(name)
    if not JOB_NAME_PATTERN.match(name):
        raise CodedError(6545, f"job name [{name}] did not match {JOB_NAME_PATTERN.pattern}")
    if job.get("type") == "approval":
        _lint_approval(store, name, job.get("spec") or {})


def _lint_approval(store: Store, name: str, spec: dict[str, Any]) -> None:
    if store.settings.license == "basic":
        raise CodedError(7050, f"approval job {name} needs a professional license")
    if (spec.get("type") or "native") != "native":
        return
    native = spec.get("native_approval") or {}
    approvers = native.get("approve_users") or []
    if not approvers:
        raise CodedError(6545, f"approval job {name}: approve_users is empty")
    if int(native.get("needed_approvers") or 0) > len(approvers):
        raise CodedError(6545, f"approval job {name}: needed_approvers is more than the number of approvers")


def new_record(definition: dict[str, Any], user_name: str, now: int) -> WorkflowRecord:
    """Return the record of a newly created workflow; its key is the definition's ``name``."""
    return WorkflowRecord(str(definition["name"]), definition, user_name, now, user_name, now)
