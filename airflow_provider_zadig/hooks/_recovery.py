"""
Check the server after a creating request failed in a way that hides whether it took effect.

A read timeout, a connection reset after sending or a 502/503/504 from a gateway leave a creating
request's outcome unknown. Each function here reads the server to find out, and either returns
(the request took effect), sends the request once more where Zadig itself rejects duplicates, or
raises :class:`ZadigAmbiguousRequestError` with what it found:

- execute: Zadig has no idempotency key, so the request is never sent again. A task newer than the
  newest one recorded before the request, created by the token's user, is adopted when it is the
  only one.
- task retry: the task is read again. A status other than failed/timeout/cancelled/reject means
  the retry took effect. It is never sent again.
- approve: sent again, because Zadig rejects a second vote of the same user ("have approve already").
- view create, workflow create: the view or workflow is looked up first, and the request is sent
  again only when it is missing. Zadig rejects a duplicate name, so a second view or workflow
  cannot appear.
- ticket: sent again without a lookup, because Zadig rejects a duplicate approval id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from airflow_provider_zadig.exceptions import (
    ZadigAmbiguousRequestError,
    ZadigAPIError,
    ZadigError,
)
from airflow_provider_zadig.hooks._endpoints import RequestSpec
from airflow_provider_zadig.hooks._errors import is_duplicate_ticket
from airflow_provider_zadig.models import (
    RETRYABLE_STATUSES,
    ApprovalGate,
    ExecuteWorkflowResult,
    WorkflowTaskBrief,
)

if TYPE_CHECKING:
    from airflow_provider_zadig.hooks._base import ZadigHookBase
    from airflow_provider_zadig.hooks.zadig import ZadigHook

#: Tasks read before an execute request, to find the newest id. Zadig sorts by creation second
#: only, so the newest id need not come first.
NEWEST_TASK_PAGE_SIZE = 10
#: Tasks read after an ambiguous execute request, to find the one it created.
RECOVERY_PAGE_SIZE = 20


def newest_task_id(hook: ZadigHook, workflow_key: str, project_key: str) -> int:
    """Return the highest task id of a workflow, or 0 when it has no task yet."""
    page = hook.list_workflow_tasks(workflow_key, project_key, page_num=1, page_size=NEWEST_TASK_PAGE_SIZE)
    return max((task.task_id for task in page.workflow_tasks), default=0)


def still_ambiguous(error: ZadigAmbiguousRequestError, finding: str) -> ZadigAmbiguousRequestError:
    """Return a new ambiguous-request error that adds what the check found."""
    return ZadigAmbiguousRequestError(f"{error} {finding}", method=error.method, path=error.path)


def recover_execution(
    hook: ZadigHook,
    error: ZadigAmbiguousRequestError,
    project_key: str,
    workflow_key: str,
    newest_before: int,
) -> ExecuteWorkflowResult:
    """Return the task that an ambiguous execute request created, or raise when it cannot be identified."""
    user = hook.settings.token_user
    advice = (
        f"Check the task list of workflow {workflow_key!r} in Zadig before running it again, because "
        "Zadig does not detect duplicate executions."
    )
    try:
        page = hook.list_workflow_tasks(workflow_key, project_key, page_num=1, page_size=RECOVERY_PAGE_SIZE)
    except ZadigError as check_error:
        raise still_ambiguous(
            error, f"Listing the tasks to check failed too: {check_error} {advice}"
        ) from error
    new_tasks = [task for task in page.workflow_tasks if task.task_id > newest_before]
    mine = [task for task in new_tasks if user is not None and task.task_creator == user]
    if len(mine) == 1:
        hook.log.warning(
            "Found task %d of workflow %s, created by %s after the execute request failed: using it",
            mine[0].task_id,
            workflow_key,
            user,
        )
        return ExecuteWorkflowResult(
            project_name=project_key, workflow_name=workflow_key, task_id=mine[0].task_id
        )
    finding = _describe_new_tasks(new_tasks, newest_before, user)
    raise still_ambiguous(error, f"{finding} {advice}") from error


def recover_task_retry(
    hook: ZadigHook, error: ZadigAmbiguousRequestError, workflow_key: str, task_id: int
) -> None:
    """Return when the task left its failed status, so the retry took effect; raise otherwise."""
    try:
        task = hook.get_workflow_task(workflow_key, task_id)
    except ZadigError as check_error:
        raise still_ambiguous(error, f"Reading the task to check failed too: {check_error}") from error
    if task.status not in RETRYABLE_STATUSES:
        hook.log.warning(
            "Task %d of workflow %s is %s after the retry request failed, so the retry took effect",
            task_id,
            workflow_key,
            task.status.value or "not started",
        )
        return
    raise still_ambiguous(
        error,
        f"The task is still {task.status.value}. Zadig may not have queued it yet; check the task in "
        "Zadig before retrying it again.",
    ) from error


def resend_once(
    hook: ZadigHookBase,
    spec: RequestSpec,
    error: ZadigAmbiguousRequestError,
    is_duplicate: Callable[[ZadigAPIError], bool],
) -> None:
    """
    Send a creating request a second time, where Zadig itself rejects a duplicate.

    :param is_duplicate: whether an error shows that the first attempt already created the thing.
    """
    hook.log.warning("%s: sending it once more, because Zadig rejects a duplicate", spec.description)
    try:
        hook.send(spec)
    except ZadigAmbiguousRequestError as again:
        raise still_ambiguous(again, "The second attempt failed in the same way.") from error
    except ZadigAPIError as response_error:
        if not is_duplicate(response_error):
            raise
        hook.log.info("%s: already exists, so the first attempt created it", spec.description)


def recover_approval(
    hook: ZadigHook,
    error: ZadigAmbiguousRequestError,
    workflow_key: str,
    task_id: int,
    gate: ApprovalGate,
    send: Callable[[], None],
) -> None:
    """Return when the approval is decided or has the user's vote, else decide it again through ``send``."""
    target = gate.job_task_name or gate.stage_name
    try:
        task = hook.get_workflow_task(workflow_key, task_id)
    except ZadigError as check_error:
        raise still_ambiguous(error, f"Reading the task to check failed too: {check_error}") from error
    current = next((candidate for candidate in task.approval_gates() if candidate.matches(target)), None)
    user = hook.settings.token_user
    if current is not None and (
        current.is_decided or any(vote.decision and vote.user_name == user for vote in current.votes)
    ):
        hook.log.warning(
            "Approval %s has the decision or the vote, so the approve request took effect", target
        )
        return
    hook.log.warning(
        "Approval %s of task %d is still undecided: sending the decision again, because Zadig rejects "
        "a second vote of the same user",
        target,
        task_id,
    )
    try:
        send()
    except ZadigAmbiguousRequestError as again:
        raise still_ambiguous(again, "The second attempt failed in the same way.") from error


def recover_ticket(hook: ZadigHookBase, error: ZadigAmbiguousRequestError, spec: RequestSpec) -> None:
    """Send the ticket again: Zadig rejects a duplicate approval id (code 7100, a duplicate-key text)."""
    resend_once(hook, spec, error, is_duplicate_ticket)


def _describe_new_tasks(new_tasks: list[WorkflowTaskBrief], newest_before: int, user: str | None) -> str:
    if not new_tasks:
        return f"No task newer than task {newest_before} has appeared yet."
    if user is None:
        return (
            f"New tasks {_ids(new_tasks)} appeared, but the API token does not name its user, so they "
            "cannot be matched to this request."
        )
    creators = ", ".join(sorted({task.task_creator or "?" for task in new_tasks}))
    return (
        f"New tasks {_ids(new_tasks)} appeared (created by {creators}), and not exactly one of them "
        f"is from {user!r}."
    )


def _ids(tasks: list[WorkflowTaskBrief]) -> str:
    return ", ".join(str(task.task_id) for task in tasks)
