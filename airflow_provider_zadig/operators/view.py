"""
Operators that create, edit and delete Zadig workflow views.

A view is a named list of workflows in a project. Zadig v3.4 edits a view by merging on
``workflow_key``: an entry with ``enabled: true`` adds the workflow or shows it again, an entry with
``enabled: false`` hides it, and nothing is ever removed from the stored list. Listing views shows only
the enabled workflows, which is the membership these operators compare and return.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_zadig.exceptions import (
    ZadigAPIError,
    ZadigBadRequestError,
    ZadigConfigurationError,
    ZadigError,
    ZadigNotFoundError,
)
from airflow_provider_zadig.operators._common import fail_without_retry, one_or_many, require_text

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_zadig.hooks.zadig import ZadigHook
    from airflow_provider_zadig.models import WorkflowView, WorkflowViewEntry

#: A workflow in a view argument: its key, or a dict with ``workflow_key`` and optional ``workflow_type``.
WorkflowReference = str | Mapping[str, Any]

#: Zadig error code 6892 (``ErrCreateView``), sent for a view name that the project already has.
VIEW_CREATE_ERROR_CODE = 6892
#: Zadig error code 6894 (``ErrDeleteView``), sent for a view that does not exist.
VIEW_DELETE_ERROR_CODE = 6894


class _WorkflowViewOperator(BaseOperator):
    """Arguments and server calls shared by the workflow view operators."""

    ui_color = "#e3eefa"

    def __init__(
        self, *, project_key: str, view_name: str, zadig_conn_id: str = "zadig_default", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.project_key = project_key
        self.view_name = view_name
        self.zadig_conn_id = zadig_conn_id

    def _check_names(self) -> None:
        self.project_key = require_text(self.project_key, "project_key")
        self.view_name = require_text(self.view_name, "view_name")

    def _hook(self) -> ZadigHook:
        from airflow_provider_zadig.hooks.zadig import ZadigHook

        return ZadigHook(zadig_conn_id=self.zadig_conn_id)

    def _find_view(self, hook: ZadigHook) -> WorkflowView | None:
        views = hook.list_workflow_views(self.project_key)
        return next((view for view in views if view.name == self.view_name), None)

    def _check_workflows_exist(self, hook: ZadigHook, entries: Sequence[WorkflowViewEntry]) -> None:
        """Reject keys that the project does not have, because Zadig stores them without checking."""
        if not entries:
            return
        known = [brief.workflow_key for brief in hook.list_workflows(self.project_key)]
        unknown = [entry.workflow_key for entry in entries if entry.workflow_key not in known]
        if unknown:
            raise ZadigConfigurationError(
                f"unknown workflow {', '.join(map(repr, unknown))} in project {self.project_key!r} "
                f"(known: {', '.join(known) or 'none'}); set check_workflows_exist=False to add it anyway"
            )

    def _update(
        self, hook: ZadigHook, add: Sequence[WorkflowViewEntry], remove: Sequence[WorkflowViewEntry]
    ) -> None:
        self.log.info(
            "Updating view %s in project %s: adding %s, removing %s",
            self.view_name,
            self.project_key,
            _keys(add) or "none",
            _keys(remove) or "none",
        )
        try:
            hook.update_workflow_view(self.project_key, self.view_name, add=add, remove=remove)
        except ZadigAPIError as error:
            if is_missing_view(error):
                fail_without_retry(error, _view_not_found(self.project_key, self.view_name))
            raise

    def _log_membership(self, hook: ZadigHook) -> list[str]:
        view = self._find_view(hook)
        members = view.workflow_keys if view else []
        self.log.info("View %s now shows: %s", self.view_name, ", ".join(members) or "no workflows")
        return members


class ZadigCreateWorkflowViewOperator(_WorkflowViewOperator):
    """
    Create a workflow view, or accept an existing view that already shows exactly these workflows.

    When the view exists with other workflows, the operator raises, or with ``upsert=True`` it edits
    the view so that it shows exactly ``workflows``: missing ones are added and the others are hidden.
    Running the operator twice therefore leaves the same membership.

    :param project_key: key of the Zadig project.
    :param view_name: name of the view.
    :param workflows: workflows the view shows: keys, or dicts with ``workflow_key`` and an optional
        ``workflow_type``, which is ``custom`` (the default) or ``product``. The internal type names
        ``common_workflow`` and ``product_workflow`` are accepted too. Duplicates are dropped.
    :param upsert: when the view exists with other workflows, make it show exactly ``workflows``
        instead of raising. Default ``False``.
    :param check_workflows_exist: list the project's workflows first and reject unknown keys, because
        Zadig accepts any key. Default ``True``.
    :param zadig_conn_id: Airflow connection id of type ``zadig``. Default ``"zadig_default"``.
    :return: the keys of the workflows the view shows afterwards (pushed to XCom).
    :raises ZadigConfigurationError: an argument is invalid or names an unknown workflow; nothing was
        changed.
    :raises ZadigError: the view exists with other workflows and ``upsert`` is not set.
    """

    template_fields: Sequence[str] = ("project_key", "view_name", "workflows", "zadig_conn_id")

    def __init__(
        self,
        *,
        project_key: str,
        view_name: str,
        workflows: Sequence[WorkflowReference] | WorkflowReference = (),
        upsert: bool = False,
        check_workflows_exist: bool = True,
        zadig_conn_id: str = "zadig_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(project_key=project_key, view_name=view_name, zadig_conn_id=zadig_conn_id, **kwargs)
        self.workflows = workflows
        self.upsert = upsert
        self.check_workflows_exist = check_workflows_exist

    def execute(self, context: Context) -> list[str]:
        self._check_names()
        entries = normalise_view_entries(self.workflows, "workflows", enabled=True)
        hook = self._hook()
        if self.check_workflows_exist:
            self._check_workflows_exist(hook, entries)

        view = self._find_view(hook)
        if view is None and self._create(hook, entries):
            return _keys(entries)

        # The view existed, or another run created it after the listing above.
        view = view or self._find_view(hook)
        if view is None:
            raise ZadigError(f"view {self.view_name!r} was reported as existing but is not listed; retry")
        self._reconcile(hook, view, entries)
        return self._log_membership(hook)

    def _create(self, hook: ZadigHook, entries: Sequence[WorkflowViewEntry]) -> bool:
        """Create the view. Return ``False`` when Zadig reports that it exists already."""
        self.log.info(
            "Creating view %s in project %s with %s", self.view_name, self.project_key, _keys(entries)
        )
        try:
            hook.create_workflow_view(self.project_key, self.view_name, entries)
        except ZadigBadRequestError as error:
            if error.code != VIEW_CREATE_ERROR_CODE:
                raise
            self.log.info("View %s was created by someone else meanwhile", self.view_name)
            return False
        return True

    def _reconcile(self, hook: ZadigHook, view: WorkflowView, entries: Sequence[WorkflowViewEntry]) -> None:
        current = view.workflow_keys
        desired = _keys(entries)
        if set(current) == set(desired):
            self.log.info("View %s already shows exactly %s; nothing to do", self.view_name, desired)
            return
        if not self.upsert:
            raise ZadigError(
                f"view {self.view_name!r} already exists in project {self.project_key!r} and shows "
                f"{current} instead of {desired}; set upsert=True to make it match, "
                "or use ZadigUpdateWorkflowViewOperator"
            )
        add = [entry for entry in entries if entry.workflow_key not in current]
        hidden = [member for member in view.workflows if member.workflow_key not in desired]
        remove = normalise_view_entries(
            [{"workflow_key": m.workflow_key, "workflow_type": m.workflow_type} for m in hidden],
            "workflows",
            enabled=False,
        )
        self._update(hook, add, remove)


class ZadigUpdateWorkflowViewOperator(_WorkflowViewOperator):
    """
    Add workflows to a view and hide others, leaving the workflows not mentioned as they are.

    Zadig merges the edit into the view: ``add`` shows a workflow (again) and ``remove`` hides it.
    Running the operator twice leaves the same membership. Duplicates are dropped before sending,
    because Zadig rejects a repeated key with HTTP 500 "workflow name duplicated".

    :param project_key: key of the Zadig project.
    :param view_name: name of the view, which must exist.
    :param add: workflows to show, in the forms that ``workflows`` of
        :class:`ZadigCreateWorkflowViewOperator` accepts. A single key is one workflow. Default: none.
    :param remove: workflows to hide, in the same forms as ``add``. Default: none.
    :param check_workflows_exist: list the project's workflows first and reject unknown keys in ``add``.
        Default ``True``.
    :param zadig_conn_id: Airflow connection id of type ``zadig``. Default ``"zadig_default"``.
    :return: the keys of the workflows the view shows afterwards (pushed to XCom).
    :raises ZadigConfigurationError: a workflow is both in ``add`` and ``remove``, an entry is invalid,
        or ``add`` names an unknown workflow; nothing was changed.
    :raises AirflowFailException: without further Airflow retries, when the view does not exist. The
        Zadig error is attached as the cause.
    """

    template_fields: Sequence[str] = ("project_key", "view_name", "add", "remove", "zadig_conn_id")

    def __init__(
        self,
        *,
        project_key: str,
        view_name: str,
        add: Sequence[WorkflowReference] | WorkflowReference = (),
        remove: Sequence[WorkflowReference] | WorkflowReference = (),
        check_workflows_exist: bool = True,
        zadig_conn_id: str = "zadig_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(project_key=project_key, view_name=view_name, zadig_conn_id=zadig_conn_id, **kwargs)
        self.add = add
        self.remove = remove
        self.check_workflows_exist = check_workflows_exist

    def execute(self, context: Context) -> list[str] | None:
        self._check_names()
        add = normalise_view_entries(self.add, "add", enabled=True)
        remove = normalise_view_entries(self.remove, "remove", enabled=False)
        both = sorted(set(_keys(add)) & set(_keys(remove)))
        if both:
            raise ZadigConfigurationError(
                f"workflow {', '.join(map(repr, both))} is in both add and remove: keep it in one of them"
            )
        if not add and not remove:
            self.log.info("Nothing to add to or remove from view %s", self.view_name)
            return None

        hook = self._hook()
        if self.check_workflows_exist:
            self._check_workflows_exist(hook, add)
        self._update(hook, add, remove)
        return self._log_membership(hook)


class ZadigDeleteWorkflowViewOperator(_WorkflowViewOperator):
    """
    Delete a workflow view. The workflows it shows are not touched.

    :param project_key: key of the Zadig project.
    :param view_name: name of the view.
    :param fail_if_missing: raise when the view does not exist, instead of logging and succeeding.
        Default ``False``, so running the operator twice succeeds.
    :param zadig_conn_id: Airflow connection id of type ``zadig``. Default ``"zadig_default"``.
    :return: ``True`` when a view was deleted, ``False`` when there was none (pushed to XCom).
    :raises AirflowFailException: without further Airflow retries, when the view does not exist and
        ``fail_if_missing`` is set. The Zadig error is attached as the cause.
    """

    template_fields: Sequence[str] = ("project_key", "view_name", "zadig_conn_id")

    def __init__(
        self,
        *,
        project_key: str,
        view_name: str,
        fail_if_missing: bool = False,
        zadig_conn_id: str = "zadig_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(project_key=project_key, view_name=view_name, zadig_conn_id=zadig_conn_id, **kwargs)
        self.fail_if_missing = fail_if_missing

    def execute(self, context: Context) -> bool:
        self._check_names()
        self.log.info("Deleting view %s in project %s", self.view_name, self.project_key)
        try:
            self._hook().delete_workflow_view(self.project_key, self.view_name)
        except ZadigAPIError as error:
            if not is_missing_view(error):
                raise
            if self.fail_if_missing:
                fail_without_retry(error, _view_not_found(self.project_key, self.view_name))
            self.log.info(
                "View %s does not exist in project %s; nothing to delete", self.view_name, self.project_key
            )
            return False
        self.log.info("Deleted view %s", self.view_name)
        return True


def normalise_view_entries(value: Any, field: str, *, enabled: bool) -> list[WorkflowViewEntry]:
    """
    Build view entries from keys or dicts, dropping repeated keys.

    :param value: one workflow reference or a sequence of them.
    :param field: the argument name, used in error messages.
    :param enabled: ``True`` for workflows to show, ``False`` for workflows to hide.
    :raises ZadigConfigurationError: an entry is invalid, or one key is given with two workflow types.
    """
    entries: dict[str, WorkflowViewEntry] = {}
    for index, item in enumerate(one_or_many(value, field, "a list of workflow keys")):
        entry = _entry(item, f"{field}[{index}]", enabled)
        seen = entries.get(entry.workflow_key)
        if seen is not None and seen.workflow_type != entry.workflow_type:
            raise ZadigConfigurationError(
                f"workflow {entry.workflow_key!r} is in {field} with two types, "
                f"{seen.workflow_type!r} and {entry.workflow_type!r}: keep one"
            )
        entries.setdefault(entry.workflow_key, entry)
    return list(entries.values())


def _entry(item: Any, location: str, enabled: bool) -> WorkflowViewEntry:
    from pydantic import ValidationError

    from airflow_provider_zadig.models import WorkflowViewEntry
    from airflow_provider_zadig.models.base import describe_validation_error

    fields = {"workflow_key": item.strip()} if isinstance(item, str) else item
    if not isinstance(fields, Mapping):
        raise ZadigConfigurationError(f"invalid {location} {item!r}: expected a workflow key or a dict")
    try:
        return WorkflowViewEntry.model_validate({**fields, "enabled": enabled})
    except ValidationError as error:
        raise ZadigConfigurationError(
            f"invalid {location}: {describe_validation_error(error)}. "
            "A workflow_type must be 'custom' or 'product'"
        ) from error


def _keys(entries: Sequence[WorkflowViewEntry]) -> list[str]:
    return [entry.workflow_key for entry in entries]


def is_missing_view(error: ZadigAPIError) -> bool:
    """
    Tell whether ``error`` means that the view does not exist.

    Zadig v3.4 responds to an edit of a missing view with HTTP 500 "failed to find workflow view" and a
    delete with HTTP 400 code 6894 "find workflow view error: mongo: no documents in result".
    """
    description = error.description or ""
    return (
        isinstance(error, ZadigNotFoundError)
        or "failed to find workflow view" in description
        or (error.code == VIEW_DELETE_ERROR_CODE and "no documents" in description)
    )


def _view_not_found(project_key: str, view_name: str) -> str:
    return (
        f"View not found: project {project_key!r} has no workflow view {view_name!r}; "
        "create it with ZadigCreateWorkflowViewOperator."
    )
