"""
The requests of the Zadig v3.4 workflow OpenAPI, built once for both clients.

Each function returns a :class:`RequestSpec`: the method, the path, the query string, the JSON body
and whether the request may be sent again after a failure. The sync hook and the async client send
the same specs, so their URLs and bodies cannot drift apart.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from airflow_provider_zadig.exceptions import ZadigConfigurationError


class RetryMode(enum.Enum):
    """Whether a request may be sent again after a transient failure."""

    #: Reads, cancels, updates and deletes: sending twice leaves the same state as sending once.
    IDEMPOTENT = "idempotent"
    #: Requests that create something: sent again only when the failure proves that Zadig never
    #: received them (a refused connection, a connect timeout or HTTP 429).
    CREATE = "create"


@dataclass(frozen=True)
class RequestSpec:
    """
    One request to the Zadig API.

    :param operation: the hook method that sends it, to choose error hints.
    :param params: the query string, in order.
    :param body: the JSON body, or ``None`` to send no body.
    :param context: the identifiers sent, repeated in error messages.
    :param missing_ok_on_retry: whether a not-found response to a retry means that an earlier
        attempt already succeeded (for deletes).
    """

    method: str
    path: str
    operation: str
    params: tuple[tuple[str, str], ...] = ()
    body: Any = None
    retry: RetryMode = RetryMode.IDEMPOTENT
    context: Mapping[str, Any] = field(default_factory=dict)
    missing_ok_on_retry: bool = False

    @property
    def description(self) -> str:
        """``METHOD /path``, for log lines."""
        return f"{self.method} {self.path}"

    def body_bytes(self) -> bytes | None:
        """Return the body as UTF-8 JSON (Chinese text is kept as is, not escaped), or ``None``."""
        if self.body is None:
            return None
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


def require_text(name: str, value: Any) -> str:
    """Return ``value`` as a non-empty string, or raise :class:`ZadigConfigurationError`."""
    if not isinstance(value, str) or not value.strip():
        raise ZadigConfigurationError(f"{name} must be a non-empty string, got {value!r}")
    return value.strip()


def require_task_id(value: Any) -> int:
    """Return a workflow task id as a positive integer. Digit strings (rendered templates) are accepted."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ZadigConfigurationError(f"task_id must be a positive integer, got {value!r}")
    return value


def _segment(value: str) -> str:
    return quote(value, safe="")


def list_workflows(project_key: str, view_name: str | None = None) -> RequestSpec:
    params = [("projectKey", require_text("project_key", project_key))]
    if view_name:
        params.append(("viewName", view_name))
    return RequestSpec("GET", "/openapi/workflows", "list_workflows", tuple(params))


def get_workflow(workflow_key: str, project_key: str) -> RequestSpec:
    key = require_text("workflow_key", workflow_key)
    project = require_text("project_key", project_key)
    return RequestSpec(
        "GET",
        f"/openapi/workflows/custom/{_segment(key)}/detail",
        "get_workflow",
        (("projectKey", project),),
        context={"workflow_key": key, "project_key": project},
    )


def list_workflow_tasks(workflow_key: str, project_key: str, page_num: int, page_size: int) -> RequestSpec:
    key = require_text("workflow_key", workflow_key)
    project = require_text("project_key", project_key)
    for name, number in (("page_num", page_num), ("page_size", page_size)):
        # Zadig v3.4 returns every task for a page size of 0, and every task unsorted for a page
        # number of 0 or less, so only positive numbers are sent.
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise ZadigConfigurationError(f"{name} must be a positive integer, got {number!r}")
    return RequestSpec(
        "GET",
        f"/openapi/workflows/custom/{_segment(key)}/tasks",
        "list_workflow_tasks",
        (("projectKey", project), ("pageNum", str(page_num)), ("pageSize", str(page_size))),
        context={"workflow_key": key, "project_key": project},
    )


def get_workflow_task(workflow_key: str, task_id: int) -> RequestSpec:
    return _task_query("GET", "get_workflow_task", workflow_key, task_id)


def cancel_workflow_task(workflow_key: str, task_id: int) -> RequestSpec:
    return _task_query("DELETE", "cancel_workflow_task", workflow_key, task_id)


def _task_query(method: str, operation: str, workflow_key: str, task_id: int) -> RequestSpec:
    """Return a request on ``/openapi/workflows/custom/task`` that names the task in its query string."""
    key = require_text("workflow_key", workflow_key)
    task = require_task_id(task_id)
    return RequestSpec(
        method,
        "/openapi/workflows/custom/task",
        operation,
        (("taskId", str(task)), ("workflowKey", key)),
        context={"workflow_key": key, "task_id": task},
    )


def retry_workflow_task(workflow_key: str, task_id: int, project_key: str | None = None) -> RequestSpec:
    key = require_text("workflow_key", workflow_key)
    task = require_task_id(task_id)
    # Zadig v3.4 ignores projectKey here; the docs page lists it, so it is sent when known.
    params = (("projectKey", project_key),) if project_key else ()
    return RequestSpec(
        "POST",
        f"/openapi/workflows/custom/{_segment(key)}/task/{task}",
        "retry_workflow_task",
        params,
        retry=RetryMode.CREATE,
        context={"workflow_key": key, "task_id": task},
    )


def execute_workflow(body: dict[str, Any]) -> RequestSpec:
    return RequestSpec(
        "POST",
        "/openapi/workflows/custom/task",
        "execute_workflow",
        body=body,
        retry=RetryMode.CREATE,
        context={"project_key": body.get("project_key"), "workflow_key": body.get("workflow_key")},
    )


def approve_workflow_task(body: dict[str, Any]) -> RequestSpec:
    return RequestSpec(
        "POST",
        "/openapi/workflows/custom/task/approve",
        "approve_workflow_task",
        body=body,
        retry=RetryMode.CREATE,
        context={key: body.get(key) for key in ("workflow_key", "task_id", "stage_name")},
    )


def delete_workflow(workflow_key: str, project_key: str) -> RequestSpec:
    key = require_text("workflow_key", workflow_key)
    project = require_text("project_key", project_key)
    return RequestSpec(
        "DELETE",
        "/openapi/workflows/custom",
        "delete_workflow",
        (("workflowKey", key), ("projectKey", project)),
        context={"workflow_key": key, "project_key": project},
        missing_ok_on_retry=True,
    )


def list_workflow_views(project_key: str) -> RequestSpec:
    project = require_text("project_key", project_key)
    return RequestSpec("GET", "/openapi/workflows/view", "list_workflow_views", (("projectKey", project),))


def create_workflow_view(body: dict[str, Any]) -> RequestSpec:
    return RequestSpec(
        "POST",
        "/openapi/workflows/view",
        "create_workflow_view",
        body=body,
        retry=RetryMode.CREATE,
        context={"project_key": body.get("project_key"), "view_name": body.get("name")},
    )


def update_workflow_view(project_key: str, view_name: str, body: dict[str, Any]) -> RequestSpec:
    project = require_text("project_key", project_key)
    name = require_text("view_name", view_name)
    return RequestSpec(
        "PUT",
        f"/openapi/workflows/view/{_segment(name)}",
        "update_workflow_view",
        (("projectKey", project),),
        body=body,
        context={"project_key": project, "view_name": name},
    )


def delete_workflow_view(project_key: str, view_name: str) -> RequestSpec:
    project = require_text("project_key", project_key)
    name = require_text("view_name", view_name)
    return RequestSpec(
        "DELETE",
        f"/openapi/workflows/view/{_segment(name)}",
        "delete_workflow_view",
        (("projectKey", project),),
        context={"project_key": project, "view_name": name},
        missing_ok_on_retry=True,
    )


def create_workflow(body: dict[str, Any], view_name: str | None = None) -> RequestSpec:
    params = (("viewName", view_name),) if view_name else ()
    return RequestSpec(
        "POST",
        "/api/aslan/workflow/v4",
        "create_workflow",
        params,
        body=body,
        retry=RetryMode.CREATE,
        context={"workflow_key": body.get("name"), "project_key": body.get("project")},
    )


def update_workflow(workflow_key: str, body: dict[str, Any]) -> RequestSpec:
    key = require_text("workflow_key", workflow_key)
    # Zadig v3.4 takes the project from the body's ``project`` and ignores projectName, which the
    # docs page marks as required.
    return RequestSpec(
        "PUT",
        f"/api/aslan/workflow/v4/{_segment(key)}",
        "update_workflow",
        (("projectName", str(body.get("project", ""))),),
        body=body,
        context={"workflow_key": key, "project_key": body.get("project")},
    )


def create_approval_ticket(body: dict[str, Any]) -> RequestSpec:
    return RequestSpec(
        "POST",
        "/openapi/ticket/approval",
        "create_approval_ticket",
        body=body,
        retry=RetryMode.CREATE,
        context={"project_key": body.get("project_key"), "approval_id": body.get("approval_id")},
    )
