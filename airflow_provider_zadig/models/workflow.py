"""Workflow models: the workflow list, the workflow detail and workflow definitions (create and update)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from airflow_provider_zadig.models.base import (
    ZadigRequestModel,
    ZadigResponseModel,
    redact_credentials,
)


class WorkflowBrief(ZadigResponseModel):
    """One entry of ``GET /openapi/workflows``."""

    workflow_key: str
    workflow_name: str = ""
    update_by: str = ""
    update_time: int = 0
    # ``custom``, or ``product`` for the old product workflows that v3.4.0 still lists.
    type: str = "custom"


class WorkflowList(ZadigResponseModel):
    """The body of ``GET /openapi/workflows``."""

    workflows: list[WorkflowBrief] = Field(default_factory=list)


class WorkflowParamRepo(ZadigResponseModel):
    """The repository of a ``repo`` parameter in a workflow detail."""

    source: str = ""
    repo_owner: str = ""
    repo_namespace: str = ""
    repo_name: str = ""
    branch: str = ""
    codehost_id: int | None = None


class WorkflowParam(ZadigResponseModel):
    """A workflow parameter (``params[]``) as defined on the workflow."""

    name: str
    description: str = ""
    # ``string``, ``text``, ``choice`` or ``repo``.
    type: str = "string"
    value: str = ""
    repo: WorkflowParamRepo | None = None
    choice_option: list[str] | None = None
    choice_value: list[str] | None = None
    default: str = ""
    is_credential: bool = False
    source: str | None = None


class WorkflowJob(ZadigResponseModel):
    """A job definition inside a workflow stage."""

    name: str
    type: str = ""
    skipped: bool = False
    spec: dict[str, Any] | None = None
    run_policy: str = ""
    error_policy: dict[str, Any] | None = None
    service_modules: list[Any] | None = None


class WorkflowStage(ZadigResponseModel):
    """A stage definition. ``approval`` is the pre-v3.1 stage approval that newer servers ignore."""

    name: str
    parallel: bool = False
    approval: dict[str, Any] | None = None
    jobs: list[WorkflowJob] = Field(default_factory=list)


class WorkflowDetail(ZadigResponseModel):
    """The body of ``GET /openapi/workflows/custom/{workflow_key}/detail``."""

    workflow_key: str
    workflow_name: str = ""
    # Echo of the ``projectKey`` query: Zadig v3.4 does not compare it with the workflow's project.
    project_key: str = ""
    description: str = ""
    created_by: str = ""
    create_time: int = 0
    updated_by: str = ""
    update_time: int = 0
    params: list[WorkflowParam] = Field(default_factory=list)
    stages: list[WorkflowStage] = Field(default_factory=list)
    notify_ctls: list[Any] | None = None
    share_storages: list[Any] | None = None
    concurrency_limit: int | None = None

    _redact = model_validator(mode="before")(lambda data: redact_credentials(data))

    @property
    def jobs(self) -> list[WorkflowJob]:
        """Every job of every stage, in order."""
        return [job for stage in self.stages for job in stage.jobs]

    @property
    def job_names(self) -> list[str]:
        """The names of every job, in stage order."""
        return [job.name for job in self.jobs]

    def get_param(self, name: str) -> WorkflowParam | None:
        """Return the workflow parameter called ``name``, or ``None``."""
        return next((param for param in self.params if param.name == name), None)


class WorkflowDefinitionJob(ZadigRequestModel):
    """A job of a workflow definition. The job spec depends on the job type, so it is free-form."""

    # Job definitions copied from the Zadig UI's YAML view carry UI-only keys such as ``isCreate``.
    model_config = ZadigRequestModel.model_config | {"extra": "allow"}

    name: str
    type: str
    skipped: bool | None = None
    spec: dict[str, Any] | None = None
    run_policy: str | None = None
    error_policy: dict[str, Any] | None = None


class WorkflowDefinitionStage(ZadigRequestModel):
    """A stage of a workflow definition."""

    name: str
    parallel: bool | None = None
    # Stage approvals were replaced by approval jobs in Zadig v3.1; servers accept and ignore them.
    approval: dict[str, Any] | None = None
    manual_exec: dict[str, Any] | None = None
    jobs: list[WorkflowDefinitionJob] = Field(default_factory=list)


class WorkflowDefinition(ZadigRequestModel):
    """
    The body of ``POST /api/aslan/workflow/v4`` and ``PUT /api/aslan/workflow/v4/{name}``.

    The server parses it as YAML with the field names below (the workflow's ``yaml`` tags).
    """

    name: str
    display_name: str | None = None
    project: str
    disabled: bool | None = None
    category: str | None = None
    description: str | None = None
    params: list[dict[str, Any]] | None = None
    stages: list[WorkflowDefinitionStage] = Field(default_factory=list)
    notify_ctls: list[Any] | None = None
    share_storages: list[Any] | None = None
    hash: str | None = None
    # -1 means unlimited and 0 means that tasks never start.
    concurrency_limit: int | None = None
    enable_approval_ticket: bool | None = None
    approval_ticket_id: str | None = None
