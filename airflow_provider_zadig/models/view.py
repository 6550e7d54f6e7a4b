"""Workflow view models."""

from __future__ import annotations

from pydantic import Field

from airflow_provider_zadig.models.base import ZadigResponseModel


class WorkflowViewMember(ZadigResponseModel):
    """A workflow that a view shows."""

    workflow_key: str
    # ``custom`` or ``product``.
    workflow_type: str = "custom"


class WorkflowView(ZadigResponseModel):
    """One entry of ``GET /openapi/workflows/view``. Only enabled workflows are listed."""

    name: str
    project_key: str = ""
    # Set when the view is created; Zadig v3.4 does not change it on update.
    update_time: int = 0
    update_by: str = ""
    workflows: list[WorkflowViewMember] = Field(default_factory=list)

    @property
    def workflow_keys(self) -> list[str]:
        return [member.workflow_key for member in self.workflows]
