"""Workflow definitions, workflow views and pre-approval tickets: the administrative half of the hook."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_zadig.exceptions import (
    ZadigAmbiguousRequestError,
    ZadigConfigurationError,
    ZadigError,
    ZadigNotFoundError,
)
from airflow_provider_zadig.hooks import _endpoints as endpoints
from airflow_provider_zadig.hooks._base import ZadigHookBase
from airflow_provider_zadig.hooks._bodies import (
    DefinitionSource,
    ViewMember,
    build_model,
    load_workflow_definition,
    ticket_services,
    ticket_users,
    view_entries,
)
from airflow_provider_zadig.hooks._endpoints import RequestSpec
from airflow_provider_zadig.hooks._recovery import recover_ticket, resend_once, still_ambiguous
from airflow_provider_zadig.hooks._response import parse_model
from airflow_provider_zadig.models import (
    ApprovalTicketRequest,
    CreateWorkflowViewRequest,
    TicketService,
    TicketUser,
    UpdateWorkflowViewRequest,
    WorkflowBrief,
    WorkflowDetail,
    WorkflowList,
    WorkflowView,
)

# Zadig error codes that mean "already exists" for a create request sent a second time.
_DUPLICATE_VIEW = 6892
_DUPLICATE_WORKFLOW = 6540


class ZadigWorkflowAdministration(ZadigHookBase):
    """Read and change workflow definitions and views, and create pre-approval tickets."""

    def list_workflows(self, project_key: str, view_name: str | None = None) -> list[WorkflowBrief]:
        """
        List the workflows of a project.

        :param project_key: the project key.
        :param view_name: list only the workflows of this view. Zadig v3.4 lists every workflow of the
            project when the view does not exist.
        :raises ZadigError: the request failed.
        """
        spec = endpoints.list_workflows(project_key, view_name)
        return parse_model(WorkflowList, self.send(spec), spec).workflows

    def get_workflow(self, workflow_key: str, project_key: str) -> WorkflowDetail:
        """
        Return a workflow's definition: parameters, stages and jobs. Credential values are redacted.

        :param workflow_key: the workflow key (not its display name).
        :param project_key: the project key. Zadig v3.4 echoes it without checking it.
        :raises ZadigNotFoundError: the workflow does not exist.
        :raises ZadigError: the request failed.
        """
        spec = endpoints.get_workflow(workflow_key, project_key)
        return parse_model(WorkflowDetail, self.send(spec), spec)

    def create_workflow(self, definition: DefinitionSource, view_name: str | None = None) -> None:
        """
        Create a workflow from a definition, such as the YAML of a workflow in the Zadig UI.

        Never sent twice blindly: after a failure that hides the outcome, the workflow is looked up,
        and the request is sent once more only if it does not exist.

        :param definition: a dict, YAML text, or the path of a ``.yaml``, ``.yml`` or ``.json`` file,
            with at least ``name`` (the workflow key, unique across projects), ``project`` and ``stages``.
        :param view_name: also add the workflow to this existing view.
        :raises ZadigConfigurationError: the definition is unreadable or invalid.
        :raises ZadigAmbiguousRequestError: whether the workflow was created could not be found out.
        :raises ZadigError: Zadig rejected the definition, or the request failed.
        """
        workflow = load_workflow_definition(definition)
        spec = endpoints.create_workflow(workflow.to_body(), view_name)
        try:
            self.send(spec)
        except ZadigAmbiguousRequestError as exc:
            self._recover_workflow_creation(exc, spec, workflow.name, workflow.project)
        self.log.info("Created workflow %s in project %s", workflow.name, workflow.project)

    def update_workflow(self, workflow_key: str, definition: DefinitionSource) -> None:
        """
        Replace a workflow's definition with ``definition``.

        :param workflow_key: the workflow key. It must equal the definition's ``name``, because
            Zadig v3.4 would otherwise rename the workflow.
        :param definition: as for :meth:`create_workflow`. Zadig takes the project from ``project``.
        :raises ZadigConfigurationError: the definition is invalid or names another workflow.
        :raises ZadigNotFoundError: the workflow does not exist.
        :raises ZadigError: Zadig rejected the definition, or the request failed.
        """
        workflow = load_workflow_definition(definition)
        if workflow.name != workflow_key:
            raise ZadigConfigurationError(
                f"The definition's name {workflow.name!r} differs from workflow_key {workflow_key!r}. "
                "Zadig would rename the workflow: make them equal."
            )
        self.send(endpoints.update_workflow(workflow_key, workflow.to_body()))
        self.log.info("Updated workflow %s", workflow_key)

    def delete_workflow(self, workflow_key: str, project_key: str) -> None:
        """
        Delete a workflow. Zadig marks its tasks deleted and restarts its task ids at 1.

        :param workflow_key: the workflow key.
        :param project_key: the project key, which Zadig uses for the permission check.
        :raises ZadigNotFoundError: the workflow does not exist.
        :raises ZadigError: the request failed.
        """
        self.send(endpoints.delete_workflow(workflow_key, project_key))
        self.log.info("Deleted workflow %s", workflow_key)

    def list_workflow_views(self, project_key: str) -> list[WorkflowView]:
        """
        List the workflow views of a project, with their enabled workflows.

        :param project_key: the project key.
        :raises ZadigError: the request failed.
        """
        spec = endpoints.list_workflow_views(project_key)
        return parse_model(list[WorkflowView], self.send(spec), spec)

    def create_workflow_view(self, project_key: str, name: str, workflow_keys: Iterable[ViewMember]) -> None:
        """
        Create a workflow view. Zadig does not check that the workflows exist.

        :param project_key: the project key.
        :param name: the view name, unique in the project.
        :param workflow_keys: workflow keys, or dicts such as
            ``{"workflow_key": "a", "workflow_type": "product"}``.
        :raises ZadigBadRequestError: a view with this name exists (code 6892).
        :raises ZadigAmbiguousRequestError: whether the view was created could not be found out.
        :raises ZadigError: the request failed.
        """
        entries = view_entries(workflow_keys, enabled=True, argument="workflow_keys")
        request = build_model(
            CreateWorkflowViewRequest,
            "view",
            {"project_key": project_key, "name": name, "workflow_list": entries},
        )
        spec = endpoints.create_workflow_view(request.to_body())
        try:
            self.send(spec)
        except ZadigAmbiguousRequestError as exc:
            self._recover_view_creation(exc, spec, request.project_key, request.name)
        self.log.info("Created view %s in project %s", request.name, request.project_key)

    def update_workflow_view(
        self,
        project_key: str,
        view_name: str,
        add: Iterable[ViewMember] = (),
        remove: Iterable[ViewMember] = (),
    ) -> None:
        """
        Add workflows to a view and take others out. Workflows not named stay as they are.

        :param project_key: the project key.
        :param view_name: the view name.
        :param add: workflow keys (or dicts, as for :meth:`create_workflow_view`) to show in the view.
        :param remove: workflow keys to take out of the view.
        :raises ZadigConfigurationError: a workflow is in both ``add`` and ``remove``.
        :raises ZadigNotFoundError: the view does not exist.
        :raises ZadigError: the request failed.
        """
        added = view_entries(add, enabled=True, argument="add")
        removed = view_entries(remove, enabled=False, argument="remove")
        both = sorted({entry.workflow_key for entry in added} & {entry.workflow_key for entry in removed})
        if both:
            raise ZadigConfigurationError(
                f"Workflows {', '.join(both)} are in both add and remove: keep each in one."
            )
        if not added and not removed:
            self.log.info("View %s of project %s: nothing to add or remove", view_name, project_key)
            return
        request = UpdateWorkflowViewRequest(workflow_list=added + removed)
        self.send(endpoints.update_workflow_view(project_key, view_name, request.to_body()))
        self.log.info(
            "Updated view %s: added %d and removed %d workflows", view_name, len(added), len(removed)
        )

    def delete_workflow_view(self, project_key: str, view_name: str) -> None:
        """
        Delete a workflow view. The workflows stay.

        :param project_key: the project key.
        :param view_name: the view name.
        :raises ZadigNotFoundError: the view does not exist.
        :raises ZadigError: the request failed.
        """
        self.send(endpoints.delete_workflow_view(project_key, view_name))
        self.log.info("Deleted view %s of project %s", view_name, project_key)

    def create_approval_ticket(
        self,
        project_key: str,
        approval_id: str,
        *,
        status: int = 1,
        envs: Iterable[str] | str = (),
        services: Iterable[str | TicketService | Mapping[str, Any]] = (),
        users: Iterable[str | TicketUser | Mapping[str, Any]] = (),
        execution_window_start: int = 0,
        execution_window_end: int = 0,
    ) -> None:
        """
        Create a pre-approval ticket (needs a professional or enterprise Zadig license).

        :param project_key: the project key.
        :param approval_id: the ticket id in the approving system, unique in Zadig.
        :param status: 1 for a ticket in effect (the default), 0 for a void one.
        :param envs: the environments that the ticket allows; empty allows all.
        :param services: service names or ``{"service_name", "service_module"}`` dicts; empty allows all.
        :param users: email addresses or ``{"name", "email"}`` dicts of the users allowed to run;
            empty allows all.
        :param execution_window_start: Unix time in seconds from which the ticket is valid; 0 for no limit.
        :param execution_window_end: Unix time in seconds until which the ticket is valid; 0 for no limit.
        :raises ZadigConfigurationError: an argument is invalid, such as a window that ends before it starts.
        :raises ZadigBadRequestError: the approval id exists, or the license does not allow tickets (7050).
        :raises ZadigError: the request failed.
        """
        request = build_model(
            ApprovalTicketRequest,
            "approval ticket",
            {
                "project_key": project_key,
                "approval_id": approval_id,
                "status": status,
                "envs": [envs] if isinstance(envs, str) else list(envs),
                "services": ticket_services(services),
                "users": ticket_users(users),
                "execution_window_start": execution_window_start,
                "execution_window_end": execution_window_end,
            },
        )
        spec = endpoints.create_approval_ticket(request.to_body())
        try:
            self.send(spec)
        except ZadigAmbiguousRequestError as exc:
            recover_ticket(self, exc, spec)
        self.log.info(
            "Created pre-approval ticket %s in project %s", request.approval_id, request.project_key
        )

    def _recover_view_creation(
        self, error: ZadigAmbiguousRequestError, spec: RequestSpec, project_key: str, name: str
    ) -> None:
        try:
            views = self.list_workflow_views(project_key)
        except ZadigError as check_error:
            raise still_ambiguous(error, f"Listing the views to check failed too: {check_error}") from error
        if any(view.name == name for view in views):
            self.log.warning(
                "View %s of project %s exists, so the create request took effect", name, project_key
            )
            return
        resend_once(self, spec, error, lambda response_error: response_error.code == _DUPLICATE_VIEW)

    def _recover_workflow_creation(
        self, error: ZadigAmbiguousRequestError, spec: RequestSpec, workflow_key: str, project_key: str
    ) -> None:
        try:
            self.get_workflow(workflow_key, project_key)
        except ZadigNotFoundError:
            resend_once(self, spec, error, lambda response_error: response_error.code == _DUPLICATE_WORKFLOW)
            return
        except ZadigError as check_error:
            raise still_ambiguous(
                error, f"Reading the workflow to check failed too: {check_error}"
            ) from error
        self.log.warning("Workflow %s exists, so the create request took effect", workflow_key)
