"""
The synchronous Zadig hook, for workers.

The connection (type ``zadig``, default id ``zadig_default``):

- **host**: the Zadig URL, such as ``https://zadig.example.com`` or ``zadig.example.com``, with an
  optional port and path prefix (``https://example.com/zadig`` behind a reverse proxy). The scheme
  may instead be in **schema** and defaults to ``https``.
- **port**: optional.
- **password**: a Zadig API token (account settings > API Token), sent as ``Authorization: Bearer``.
- **extra**: ``verify`` (true, false or a CA bundle path), ``timeout`` (seconds, default 30),
  ``proxies`` (``{"https": "http://proxy:3128"}``), ``max_retries`` (default 3), ``retry_backoff``
  (seconds, default 1) and ``retry_max_wait`` (seconds, default 30). Airflow 2's
  ``extra__zadig__<key>`` spelling is read too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from airflow_provider_zadig.exceptions import ZadigAmbiguousRequestError, ZadigAPIError, ZadigNotFoundError
from airflow_provider_zadig.hooks import _endpoints as endpoints
from airflow_provider_zadig.hooks import _recovery as recovery
from airflow_provider_zadig.hooks._approval import (
    already_voted,
    approval_error,
    approve_target,
    describe_gate,
    select_gate,
)
from airflow_provider_zadig.hooks._bodies import build_model
from airflow_provider_zadig.hooks._errors import is_finished_task_cancel
from airflow_provider_zadig.hooks._response import parse_model
from airflow_provider_zadig.hooks._workflows import ZadigWorkflowAdministration
from airflow_provider_zadig.models import (
    ApprovalGate,
    ApproveRequest,
    ExecuteWorkflowRequest,
    ExecuteWorkflowResult,
    JobInput,
    WorkflowParameter,
    WorkflowTask,
    WorkflowTaskBrief,
    WorkflowTaskList,
)

__all__ = ["ZadigHook"]


class ZadigHook(ZadigWorkflowAdministration):
    """
    Call the Zadig workflow OpenAPI (v3.4) through a ``zadig`` Airflow connection.

    Every method takes keyword arguments and returns typed models. Reads, cancels, view edits and
    deletes are retried after a connection error and HTTP 429, 502, 503 or 504, with exponential
    backoff, jitter and ``Retry-After``. Requests that create something (execute, approve, task
    retry, ticket, view and workflow create) are never re-sent blindly: after a failure that hides
    their outcome the hook checks the server first, and raises
    :class:`~airflow_provider_zadig.exceptions.ZadigAmbiguousRequestError` when it cannot tell.

    :param zadig_conn_id: the Airflow connection id. Defaults to ``zadig_default``.
    """

    def list_workflow_tasks(
        self, workflow_key: str, project_key: str, page_num: int = 1, page_size: int = 50
    ) -> WorkflowTaskList:
        """
        Return one page of a workflow's tasks, newest first, and the total count.

        :param workflow_key: the workflow key.
        :param project_key: the workflow's project key. A wrong key gives an empty list, not an error.
        :param page_num: the page number, from 1. Defaults to 1.
        :param page_size: tasks per page. Defaults to 50 (Zadig's own default is 10).
        :raises ZadigConfigurationError: ``page_num`` or ``page_size`` is less than 1.
        :raises ZadigError: the request failed.
        """
        spec = endpoints.list_workflow_tasks(workflow_key, project_key, page_num, page_size)
        return parse_model(WorkflowTaskList, self.send(spec), spec)

    def iter_workflow_tasks(
        self, workflow_key: str, project_key: str, page_size: int = 50
    ) -> Iterator[WorkflowTaskBrief]:
        """
        Yield every task of a workflow, newest first, reading one page at a time.

        Stops after ``total`` tasks or at the first empty page. Tasks created while iterating shift
        the pages, so a task may be yielded twice; callers that need each once should key on ``task_id``.

        :param page_size: tasks per request. Defaults to 50.
        :raises ZadigError: a request failed.
        """
        page_num = 1
        seen = 0
        while True:
            page = self.list_workflow_tasks(workflow_key, project_key, page_num=page_num, page_size=page_size)
            if not page.workflow_tasks:
                return
            yield from page.workflow_tasks
            seen += len(page.workflow_tasks)
            if seen >= page.total:
                return
            page_num += 1

    def get_workflow_task(self, workflow_key: str, task_id: int) -> WorkflowTask:
        """
        Return a workflow task with its stages, jobs and approvals. Credential values are redacted.

        :param workflow_key: the workflow key.
        :param task_id: the task id (a positive integer, or its digits as a string).
        :raises ZadigNotFoundError: the task does not exist (Zadig v3.4 responds with HTTP 500).
        :raises ZadigError: the request failed.
        """
        spec = endpoints.get_workflow_task(workflow_key, task_id)
        return parse_model(WorkflowTask, self.send(spec), spec)

    def execute_workflow(
        self,
        project_key: str,
        workflow_key: str,
        parameters: Sequence[WorkflowParameter | Mapping[str, Any]] | None = None,
        inputs: Sequence[JobInput | Mapping[str, Any]] | None = None,
        notify_inputs: Sequence[Mapping[str, Any]] | None = None,
    ) -> ExecuteWorkflowResult:
        """
        Start a workflow task.

        Zadig cannot detect a duplicate execution, so the request is never sent twice when it may
        have reached Zadig. The hook reads the newest task id before sending. After a failure that
        hides the outcome, it takes a newer task as the result when that task is the only one
        created by the token's user (the token's ``name`` claim).

        :param project_key: the project key.
        :param workflow_key: the workflow key, not its display name.
        :param parameters: workflow parameter values, such as
            ``{"name": "env", "type": "choice", "value": "dev"}``.
        :param inputs: job inputs, such as ``{"job_name": "build", "parameters": {...}}``. On Zadig
            v3.4.0 jobs left out still run with their saved settings; from v3.4.1 they are skipped.
        :param notify_inputs: notification settings, read by Zadig versions newer than v3.4.
        :raises ZadigConfigurationError: an argument is invalid.
        :raises ZadigNotFoundError: the workflow does not exist (Zadig code 6542).
        :raises ZadigBadRequestError: Zadig rejected the request, such as an unknown parameter or choice
            value (Zadig v3.4 sends HTTP 500 for both).
        :raises ZadigAmbiguousRequestError: whether a task was created could not be found out.
        :raises ZadigError: the request failed.
        """
        request = build_model(
            ExecuteWorkflowRequest,
            f"execute request for workflow {workflow_key!r}",
            {
                "project_key": project_key,
                "workflow_key": workflow_key,
                "parameters": list(parameters or []),
                "inputs": list(inputs or []),
                "notify_inputs": list(notify_inputs) if notify_inputs is not None else None,
            },
        )
        newest = recovery.newest_task_id(self, request.workflow_key, request.project_key)
        spec = endpoints.execute_workflow(request.to_body())
        try:
            result = parse_model(ExecuteWorkflowResult, self.send(spec), spec)
        except ZadigAmbiguousRequestError as exc:
            result = recovery.recover_execution(self, exc, request.project_key, request.workflow_key, newest)
        self.log.info(
            "Started task %d of workflow %s in project %s", result.task_id, workflow_key, project_key
        )
        return result

    def cancel_workflow_task(self, workflow_key: str, task_id: int) -> bool:
        """
        Cancel a workflow task. Sends ``taskId`` and ``workflowKey`` in the query string, with no body.

        :param workflow_key: the workflow key.
        :param task_id: the task id.
        :return: ``True`` when cancelled, ``False`` when the task had already passed. Zadig v3.4
            cancels a task that failed, timed out or was rejected, and sets it to ``cancelled``.
        :raises ZadigNotFoundError: the task does not exist.
        :raises ZadigError: the request failed.
        """
        try:
            self.send(endpoints.cancel_workflow_task(workflow_key, task_id))
        except ZadigAPIError as exc:
            if not is_finished_task_cancel(exc):
                raise
            self.log.info("Task %s of workflow %s already finished, nothing to cancel", task_id, workflow_key)
            return False
        self.log.info("Cancelled task %s of workflow %s", task_id, workflow_key)
        return True

    def retry_workflow_task(self, workflow_key: str, task_id: int, project_key: str | None = None) -> None:
        """
        Run a failed, timed-out, cancelled or rejected task again, keeping its task id.

        Never sent twice blindly: after a failure that hides the outcome, the task is read again.

        :param workflow_key: the workflow key.
        :param task_id: the task id.
        :param project_key: the project key, sent as the docs page describes; Zadig v3.4 ignores it.
        :raises ZadigBadRequestError: the task's status does not allow a retry.
        :raises ZadigNotFoundError: the task does not exist.
        :raises ZadigAmbiguousRequestError: whether the retry took effect could not be found out.
        :raises ZadigError: the request failed.
        """
        spec = endpoints.retry_workflow_task(workflow_key, task_id, project_key)
        try:
            self.send(spec)
        except ZadigAmbiguousRequestError as exc:
            recovery.recover_task_retry(self, exc, workflow_key, endpoints.require_task_id(task_id))
        self.log.info("Retried task %s of workflow %s", task_id, workflow_key)

    def approve_workflow_task(
        self,
        workflow_key: str,
        task_id: int,
        approval_name: str | None = None,
        approve: bool = True,
        comment: str = "",
    ) -> ApprovalGate:
        """
        Approve or reject a native Zadig approval of a workflow task.

        The approval may be named by its stage, its approval job or its job task name. The hook reads
        the task and sends the name that the server expects. A vote that the user already cast counts
        as success. An approval decided before the call is returned without sending anything, so
        callers should check the returned gate's ``decision``.

        :param workflow_key: the workflow key.
        :param task_id: the task id.
        :param approval_name: the stage name, approval job name or job task name. Defaults to the
            pending approval.
        :param approve: ``True`` to approve (the default), ``False`` to reject.
        :param comment: the comment stored with the vote.
        :return: the approval as read after the vote.
        :raises ZadigConfigurationError: no approval has that name, or it is a Feishu (Lark), DingTalk
            or WeCom approval, which must be decided in that app.
        :raises ZadigPermissionError: the token's user is not an approver (not retryable).
        :raises ZadigNotFoundError: the approval is not waiting for a decision and is not decided either.
        :raises ZadigAmbiguousRequestError: whether the vote was recorded could not be found out.
        :raises ZadigError: the request failed.
        """
        task = self.get_workflow_task(workflow_key, task_id)
        gate = select_gate(task, approval_name, workflow_key)
        if gate.is_decided:
            self.log.info(
                "Approval %s is already decided: %s", describe_gate(gate), gate.decision or gate.status.value
            )
            return gate
        spec = _approve_request(workflow_key, task, gate, approve, comment)
        try:
            self._send_decision(spec, workflow_key, gate, task)
        except ZadigNotFoundError:
            # Another approver, the approval timeout or a cancel can end the approval after the read.
            current = self._read_gate(workflow_key, task.task_id, gate)
            if not current.is_decided:
                raise
            self.log.warning("Approval %s ended before this vote counted", describe_gate(current))
            return current
        current = self._read_gate(workflow_key, task.task_id, gate)
        self.log.info("%s approval %s", "Approved" if approve else "Rejected", describe_gate(current))
        return current

    def _send_decision(
        self, spec: endpoints.RequestSpec, workflow_key: str, gate: ApprovalGate, task: WorkflowTask
    ) -> None:
        try:
            self._decide(spec, gate, task)
        except ZadigAmbiguousRequestError as exc:
            recovery.recover_approval(
                self, exc, workflow_key, task.task_id, gate, lambda: self._decide(spec, gate, task)
            )

    def _decide(self, spec: endpoints.RequestSpec, gate: ApprovalGate, task: WorkflowTask) -> None:
        try:
            self.send(spec)
        except ZadigAPIError as exc:
            vote = already_voted(exc)
            if vote is None:
                raise approval_error(exc, gate, task, self.zadig_conn_id, self.settings.token_user) from exc
            requested = "approve" if spec.body.get("approve") else "reject"
            log_level = self.log.info if vote == requested else self.log.warning
            log_level(
                "The token's user already voted %s on approval %s, and Zadig keeps that first vote",
                vote,
                describe_gate(gate),
            )

    def _read_gate(self, workflow_key: str, task_id: int, gate: ApprovalGate) -> ApprovalGate:
        target = approve_target(gate)
        task = self.get_workflow_task(workflow_key, task_id)
        return next((candidate for candidate in task.approval_gates() if candidate.matches(target)), gate)


def _approve_request(
    workflow_key: str, task: WorkflowTask, gate: ApprovalGate, approve: bool, comment: str
) -> endpoints.RequestSpec:
    """Return the approve call that decides ``gate``, with the name that the server expects."""
    request = build_model(
        ApproveRequest,
        "approve request",
        {
            "task_id": task.task_id,
            "workflow_key": workflow_key,
            "stage_name": approve_target(gate),
            "approve": approve,
            "comment": comment,
        },
    )
    return endpoints.approve_workflow_task(request.to_body())
