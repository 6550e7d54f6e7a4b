"""Next-step hints for Zadig errors: one sentence, chosen by the operation, the code and the text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from airflow_provider_zadig.exceptions import (
    ZadigAPIError,
    ZadigAuthenticationError,
    ZadigBadRequestError,
    ZadigNotFoundError,
    ZadigPermissionError,
    ZadigRateLimitError,
    ZadigServerError,
)


@dataclass(frozen=True)
class _Hint:
    """A hint that applies when every given condition matches."""

    text: str
    operations: frozenset[str] = frozenset()
    codes: frozenset[int] = frozenset()
    pattern: str | None = None

    def applies(self, operation: str | None, code: int | None, description: str) -> bool:
        if self.operations and operation not in self.operations:
            return False
        if self.codes and code not in self.codes:
            return False
        return self.pattern is None or re.search(self.pattern, description, re.IGNORECASE) is not None


_TASK_OPERATIONS = frozenset(
    {"get_workflow_task", "cancel_workflow_task", "retry_workflow_task", "approve_workflow_task"}
)
_WORKFLOW_OPERATIONS = frozenset(
    {"get_workflow", "delete_workflow", "update_workflow", "list_workflow_tasks"}
)
_VIEW_OPERATIONS = frozenset({"update_workflow_view", "delete_workflow_view"})

# Checked in order; the first that applies wins. Texts and codes are those of Zadig v3.4.
_HINTS = (
    _Hint(
        "Check project_key and workflow_key: the workflow key (not its display name) is required",
        operations=frozenset({"execute_workflow"}),
        pattern="no documents in result",
    ),
    _Hint(
        "The workflow requires a pre-approval ticket, which Zadig v3.4 cannot run through the OpenAPI. "
        "Start it from the Zadig UI, or turn off its approval ticket setting",
        operations=frozenset({"execute_workflow"}),
        pattern="approval ticket",
    ),
    _Hint("Enable the workflow in Zadig first", pattern="workflow is disabled"),
    _Hint(
        "Every parameter name must be a parameter defined on the workflow (see the workflow detail)",
        pattern=r"^param \S+ not found",
    ),
    _Hint(
        "Use one of the parameter's choice options from the workflow detail", pattern="invalid choice value"
    ),
    _Hint(
        "Every inputs[].job_name must name a job of the workflow, and its parameters must fit the job type",
        pattern="undefined job type|failed to update jobspec",
    ),
    _Hint(
        "The Zadig license does not allow this: approval jobs, pre-approval tickets and a concurrency "
        "limit other than -1 or 1 need a professional or enterprise license",
        codes=frozenset({7050}),
    ),
    _Hint("Only a task that ended failed, timeout, cancelled or reject can be retried", pattern="无法重试"),
    _Hint(
        "A view with this name already exists in the project",
        operations=frozenset({"create_workflow_view"}),
        codes=frozenset({6892}),
    ),
    _Hint(
        "Workflow keys are unique across all Zadig projects: choose another name",
        operations=frozenset({"create_workflow"}),
        codes=frozenset({6540}),
    ),
    _Hint(
        "Another workflow of the project has the same display name",
        operations=frozenset({"update_workflow"}),
        codes=frozenset({6540}),
    ),
    _Hint(
        "Zadig rejected the workflow definition. Stage and job names must be unique, and job names "
        "must be lower-case letters, digits and hyphens (at most 32 characters)",
        codes=frozenset({6545}),
    ),
    _Hint(
        "A pre-approval ticket with this approval_id already exists",
        operations=frozenset({"create_approval_ticket"}),
        pattern="duplicate|E11000",
    ),
    _Hint("A workflow key may appear only once in the list", pattern="workflow name duplicated"),
    _Hint("Use the workflow type custom or product", pattern="workflow type must be"),
)

_NOT_FOUND_HINTS = (
    (_TASK_OPERATIONS, "Check workflow_key and task_id"),
    (_WORKFLOW_OPERATIONS, "Check workflow_key: the workflow key (not its display name) is required"),
    (_VIEW_OPERATIONS, "Check view_name and project_key"),
    (frozenset({"create_approval_ticket"}), "Check project_key"),
)


def hint_for(
    error_class: type[ZadigAPIError],
    status: int,
    code: int | None,
    description: str,
    operation: str | None,
    conn_id: str,
    location: str | None = None,
) -> str:
    """Return the next-step sentence for an error, or ``""`` when no hint applies."""
    for hint in _HINTS:
        if hint.applies(operation, code, description):
            return hint.text
    if error_class is ZadigNotFoundError:
        return next((text for operations, text in _NOT_FOUND_HINTS if operation in operations), "")
    return _hint_by_status(error_class, status, description, conn_id, location)


def _hint_by_status(
    error_class: type[ZadigAPIError], status: int, description: str, conn_id: str, location: str | None
) -> str:
    if error_class is ZadigAuthenticationError:
        return (
            f"Zadig or a gateway in front of it rejected the API token of Airflow connection {conn_id!r} "
            "as missing, expired or invalid. Copy the token from Zadig (account settings > API Token) "
            "into the connection's password"
        )
    if error_class is ZadigPermissionError:
        return (
            f"The user of the API token in Airflow connection {conn_id!r} lacks permission for this "
            "project or workflow. Grant it in Zadig, or use the token of a user who has it"
        )
    if error_class is ZadigRateLimitError:
        return "Zadig or a gateway limits the request rate: retry later"
    if status in (502, 503, 504):
        return "Zadig or a gateway in front of it is unavailable: retry later"
    if error_class is ZadigServerError:
        return "Zadig failed with an internal error: its server log (the aslan service) has the details"
    if error_class is ZadigBadRequestError and status == 400 and not description:
        # gin's MustBindWith responds to a query or JSON value of the wrong type with an empty 400.
        return "Zadig could not parse the request: a query or body value has the wrong type"
    if 300 <= status < 400:
        target = f" to {location}" if location else ""
        return (
            f"The server redirected the request{target}: set the host of Airflow connection {conn_id!r} "
            "to the final address (often https:// instead of http://)"
        )
    if status in (404, 405):
        return (
            f"The URL does not reach the Zadig API: check the scheme, host and path prefix of Airflow "
            f"connection {conn_id!r}"
        )
    return ""
