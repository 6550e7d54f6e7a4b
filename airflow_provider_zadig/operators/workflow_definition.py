"""
Operators that keep Zadig custom workflows as code: create, update, delete, and sync from a file.

Zadig v3.4 creates workflows with ``POST /api/aslan/workflow/v4`` and replaces the whole definition with
``PUT /api/aslan/workflow/v4/{name}``. Workflow keys are unique across all projects, and neither the
update nor the delete call checks the project, so these operators first list the project's workflows
and never change a workflow that belongs to another project.

A definition is not a template field: Zadig definitions contain Zadig's own variables such as
``{{.workflow.params.env}}``, which are not valid Jinja.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_zadig.exceptions import (
    ZadigAPIError,
    ZadigConfigurationError,
    ZadigError,
    ZadigNotFoundError,
)
from airflow_provider_zadig.operators._common import fail_without_retry, require_text
from airflow_provider_zadig.operators._definition_files import (
    DEFINITION_FILE_SUFFIXES,
    DefinitionSource,
    load_workflow_definition,
)

__all__ = [
    "DEFINITION_FILE_SUFFIXES",
    "PERMANENT_ERROR_CODES",
    "DefinitionSource",
    "ZadigCreateWorkflowOperator",
    "ZadigDeleteWorkflowOperator",
    "ZadigSyncWorkflowOperator",
    "ZadigUpdateWorkflowOperator",
    "load_workflow_definition",
]

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_zadig.hooks.zadig import ZadigHook
    from airflow_provider_zadig.models import WorkflowDefinition

#: Zadig error codes of the workflow create and update calls, which no retry can fix: 6540 a key or
#: display name that is taken, 6542 a workflow that does not exist, 6545 a definition that fails the
#: server's lint, 7050 a setting that the server's license does not allow.
PERMANENT_ERROR_CODES = frozenset({6540, 6542, 6545, 7050})


class _WorkflowDefinitionOperator(BaseOperator):
    """Loading, checking and sending shared by the workflow definition operators."""

    ui_color = "#e8f3e8"

    def __init__(self, *, zadig_conn_id: str = "zadig_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.zadig_conn_id = zadig_conn_id

    def _load(self, source: DefinitionSource) -> WorkflowDefinition:
        """Load the definition and apply the server's checks locally, logging the warnings."""
        from airflow_provider_zadig.validation import validate_workflow_definition

        definition = load_workflow_definition(source, self._search_dirs())
        for warning in validate_workflow_definition(definition):
            self.log.warning("Workflow %s: %s", definition.name, warning)
        return definition

    def _search_dirs(self) -> list[Path]:
        """Return the folders that relative file paths are resolved against: the DAG file's folder first."""
        if not self.has_dag():
            return [Path.cwd()]
        dag = self.dag
        dirs = [Path(dag.fileloc).parent] if getattr(dag, "fileloc", None) else []
        searchpath = getattr(dag, "template_searchpath", None) or []
        if isinstance(searchpath, str):
            searchpath = [searchpath]
        return dirs + [Path(folder) for folder in searchpath]

    def _hook(self) -> ZadigHook:
        from airflow_provider_zadig.hooks.zadig import ZadigHook

        return ZadigHook(zadig_conn_id=self.zadig_conn_id)

    def _exists(self, hook: ZadigHook, workflow_key: str, project_key: str) -> bool:
        """Tell whether the project has a custom workflow with this key."""
        return any(
            brief.workflow_key == workflow_key and brief.type != "product"
            for brief in hook.list_workflows(project_key)
        )

    def _require_view(self, hook: ZadigHook, project_key: str, view_name: str | None) -> None:
        """Reject a missing view before any change, because Zadig creates the workflow without it."""
        if view_name and not any(view.name == view_name for view in hook.list_workflow_views(project_key)):
            raise ZadigConfigurationError(
                f"view {view_name!r} not found in project {project_key!r}: create it first with "
                "ZadigCreateWorkflowViewOperator, or leave view_name unset"
            )

    def _create(self, hook: ZadigHook, definition: WorkflowDefinition, view_name: str | None) -> None:
        self.log.info("Creating workflow %s in project %s", definition.name, definition.project)
        try:
            hook.create_workflow(definition.to_body(), view_name=view_name)
        except ZadigAPIError as error:
            _fail_on_permanent_error(error)
            raise

    def _update(self, hook: ZadigHook, definition: WorkflowDefinition) -> None:
        self.log.info("Updating workflow %s in project %s", definition.name, definition.project)
        try:
            hook.update_workflow(definition.name, definition.to_body())
        except ZadigAPIError as error:
            if isinstance(error, ZadigNotFoundError) or error.code == 6542:
                fail_without_retry(error, _missing_explanation(definition.name, definition.project))
            _fail_on_permanent_error(error)
            raise


class ZadigCreateWorkflowOperator(_WorkflowDefinitionOperator):
    """
    Create a Zadig custom workflow, or accept it when the project already has a workflow with its key.

    The definition is checked locally, as the server would check it, before anything is sent. An
    existing workflow is left unchanged, and :class:`ZadigSyncWorkflowOperator` updates it.

    :param definition: the workflow definition: a dict, YAML or JSON text, or the path of a ``.yaml``,
        ``.yml`` or ``.json`` file, absolute or relative to the folder of the DAG file (then to the DAG's
        ``template_searchpath``). Not templated, because Zadig's own ``{{.variables}}`` are not Jinja.
    :param view_name: name of an existing view to add the new workflow to. Default ``None``. A missing
        view is rejected before the workflow is created.
    :param fail_if_exists: raise when the project already has the workflow. Default ``False``.
    :param zadig_conn_id: Airflow connection id of type ``zadig``. Default ``"zadig_default"``.
    :return: the workflow key (pushed to XCom).
    :raises ZadigConfigurationError: the definition is invalid, its file is missing, or ``view_name``
        does not exist; nothing was changed.
    :raises ZadigError: the workflow exists and ``fail_if_exists`` is set.
    :raises AirflowFailException: without further Airflow retries, when Zadig rejects the definition:
        the key is used in another project (6540), lint (6545) or license (7050).
    """

    template_fields: Sequence[str] = ("view_name", "zadig_conn_id")

    def __init__(
        self,
        *,
        definition: DefinitionSource,
        view_name: str | None = None,
        fail_if_exists: bool = False,
        zadig_conn_id: str = "zadig_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(zadig_conn_id=zadig_conn_id, **kwargs)
        self.definition = definition
        self.view_name = view_name
        self.fail_if_exists = fail_if_exists

    def execute(self, context: Context) -> str:
        definition = self._load(self.definition)
        hook = self._hook()
        if not self._exists(hook, definition.name, definition.project):
            self._require_view(hook, definition.project, self.view_name)
            self._create(hook, definition, self.view_name or None)
            return definition.name

        message = f"workflow {definition.name!r} already exists in project {definition.project!r}"
        if self.fail_if_exists:
            raise ZadigError(f"{message}; use ZadigSyncWorkflowOperator to update it")
        self.log.info("%s; left unchanged (ZadigSyncWorkflowOperator updates it)", message.capitalize())
        return definition.name


class ZadigUpdateWorkflowOperator(_WorkflowDefinitionOperator):
    """
    Replace the definition of an existing Zadig custom workflow.

    Zadig replaces the whole stored definition with the one sent. The operator first checks that the
    workflow belongs to the definition's ``project``, because Zadig would otherwise update, and move,
    a workflow with the same key in another project.

    :param definition: the workflow definition, in the forms that :class:`ZadigCreateWorkflowOperator`
        accepts. Not templated.
    :param workflow_key: the key of the workflow to update. Default ``None``: the definition's ``name``.
        When both are given they must be equal.
    :param zadig_conn_id: Airflow connection id of type ``zadig``. Default ``"zadig_default"``.
    :return: the workflow key (pushed to XCom).
    :raises ZadigConfigurationError: the definition is invalid or names another key; nothing was sent.
    :raises AirflowFailException: without further Airflow retries, when the project has no such
        workflow, or when Zadig rejects the definition: display name taken (6540), lint (6545) or
        license (7050).
    """

    template_fields: Sequence[str] = ("workflow_key", "zadig_conn_id")

    def __init__(
        self,
        *,
        definition: DefinitionSource,
        workflow_key: str | None = None,
        zadig_conn_id: str = "zadig_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(zadig_conn_id=zadig_conn_id, **kwargs)
        self.definition = definition
        self.workflow_key = workflow_key

    def execute(self, context: Context) -> str:
        definition = self._load(self.definition)
        if self.workflow_key and self.workflow_key != definition.name:
            raise ZadigConfigurationError(
                f"workflow_key {self.workflow_key!r} differs from the definition's name {definition.name!r}: "
                "Zadig would store the definition under the other name, so make them equal"
            )
        hook = self._hook()
        if not self._exists(hook, definition.name, definition.project):
            raise ZadigError(_missing_explanation(definition.name, definition.project))
        self._update(hook, definition)
        return definition.name


class ZadigDeleteWorkflowOperator(_WorkflowDefinitionOperator):
    """
    Delete a Zadig custom workflow. Zadig marks the workflow's tasks deleted as well.

    The operator deletes only a workflow that the project's workflow list shows, because Zadig deletes
    by key alone and would delete a workflow of another project.

    :param workflow_key: the key of the workflow.
    :param project_key: key of the project that owns the workflow.
    :param fail_if_missing: raise when the project has no such workflow, instead of logging and
        succeeding. Default ``False``, so running the operator twice succeeds.
    :param zadig_conn_id: Airflow connection id of type ``zadig``. Default ``"zadig_default"``.
    :return: ``True`` when a workflow was deleted, ``False`` when there was none (pushed to XCom).
    :raises ZadigConfigurationError: an empty key; nothing was sent.
    :raises ZadigError: the workflow does not exist and ``fail_if_missing`` is set.
    """

    template_fields: Sequence[str] = ("workflow_key", "project_key", "zadig_conn_id")

    def __init__(
        self,
        *,
        workflow_key: str,
        project_key: str,
        fail_if_missing: bool = False,
        zadig_conn_id: str = "zadig_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(zadig_conn_id=zadig_conn_id, **kwargs)
        self.workflow_key = workflow_key
        self.project_key = project_key
        self.fail_if_missing = fail_if_missing

    def execute(self, context: Context) -> bool:
        workflow_key = require_text(self.workflow_key, "workflow_key")
        project_key = require_text(self.project_key, "project_key")
        hook = self._hook()
        if self._exists(hook, workflow_key, project_key):
            self.log.info("Deleting workflow %s in project %s", workflow_key, project_key)
            try:
                hook.delete_workflow(workflow_key, project_key)
            except ZadigNotFoundError:
                self.log.info("Workflow %s was deleted by someone else meanwhile", workflow_key)
            else:
                self.log.info("Deleted workflow %s", workflow_key)
                return True
        elif self.fail_if_missing:
            raise ZadigError(f"workflow {workflow_key!r} not found in project {project_key!r}")
        else:
            self.log.info("Project %s has no workflow %s; nothing to delete", project_key, workflow_key)
        return False


class ZadigSyncWorkflowOperator(_WorkflowDefinitionOperator):
    """
    Create a Zadig custom workflow from a definition in the DAG repository, or update it when it exists.

    Every run sends the definition, so the workflow matches the file after each run, and running the
    operator twice gives the same result. The definition is checked locally first.

    :param definition: the workflow definition, in the forms that :class:`ZadigCreateWorkflowOperator`
        accepts, typically a YAML file path relative to the DAG file. Not templated.
    :param view_name: name of an existing view that must show the workflow: it is added on create, and
        added (again) on update. Default ``None``: views are not touched.
    :param zadig_conn_id: Airflow connection id of type ``zadig``. Default ``"zadig_default"``.
    :return: the workflow key (pushed to XCom).
    :raises ZadigConfigurationError: the definition is invalid, its file is missing, or ``view_name``
        does not exist; nothing was changed.
    :raises AirflowFailException: without further Airflow retries, when Zadig rejects the definition:
        key used in another project or display name taken (6540), lint (6545) or license (7050).
    """

    template_fields: Sequence[str] = ("view_name", "zadig_conn_id")

    def __init__(
        self,
        *,
        definition: DefinitionSource,
        view_name: str | None = None,
        zadig_conn_id: str = "zadig_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(zadig_conn_id=zadig_conn_id, **kwargs)
        self.definition = definition
        self.view_name = view_name

    def execute(self, context: Context) -> str:
        definition = self._load(self.definition)
        hook = self._hook()
        self._require_view(hook, definition.project, self.view_name)
        if not self._exists(hook, definition.name, definition.project):
            self._create(hook, definition, self.view_name or None)
            return definition.name

        self._update(hook, definition)
        if self.view_name:
            self._show_in_view(hook, definition, self.view_name)
        return definition.name

    def _show_in_view(self, hook: ZadigHook, definition: WorkflowDefinition, view_name: str) -> None:
        # Adding a workflow that the view shows already changes nothing, so this is safe to repeat.
        hook.update_workflow_view(definition.project, view_name, add=[definition.name])
        self.log.info("View %s shows workflow %s", view_name, definition.name)


def _missing_explanation(workflow_key: str, project_key: str) -> str:
    return (
        f"Workflow {workflow_key!r} not found in project {project_key!r}: create it with "
        "ZadigCreateWorkflowOperator, or use ZadigSyncWorkflowOperator, which creates missing workflows."
    )


def _fail_on_permanent_error(error: ZadigAPIError) -> None:
    """Fail the Airflow task without retries when Zadig rejected the definition itself."""
    if error.code in PERMANENT_ERROR_CODES:
        fail_without_retry(error)
