"""Operator that executes a Zadig workflow and waits for the task it starts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_zadig.exceptions import (
    ZadigAmbiguousRequestError,
    ZadigAPIError,
    ZadigBadRequestError,
    ZadigConfigurationError,
    ZadigNotFoundError,
)
from airflow_provider_zadig.operators._common import (
    ZadigTaskRef,
    as_list,
    build_execute_request,
    fail_without_retry,
    mask_parameter_values,
    require_text,
)
from airflow_provider_zadig.operators._wait import ZadigTaskWaitOperator

if TYPE_CHECKING:
    import jinja2
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_zadig.models import (
        ExecuteWorkflowRequest,
        ExecuteWorkflowResult,
        WorkflowDetail,
        WorkflowTask,
    )
    from airflow_provider_zadig.operators._durable import TaskRecord

#: The values of ``failed_task_policy``.
FAILED_TASK_POLICIES = ("new", "retry", "fail")
#: Zadig error code 6542 (``ErrFindWorkflow``): execute found no workflow with the key.
WORKFLOW_NOT_FOUND_CODE = 6542
#: Zadig error code 6190 (``ErrGetCounter``): the task id counter failed, which a retry may not meet.
COUNTER_ERROR_CODE = 6190
# Workflow keys that Zadig v3.4 accepts. A value outside this set is usually a display name.
_WORKFLOW_KEY = re.compile(r"[a-zA-Z0-9-]+")


class ZadigExecuteWorkflowOperator(ZadigTaskWaitOperator):
    """
    Execute a Zadig workflow, then wait for the task it started to finish.

    The operator checks its arguments before any request. Airflow renders ``parameters`` and
    ``inputs`` recursively, so templates may sit at any depth. A ``{{`` left after rendering fails
    the task and names its path. Parameter values are sent as strings (``3`` becomes ``"3"``), and a
    ``repo`` parameter's ``prs`` may be a list, a number or rendered text such as ``"[12]"`` or
    ``"12"``. With ``check_inputs`` the operator then reads the workflow and rejects unknown job
    names, unknown parameter names and choice values outside the options. Zadig v3.4 would fail the
    first two with HTTP 500, and would run an unknown job name's task with the saved defaults
    (v3.4.0) or with every job skipped (v3.4.1 and later). These argument errors fail the task at
    once, without retries, because every retry would fail the same way.

    The execute request is sent once. Right after it, and before waiting, the operator pushes the
    XComs ``zadig_task_id``, ``zadig_task_url``, ``zadig_workflow_key`` and ``zadig_project_key``,
    and with ``durable`` stores the task in Airflow 3.3's ``task_state_store``. The return value
    is the Zadig task id.

    **Airflow retries.** Zadig cannot tell a repeated execute request from a new one, so a retry
    first looks for the task that an earlier try started. A task that still runs is followed again
    and a task that passed succeeds at once, without a second execute request. For a task that ended
    ``failed``, ``timeout``, ``cancelled`` or ``reject``, ``failed_task_policy`` decides. Clearing
    the Airflow task starts afresh. Airflow before 3.3 has no ``task_state_store``, so there each
    try executes a new task unless ``run_marker_parameter`` is set. The response to the execute
    request can be lost (a read timeout, or HTTP 502, 503 or 504 from a gateway) so that the hook
    cannot tell whether a task started. Then the Airflow task fails without retries unless
    ``run_marker_parameter`` is set, because only the marker lets a retry find that task.

    **Stopping.** When ``timeout`` passes, the Zadig task is cancelled (``cancel_on_timeout``) and the
    Airflow task fails with ``ZadigWaitTimeoutError``. Killing the Airflow task cancels the Zadig task
    (``cancel_on_kill``). A task that ends ``failed``, ``timeout``, ``cancelled`` or ``reject`` raises
    ``ZadigWorkflowTaskError`` naming the status and the failed job, and so does a task that passed
    with every job skipped unless ``fail_on_all_jobs_skipped`` is False. An unknown workflow key
    fails at once, without retries.

    :param project_key: the Zadig project key (templated).
    :param workflow_key: the workflow key, not its display name (templated).
    :param parameters: workflow parameter values (templated), each a dict such as
        ``{"name": "env", "type": "choice", "value": "prod"}``, or
        ``{"name": "code", "type": "repo", "repo": {"codehost_name": ..., "repo_namespace": ...,
        "repo_name": ..., "branch": ..., "prs": [12]}}``. Add ``"is_credential": True`` to keep a
        value out of the logs and the rendered view. Default ``None``: the workflow's defaults.
    :param inputs: job inputs (templated), each ``{"job_name": ..., "job_type": ..., "parameters":
        {...}}`` with job-type specific parameters. Default ``None``: the jobs' saved settings.
    :param check_inputs: whether to read the workflow and check ``parameters`` and ``inputs`` against
        it before executing. Default True.
    :param durable: whether an Airflow retry looks for the task that an earlier try started.
        Default True.
    :param failed_task_policy: what a retry does when the earlier try's task ended ``failed``,
        ``timeout``, ``cancelled`` or ``reject``: ``"new"`` executes a new task (default), ``"retry"``
        runs the same task again through Zadig's retry call, keeping its id, and ``"fail"`` fails the
        Airflow task without further retries.
    :param run_marker_parameter: the name of a string parameter of the workflow that the operator
        sets to ``<dag_id>/<run_id>/<task_id>/<map_index>/<first try>``, so that a retry finds its task
        even without ``task_state_store``, or when a worker died between the execute request and
        storing its result. The workflow must define the parameter. Default ``None``: no marker.
    :param zadig_conn_id: the Zadig connection id (templated). Default ``"zadig_default"``.
    :param wait_for_completion: whether to wait until the task finishes. Default True. Without the
        wait the operator succeeds once the task is started.
    :param check_interval: seconds between two status reads. Default 30.
    :param timeout: the longest wait, in seconds or as a ``timedelta``, counted from the start of the
        Airflow try. Default ``None``: no limit of its own. In deferrable mode ``execution_timeout``
        limits the wait as well, because Airflow does not apply it while a task is deferred.
    :param deferrable: whether to wait in the triggerer instead of on a worker. Default: the
        ``[operators] default_deferrable`` setting, which defaults to False.
    :param cancel_on_timeout: whether to cancel the Zadig task when the wait times out. Default True.
    :param cancel_on_kill: whether to cancel the Zadig task when the Airflow task is killed. That is
        when a user marks it failed or success or clears it while it runs or is deferred (a deferred
        task needs Airflow 3.3 or later), or when ``execution_timeout`` stops it on the worker.
        Default True.
    :param fail_on_all_jobs_skipped: whether a task that passed with every job skipped fails the
        Airflow task. Default True. When False the operator logs a warning and succeeds.
    :param max_consecutive_failures: how many status reads in a row may fail with a transient error
        (connection error, HTTP 429, 502, 503 or 504) before the wait fails. Default 5.
    :param kwargs: the ``BaseOperator`` arguments.
    """

    template_fields: Sequence[str] = (
        "project_key",
        "workflow_key",
        "parameters",
        "inputs",
        "zadig_conn_id",
    )
    template_fields_renderers = {"parameters": "json", "inputs": "json"}
    # Credential values that the workflow detail flags become known during execute, so the rendered
    # view is sent again afterwards, with those values masked.
    overwrite_rtif_after_execution = True
    ui_color = "#e8f4ea"

    def __init__(
        self,
        *,
        project_key: str,
        workflow_key: str,
        parameters: list[dict[str, Any]] | None = None,
        inputs: list[dict[str, Any]] | None = None,
        check_inputs: bool = True,
        durable: bool = True,
        failed_task_policy: str = "new",
        run_marker_parameter: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if failed_task_policy not in FAILED_TASK_POLICIES:
            choices = ", ".join(repr(choice) for choice in FAILED_TASK_POLICIES)
            raise ZadigConfigurationError(
                f"invalid failed_task_policy {failed_task_policy!r}: use one of {choices}"
            )
        self.project_key = project_key
        self.workflow_key = workflow_key
        self.parameters = parameters
        self.inputs = inputs
        self.check_inputs = check_inputs
        self.durable = durable
        self.failed_task_policy = failed_task_policy
        self.run_marker_parameter = run_marker_parameter
        self._display_name: str | None = None

    def render_template_fields(self, context: Context, jinja_env: jinja2.Environment | None = None) -> None:
        """Render the templated fields, then mask the values of parameters flagged ``is_credential``."""
        super().render_template_fields(context, jinja_env)
        # Airflow sends the rendered fields right after rendering, so the masks go in first.
        mask_parameter_values(self.parameters)

    def execute(self, context: Context) -> int:
        """Check the arguments, execute the workflow or find the earlier try's task, then wait for it."""
        from airflow_provider_zadig.operators._durable import TaskRecord

        try:
            request = self._build_request()
        except ZadigConfigurationError as exc:
            fail_without_retry(exc)
        record = TaskRecord(context, self.retries)
        previous = self._find_previous_task(context, request, record) if self.durable else None
        ref, task = previous if previous is not None else (self._start_task(context, request, record), None)
        self._publish(context, ref, record, self._display_name)
        return self._wait_or_defer(context, ref, task)

    def _build_request(self) -> ExecuteWorkflowRequest:
        """Validate the rendered arguments into the request body, without sending anything."""
        return build_execute_request(
            require_text(self.project_key, "project_key"),
            require_text(self.workflow_key, "workflow_key"),
            as_list(self.parameters, "parameters"),
            as_list(self.inputs, "inputs"),
        )

    def _start_task(
        self, context: Context, request: ExecuteWorkflowRequest, record: TaskRecord
    ) -> ZadigTaskRef:
        """Check the request against the workflow, then send the execute request once."""
        workflow = self._read_workflow(request) if self.check_inputs else None
        if self.run_marker_parameter:
            request = self._with_run_marker(context, request, record, workflow)
        if workflow is not None:
            self._check_request(workflow, request)
        mask_parameter_values(request.parameters, workflow)
        self.log.info(
            "Executing Zadig workflow %r of project %r with parameters %s and inputs for jobs %s",
            request.workflow_key,
            request.project_key,
            [parameter.name for parameter in request.parameters] or "none",
            [job_input.job_name for job_input in request.inputs] or "none",
        )
        result = self._send_execute_request(request)
        self._check_project(request, result.project_key)
        return ZadigTaskRef(
            result.workflow_key or request.workflow_key,
            result.project_key or request.project_key,
            result.task_id,
        )

    def _send_execute_request(self, request: ExecuteWorkflowRequest) -> ExecuteWorkflowResult:
        """Send the execute request, and skip Airflow's retries where a retry cannot help."""
        try:
            return self.hook.execute_workflow(
                request.project_key, request.workflow_key, request.parameters, request.inputs
            )
        except ZadigAmbiguousRequestError as exc:
            # Only a run marker lets a retry find a task that this request may have created. Without
            # one, the retry would execute the workflow again and could start a second task.
            if not (self.durable and self.run_marker_parameter):
                fail_without_retry(
                    exc,
                    "The Airflow task fails without retries, because a retry could start a second Zadig "
                    "task. Set run_marker_parameter to let a retry find the task of this try.",
                )
            raise
        except ZadigAPIError as exc:
            if isinstance(exc, ZadigNotFoundError) or exc.code == WORKFLOW_NOT_FOUND_CODE:
                fail_without_retry(exc, _workflow_key_hint(request.workflow_key))
            if isinstance(exc, ZadigBadRequestError) and exc.code != COUNTER_ERROR_CODE:
                # Zadig rejected the input itself (a 6xxx code, or an HTTP 500 such as "param X not
                # found"), so every Airflow retry would send the same request and fail the same way.
                fail_without_retry(exc)
            raise

    def _check_project(self, request: ExecuteWorkflowRequest, project_key: str) -> None:
        """Warn when the workflow belongs to another project: Zadig v3.4 does not check it on execute."""
        if project_key and project_key != request.project_key:
            self.log.warning(
                "Workflow %r belongs to project %r, not %r. Zadig does not check project_key on execute, "
                "so the task runs, but set project_key=%r.",
                request.workflow_key,
                project_key,
                request.project_key,
                project_key,
            )

    def _read_workflow(self, request: ExecuteWorkflowRequest) -> WorkflowDetail:
        self._check_workflow_in_project(request)
        try:
            workflow = self.hook.get_workflow(request.workflow_key, request.project_key)
        except ZadigNotFoundError as exc:
            fail_without_retry(exc, _workflow_key_hint(request.workflow_key))
        self._display_name = workflow.workflow_name or None
        return workflow

    def _check_workflow_in_project(self, request: ExecuteWorkflowRequest) -> None:
        """
        Fail unless the project lists the workflow key.

        Zadig v3.4 compares project_key with the workflow's project neither on execute nor in the
        workflow detail, so a wrong project key would start the workflow of another project.
        """
        workflows = self.hook.list_workflows(request.project_key)
        if any(workflow.workflow_key == request.workflow_key for workflow in workflows):
            return
        named = [
            workflow.workflow_key for workflow in workflows if workflow.workflow_name == request.workflow_key
        ]
        if named:
            hint = (
                f"{request.workflow_key!r} is the display name of the workflow with key {named[0]!r}: "
                "use the key."
            )
        elif workflows:
            keys = ", ".join(sorted(workflow.workflow_key for workflow in workflows))
            key_hint = _workflow_key_hint(request.workflow_key)
            hint = f"{key_hint} Its workflow keys: {keys}." if key_hint else f"Its workflow keys: {keys}."
        else:
            hint = "The project lists no workflows: check project_key."
        fail_without_retry(
            ZadigConfigurationError(
                f"Workflow {request.workflow_key!r} is not in Zadig project {request.project_key!r}. {hint} "
                "Set check_inputs=False to skip this check."
            )
        )

    def _check_request(self, workflow: WorkflowDetail, request: ExecuteWorkflowRequest) -> None:
        from airflow_provider_zadig.validation import check_execute_request

        try:
            warnings = check_execute_request(workflow, request.parameters, request.inputs)
        except ZadigConfigurationError as exc:
            fail_without_retry(exc)
        for warning in warnings:
            self.log.warning("Workflow %r: %s", request.workflow_key, warning)

    def _with_run_marker(
        self,
        context: Context,
        request: ExecuteWorkflowRequest,
        record: TaskRecord,
        workflow: WorkflowDetail | None,
    ) -> ExecuteWorkflowRequest:
        """Return the request with the run marker parameter added."""
        from airflow_provider_zadig.models import WorkflowParameter
        from airflow_provider_zadig.operators._durable import run_marker_value

        name = require_text(self.run_marker_parameter, "run_marker_parameter")
        if any(parameter.name == name for parameter in request.parameters):
            fail_without_retry(
                ZadigConfigurationError(
                    f"parameters sets {name!r}, the run_marker_parameter, which the operator sets itself"
                )
            )
        if workflow is not None and workflow.get_param(name) is None:
            fail_without_retry(
                ZadigConfigurationError(
                    f"workflow {request.workflow_key!r} has no parameter {name!r}: add a string parameter "
                    f"{name!r} to the workflow in Zadig, or set run_marker_parameter=None"
                )
            )
        marker = WorkflowParameter(name=name, type="string", value=run_marker_value(context, record))
        return request.model_copy(update={"parameters": [*request.parameters, marker]})

    def _find_previous_task(
        self, context: Context, request: ExecuteWorkflowRequest, record: TaskRecord
    ) -> tuple[ZadigTaskRef, WorkflowTask | None] | None:
        """Return the task that an earlier try started, after applying ``failed_task_policy``."""
        ref = record.load()
        if ref is None and self.run_marker_parameter and record.is_retry:
            ref = self._find_marked_task(context, request, record)
        if ref is None:
            if record.is_retry and not record.available and not self.run_marker_parameter:
                self.log.warning(
                    "This Airflow version has no task_state_store (added in 3.3), so try %s cannot find "
                    "the Zadig task of an earlier try and executes a new one. Set run_marker_parameter "
                    "to let retries find it.",
                    record.try_number,
                )
            return None
        try:
            task = self.hook.get_workflow_task(ref.workflow_key, ref.task_id)
        except ZadigNotFoundError:
            self.log.warning("Zadig %s, which an earlier try started, no longer exists", ref)
            return None
        return self._apply_failed_task_policy(ref, task)

    def _find_marked_task(
        self, context: Context, request: ExecuteWorkflowRequest, record: TaskRecord
    ) -> ZadigTaskRef | None:
        from airflow_provider_zadig.operators._durable import (
            find_marked_task,
            marker_search_start,
            run_marker_value,
        )

        marker = (
            require_text(self.run_marker_parameter, "run_marker_parameter"),
            run_marker_value(context, record),
        )
        self.log.info("Looking for the Zadig task of an earlier try: parameter %s=%r", *marker)
        task = find_marked_task(
            self.hook, request.workflow_key, request.project_key, marker, marker_search_start(context)
        )
        if task is None:
            self.log.info("No task of workflow %r has %s=%r", request.workflow_key, *marker)
            return None
        return ZadigTaskRef(request.workflow_key, task.project_key or request.project_key, task.task_id)

    def _apply_failed_task_policy(
        self, ref: ZadigTaskRef, task: WorkflowTask
    ) -> tuple[ZadigTaskRef, WorkflowTask | None] | None:
        status = task.status.value
        if not task.status.is_failure:
            self.log.info("Following Zadig %s, which an earlier try started (status %r)", ref, status)
            return ref, task
        if self.failed_task_policy == "new":
            self.log.info(
                "Zadig %s of an earlier try ended %r, so this try executes a new task "
                "(failed_task_policy='new')",
                ref,
                status,
            )
            return None
        if self.failed_task_policy == "retry":
            self.log.info(
                "Zadig %s of an earlier try ended %r, so this try retries it (failed_task_policy='retry')",
                ref,
                status,
            )
            self.hook.retry_workflow_task(ref.workflow_key, ref.task_id, ref.project_key)
            return ref, None
        raise AirflowFailException(
            f"Zadig {ref}, which an earlier try started, ended with status {status!r}, and "
            "failed_task_policy='fail' forbids running it again. Clear the Airflow task to execute a new one."
        )


def _workflow_key_hint(workflow_key: str) -> str:
    if _WORKFLOW_KEY.fullmatch(workflow_key):
        return ""
    return (
        f"{workflow_key!r} cannot be a workflow key, because keys contain only letters, digits and '-': "
        "it looks like a display name. Use the key from the workflow's Zadig URL."
    )
