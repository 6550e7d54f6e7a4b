"""Operators that act on an existing Zadig workflow task: approve or reject it, cancel it, retry it."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException, BaseOperator

from airflow_provider_zadig.exceptions import (
    ZadigConfigurationError,
    ZadigNotFoundError,
    ZadigPermissionError,
)
from airflow_provider_zadig.links.zadig import ZadigWorkflowTaskLink
from airflow_provider_zadig.operators._common import (
    XCOM_TASK_URL,
    ZadigTaskRef,
    fail_without_retry,
    require_text,
)
from airflow_provider_zadig.operators._wait import ZadigTaskWaitOperator

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_zadig.hooks.zadig import ZadigHook
    from airflow_provider_zadig.models import ApprovalGate, WorkflowTask
    from airflow_provider_zadig.operators._durable import TaskRecord


def _task_id(value: Any) -> int:
    """Return the ``workflow_task_id`` argument as an int, failing without retries when it is invalid."""
    from airflow_provider_zadig.waiting import coerce_task_id

    try:
        return coerce_task_id(value, "workflow_task_id")
    except ZadigConfigurationError as exc:
        fail_without_retry(exc)


def _workflow_key(value: Any) -> str:
    try:
        return require_text(value, "workflow_key")
    except ZadigConfigurationError as exc:
        fail_without_retry(exc)


def _optional_text(value: Any, argument: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        return require_text(value, argument)
    except ZadigConfigurationError as exc:
        fail_without_retry(exc)


class _ZadigTaskOperator(BaseOperator):
    """Common parts of the operators that act on one existing task: the hook and the task link."""

    operator_extra_links = (ZadigWorkflowTaskLink(),)

    def __init__(self, *, zadig_conn_id: str = "zadig_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.zadig_conn_id = zadig_conn_id

    @cached_property
    def hook(self) -> ZadigHook:
        """The hook that calls Zadig from the worker."""
        from airflow_provider_zadig.hooks.zadig import ZadigHook

        return ZadigHook(zadig_conn_id=self.zadig_conn_id)

    def _push_task_url(self, context: Context, ref: ZadigTaskRef) -> None:
        url = self.hook.get_task_web_url(ref.project_key, ref.workflow_key, ref.task_id)
        context["ti"].xcom_push(key=XCOM_TASK_URL, value=url)


class ZadigApproveWorkflowTaskOperator(_ZadigTaskOperator):
    """
    Approve or reject a native Zadig approval of a workflow task, as the API token's user.

    Only native Zadig approvals can be decided through the Zadig API. A Lark (Feishu), DingTalk or
    WeCom approval fails the task and names the app to decide it in. A vote that the token's user
    already cast counts as done. When the token's user is not an approver, or the approval was
    already decided the other way, the task fails without retries. When the approval is not waiting
    for a decision yet, the task fails with ``ZadigNotFoundError``, which Airflow may retry. To avoid
    that, wait first with ``ZadigWorkflowTaskSensor(wait_for="approval_pending")``.

    The return value, pushed to XCom, is the name of the approval as the approve call takes it: the
    approval's job task name, or the stage name on servers older than Zadig v3.1.

    :param workflow_key: the workflow key (templated).
    :param workflow_task_id: the Zadig workflow task id (templated): an int or its digits, such as
        the ``zadig_task_id`` XCom of the task that executed the workflow.
    :param approval_name: the approval to decide (templated): its stage name, approval job name or
        job task name. Default ``None``: the approval that waits for a decision.
    :param approve: True to approve, False to reject. Default True.
    :param comment: the comment stored with the vote (templated). Default ``""``.
    :param project_key: the project key (templated), used only for the "Zadig Task" link.
        Default ``None``: no link.
    :param zadig_conn_id: the Zadig connection id (templated). Default ``"zadig_default"``.
    :param kwargs: the ``BaseOperator`` arguments.
    """

    template_fields: Sequence[str] = (
        "workflow_key",
        "workflow_task_id",
        "approval_name",
        "comment",
        "project_key",
        "zadig_conn_id",
    )
    ui_color = "#fff3d6"

    def __init__(
        self,
        *,
        workflow_key: str,
        workflow_task_id: int | str,
        approval_name: str | None = None,
        approve: bool = True,
        comment: str = "",
        project_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.workflow_key = workflow_key
        self.workflow_task_id = workflow_task_id
        self.approval_name = approval_name
        self.approve = approve
        self.comment = comment
        self.project_key = project_key

    def execute(self, context: Context) -> str | None:
        """Check the arguments, cast the vote, then check the approval's state."""
        workflow_key = _workflow_key(self.workflow_key)
        task_id = _task_id(self.workflow_task_id)
        approval_name = _optional_text(self.approval_name, "approval_name")
        if self.project_key:
            self._push_task_url(context, ZadigTaskRef(workflow_key, self.project_key, task_id))
        verb = "Approving" if self.approve else "Rejecting"
        target = f"approval {approval_name!r}" if approval_name else "the pending approval"
        self.log.info("%s %s of Zadig workflow %r task %s", verb, target, workflow_key, task_id)
        try:
            gate = self.hook.approve_workflow_task(
                workflow_key, task_id, approval_name, self.approve, self.comment or ""
            )
        except (ZadigConfigurationError, ZadigPermissionError) as exc:
            # An unknown approval, an approval decided in a chat app, or a user who is not an
            # approver: a retry would get the same error.
            fail_without_retry(exc)
        self._check_outcome(gate, workflow_key, task_id)
        return gate.job_task_name or gate.stage_name

    def _check_outcome(self, gate: ApprovalGate, workflow_key: str, task_id: int) -> None:
        from airflow_provider_zadig.waiting.evaluation import decision_text, gate_decision, gate_label

        requested = "approve" if self.approve else "reject"
        decision = gate_decision(gate)
        where = f"Zadig workflow {workflow_key!r} task {task_id}"
        if decision == requested:
            self.log.info("%s: %s", where, decision_text(gate))
        elif decision == "" and gate.is_pending:
            # Zadig refreshes the approval about once a second, and more approvers may be needed.
            approvals = sum(1 for vote in gate.votes if vote.decision == "approve")
            self.log.info(
                "%s: the %s vote is recorded, and %s is still pending (%s of %s approvals)",
                where,
                requested,
                gate_label(gate),
                approvals,
                gate.needed_approvers or "?",
            )
        else:
            state = decision_text(gate) if decision else f"{gate_label(gate)} ended {gate.status.value!r}"
            raise AirflowFailException(f"{where}: requested {requested}, but {state}.")


class ZadigCancelWorkflowTaskOperator(_ZadigTaskOperator):
    """
    Cancel a Zadig workflow task.

    A task that already finished is left as it is and the operator succeeds. The status is read first
    because Zadig v3.4 accepts the cancel of a failed, timed-out or rejected task and overwrites its
    status with ``cancelled``. An unknown task fails without retries. The return value, pushed to
    XCom, is True when this call cancelled the task and False when it had already finished.

    :param workflow_key: the workflow key (templated).
    :param workflow_task_id: the Zadig workflow task id (templated): an int or its digits.
    :param zadig_conn_id: the Zadig connection id (templated). Default ``"zadig_default"``.
    :param kwargs: the ``BaseOperator`` arguments.
    """

    template_fields: Sequence[str] = ("workflow_key", "workflow_task_id", "zadig_conn_id")
    ui_color = "#fde2e2"

    def __init__(self, *, workflow_key: str, workflow_task_id: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workflow_key = workflow_key
        self.workflow_task_id = workflow_task_id

    def execute(self, context: Context) -> bool:
        """Read the task and cancel it unless it already finished."""
        workflow_key = _workflow_key(self.workflow_key)
        task_id = _task_id(self.workflow_task_id)
        task = _read_task(self.hook, workflow_key, task_id)
        ref = ZadigTaskRef(workflow_key, task.project_key, task_id)
        if task.project_key:
            self._push_task_url(context, ref)
        if task.status.is_terminal:
            self.log.info(
                "Zadig %s already finished with status %r, nothing to cancel", ref, task.status.value
            )
            return False
        self.log.info("Cancelling Zadig %s (status %r)", ref, task.status.value or "not started")
        try:
            cancelled = self.hook.cancel_workflow_task(workflow_key, task_id)
        except ZadigNotFoundError as exc:
            fail_without_retry(exc)
        if cancelled:
            self.log.info("Cancelled Zadig %s", ref)
        else:
            self.log.info("Zadig %s finished before the cancel arrived, nothing to cancel", ref)
        return cancelled


class ZadigRetryWorkflowTaskOperator(ZadigTaskWaitOperator):
    """
    Run a Zadig workflow task that ended failed, timeout, cancelled or reject again, keeping its id.

    The status is checked first: retrying a task in any other status fails without retries, because
    Zadig rejects it. With ``wait_for_completion`` the operator then waits for the task like
    :class:`~airflow_provider_zadig.operators.workflow.ZadigExecuteWorkflowOperator` does, blocking
    or deferred, with the same timeout, cancel and failure handling. Before any wait it pushes the
    XComs ``zadig_task_id``, ``zadig_task_url``, ``zadig_workflow_key`` and ``zadig_project_key``,
    and stores the task in ``task_state_store`` (Airflow 3.3 and later), so that an Airflow retry
    follows the task it already retried instead of failing on its new status. The return value is
    the Zadig task id.

    :param workflow_key: the workflow key (templated).
    :param workflow_task_id: the Zadig workflow task id (templated): an int or its digits.
    :param project_key: the project key (templated), for the task link and messages.
    :param wait_for_completion: whether to wait until the retried task finishes. Default False.
    :param zadig_conn_id: the Zadig connection id (templated). Default ``"zadig_default"``.
    :param check_interval: seconds between two status reads. Default 30.
    :param timeout: the longest wait, in seconds or as a ``timedelta``, counted from the start of the
        Airflow try. Default ``None``: no limit of its own. In deferrable mode ``execution_timeout``
        limits the wait as well.
    :param deferrable: whether to wait in the triggerer instead of on a worker. Default: the
        ``[operators] default_deferrable`` setting, which defaults to False.
    :param cancel_on_timeout: whether to cancel the Zadig task when the wait times out. Default True.
    :param cancel_on_kill: whether to cancel the Zadig task when the Airflow task is killed while it
        waits. Default True.
    :param fail_on_all_jobs_skipped: whether a task that passed with every job skipped fails the
        Airflow task. Default True. When False the operator logs a warning and succeeds.
    :param max_consecutive_failures: how many status reads in a row may fail with a transient error
        before the wait fails. Default 5.
    :param kwargs: the ``BaseOperator`` arguments.
    """

    template_fields: Sequence[str] = ("workflow_key", "workflow_task_id", "project_key", "zadig_conn_id")
    ui_color = "#e8f4ea"

    def __init__(
        self,
        *,
        workflow_key: str,
        workflow_task_id: int | str,
        project_key: str,
        wait_for_completion: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(wait_for_completion=wait_for_completion, **kwargs)
        self.workflow_key = workflow_key
        self.workflow_task_id = workflow_task_id
        self.project_key = project_key

    def execute(self, context: Context) -> int:
        """Check the arguments and the task's status, retry it, then wait for it or defer."""
        from airflow_provider_zadig.operators._durable import TaskRecord

        try:
            project_key = require_text(self.project_key, "project_key")
        except ZadigConfigurationError as exc:
            fail_without_retry(exc)
        ref = ZadigTaskRef(_workflow_key(self.workflow_key), project_key, _task_id(self.workflow_task_id))
        record = TaskRecord(context, self.retries)
        task = self._retry_or_follow(ref, record)
        self._publish(context, ref, record, None)
        return self._wait_or_defer(context, ref, task)

    def _retry_or_follow(self, ref: ZadigTaskRef, record: TaskRecord) -> WorkflowTask | None:
        """Retry the task, or return its status when an earlier try of this Airflow task retried it."""
        from airflow_provider_zadig.models import RETRYABLE_STATUSES

        task = _read_task(self.hook, ref.workflow_key, ref.task_id)
        stored = record.load()
        retried_before = stored is not None and (stored.workflow_key, stored.task_id) == (
            ref.workflow_key,
            ref.task_id,
        )
        if retried_before and not task.status.is_failure:
            self.log.info(
                "Following Zadig %s, which an earlier try retried (status %r)", ref, task.status.value
            )
            return task
        if task.status not in RETRYABLE_STATUSES:
            allowed = ", ".join(sorted(status.value for status in RETRYABLE_STATUSES))
            fail_without_retry(
                ZadigConfigurationError(
                    f"Cannot retry Zadig {ref}: its status is {task.status.value or 'not started'!r}, and "
                    f"Zadig retries only tasks that ended {allowed}."
                )
            )
        self.log.info("Retrying Zadig %s, which ended %r", ref, task.status.value)
        # NOTE: a worker lost between this call and the task state write leaves no record, so the
        # next Airflow try finds the retried task running and fails as for any non-retryable status.
        self.hook.retry_workflow_task(ref.workflow_key, ref.task_id, ref.project_key)
        return None


def _read_task(hook: ZadigHook, workflow_key: str, task_id: int) -> WorkflowTask:
    try:
        return hook.get_workflow_task(workflow_key, task_id)
    except ZadigNotFoundError as exc:
        fail_without_retry(exc)
