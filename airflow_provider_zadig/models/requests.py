"""Request bodies: execute, approve, workflow views and pre-approval tickets."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from airflow_provider_zadig.models.base import ZadigRequestModel

# The view API accepts only ``custom`` and ``product``, while other responses show the internal
# names that Zadig maps them to.
INTERNAL_WORKFLOW_TYPES = {"common_workflow": "custom", "product_workflow": "product"}
MAX_INT64 = 2**63 - 1


class RepoParameter(ZadigRequestModel):
    """The value of a ``repo`` workflow parameter."""

    codehost_name: str
    repo_namespace: str
    repo_name: str
    branch: str = ""
    prs: list[int] | None = None
    # Accepted by servers newer than v3.4; v3.4 servers ignore them.
    pr: int | None = None
    enable_commit: bool | None = None
    commit_id: str | None = None

    @field_validator("prs", mode="before")
    @classmethod
    def _parse_prs(cls, value: Any) -> Any:
        """Accept a list, a single number, or the text a Jinja template renders (``"[12]"``, ``"12,13"``)."""
        if value is None or value == "":
            return None
        if isinstance(value, str):
            text = value.strip()
            try:
                value = json.loads(text)
            except ValueError:
                value = [part.strip() for part in text.split(",") if part.strip()]
        if not isinstance(value, (list, tuple)):
            value = [value]
        return [_to_pr_number(item) for item in value]


def _to_pr_number(item: Any) -> int:
    if isinstance(item, bool):
        raise ValueError(f"invalid pull request number {item!r}: expected an integer")
    if isinstance(item, str) and item.strip().isdigit():
        item = int(item.strip())
    # Zadig stores pull request numbers as Go int64 values.
    if isinstance(item, int) and -MAX_INT64 <= item <= MAX_INT64:
        return item
    raise ValueError(f"invalid pull request number {item!r}: expected an integer such as 12")


class WorkflowParameter(ZadigRequestModel):
    """A workflow parameter value for an execute request (``parameters[]``)."""

    name: str = Field(min_length=1)
    # ``string``, ``text``, ``choice`` or ``repo``.
    type: str = "string"
    value: str = ""
    repo: RepoParameter | None = None
    # Not part of the request body: marks a value that the operator registers with the secrets masker.
    is_credential: bool | None = Field(default=None, exclude=True)

    @field_validator("value", mode="before")
    @classmethod
    def _value_to_text(cls, value: Any) -> Any:
        """Zadig reads parameter values as strings, so numbers and booleans are sent as text."""
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        return value

    @model_validator(mode="after")
    def _check_repo(self) -> WorkflowParameter:
        if self.type == "repo" and self.repo is None:
            raise ValueError(f"parameter {self.name!r} has type 'repo' but no 'repo' value")
        return self


class JobInput(ZadigRequestModel):
    """The input of one job for an execute request (``inputs[]``). ``parameters`` depends on the job type."""

    job_name: str = Field(min_length=1)
    # Zadig takes the type from the saved job and does not read this value.
    job_type: str = ""
    parameters: dict[str, Any] = Field(default_factory=dict)


class ExecuteWorkflowRequest(ZadigRequestModel):
    """The body of ``POST /openapi/workflows/custom/task``."""

    project_key: str = Field(min_length=1)
    workflow_key: str = Field(min_length=1)
    parameters: list[WorkflowParameter] = Field(default_factory=list)
    inputs: list[JobInput] = Field(default_factory=list)
    # Accepted by servers newer than v3.4; v3.4 servers ignore it.
    notify_inputs: list[dict[str, Any]] | None = None


class ApproveRequest(ZadigRequestModel):
    """The body of ``POST /openapi/workflows/custom/task/approve``."""

    task_id: int = Field(gt=0)
    workflow_key: str = Field(min_length=1)
    # Despite its name, Zadig v3.4 reads this as the approval job task name (``job-1-0-0-approval``).
    stage_name: str = Field(min_length=1)
    approve: bool
    comment: str = ""


WorkflowType = Literal["custom", "product"]


class WorkflowViewEntry(ZadigRequestModel):
    """A workflow in a view create or update request."""

    workflow_key: str = Field(min_length=1)
    workflow_type: WorkflowType = "custom"
    workflow_name: str | None = None
    enabled: bool = True

    @field_validator("workflow_type", mode="before")
    @classmethod
    def _normalise_type(cls, value: Any) -> Any:
        if isinstance(value, str):
            return INTERNAL_WORKFLOW_TYPES.get(value, value)
        return value


class CreateWorkflowViewRequest(ZadigRequestModel):
    """The body of ``POST /openapi/workflows/view``."""

    project_key: str = Field(min_length=1)
    name: str = Field(min_length=1)
    workflow_list: list[WorkflowViewEntry] = Field(default_factory=list)


class UpdateWorkflowViewRequest(ZadigRequestModel):
    """The body of ``PUT /openapi/workflows/view/{view_name}``: a merge keyed on ``workflow_key``."""

    workflow_list: list[WorkflowViewEntry] = Field(default_factory=list)


class TicketService(ZadigRequestModel):
    """A service that a pre-approval ticket allows."""

    service_name: str = Field(min_length=1)
    service_module: str = ""


class TicketUser(ZadigRequestModel):
    """A user allowed to execute under a pre-approval ticket. Zadig matches users by email."""

    name: str = ""
    email: str = Field(min_length=1)


class ApprovalTicketRequest(ZadigRequestModel):
    """The body of ``POST /openapi/ticket/approval``."""

    project_key: str = Field(min_length=1)
    approval_id: str = Field(min_length=1)
    # 1: the ticket is in effect, 0: the ticket is void.
    status: int = 1
    envs: list[str] = Field(default_factory=list)
    services: list[TicketService] = Field(default_factory=list)
    users: list[TicketUser] = Field(default_factory=list)
    # Unix timestamps in seconds; 0 means no limit.
    execution_window_start: int = 0
    execution_window_end: int = 0

    @model_validator(mode="after")
    def _check_window(self) -> ApprovalTicketRequest:
        start, end = self.execution_window_start, self.execution_window_end
        if end and start > end:
            raise ValueError(
                f"invalid execution window: start {start} is after end {end}; "
                "swap them or set execution_window_end to 0 for no end"
            )
        return self


def find_unrendered_templates(value: Any, path: str = "") -> list[str]:
    """Return the paths of strings in ``value`` that still contain a Jinja ``{{`` or ``{%`` marker."""
    found: list[str] = []
    if isinstance(value, str):
        if "{{" in value or "{%" in value:
            found.append(path or "<value>")
    elif isinstance(value, dict):
        for key, item in value.items():
            found.extend(find_unrendered_templates(item, f"{path}.{key}" if path else str(key)))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found.extend(find_unrendered_templates(item, f"{path}[{index}]"))
    return found
