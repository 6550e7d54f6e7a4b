"""
The wait shared by the operators that start a Zadig workflow task: blocking on the worker or deferred.

Both modes judge the task with the criteria of :mod:`airflow_provider_zadig.waiting` and end in
:meth:`ZadigTaskWaitOperator._finish`, so they log, cancel and fail alike.
"""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator, conf

from airflow_provider_zadig.exceptions import ZadigConfigurationError, ZadigWorkflowTaskError
from airflow_provider_zadig.links.zadig import ZadigWorkflowTaskLink
from airflow_provider_zadig.operators._common import ZadigTaskRef, push_task_xcoms

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_zadig.hooks.zadig import ZadigHook
    from airflow_provider_zadig.models import WorkflowTask
    from airflow_provider_zadig.operators._durable import TaskRecord
    from airflow_provider_zadig.waiting import WaitResult


class ZadigTaskWaitOperator(BaseOperator):
    """
    Base class of the operators that start a Zadig workflow task and then wait for it to finish.

    :param zadig_conn_id: the Zadig connection id. Default ``"zadig_default"``.
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
    :param fail_on_all_jobs_skipped: whether a task that finished with every job skipped fails the
        Airflow task. Default True. When False the operator logs a warning and succeeds.
    :param max_consecutive_failures: how many status reads in a row may fail with a transient error
        (connection error, HTTP 429, 502, 503 or 504) before the wait fails. Default 5.
    """

    operator_extra_links = (ZadigWorkflowTaskLink(),)

    def __init__(
        self,
        *,
        zadig_conn_id: str = "zadig_default",
        wait_for_completion: bool = True,
        check_interval: float = 30,
        timeout: float | timedelta | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        cancel_on_timeout: bool = True,
        cancel_on_kill: bool = True,
        fail_on_all_jobs_skipped: bool = True,
        max_consecutive_failures: int = 5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.zadig_conn_id = zadig_conn_id
        self.wait_for_completion = wait_for_completion
        self.check_interval = _seconds(check_interval, "check_interval")
        self.timeout = None if timeout is None else _seconds(timeout, "timeout")
        self.deferrable = deferrable
        self.cancel_on_timeout = cancel_on_timeout
        self.cancel_on_kill = cancel_on_kill
        self.fail_on_all_jobs_skipped = fail_on_all_jobs_skipped
        self.max_consecutive_failures = max_consecutive_failures
        # The task that this worker process waits on, so that on_kill can cancel it.
        self._waiting_on: ZadigTaskRef | None = None
        self._cancel_sent = False

    @cached_property
    def hook(self) -> ZadigHook:
        """The hook that calls Zadig from the worker."""
        from airflow_provider_zadig.hooks.zadig import ZadigHook

        return ZadigHook(zadig_conn_id=self.zadig_conn_id)

    def _publish(
        self, context: Context, ref: ZadigTaskRef, record: TaskRecord, display_name: str | None
    ) -> None:
        """Remember the task for retries and on_kill, then push its XComs: all before any waiting."""
        self._waiting_on = ref
        record.save(ref)
        url = self.hook.get_task_web_url(ref.project_key, ref.workflow_key, ref.task_id, display_name)
        push_task_xcoms(context, ref, url)
        self.log.info("Zadig %s: %s", ref, url)

    def _wait_or_defer(self, context: Context, ref: ZadigTaskRef, task: WorkflowTask | None = None) -> int:
        """
        Wait for the task and return its id, or defer to the triggerer.

        ``task`` is a status already read: when it is final, the operator finishes without waiting.
        """
        from airflow_provider_zadig.waiting import WaitCriteria, evaluate, wait_for_task

        if not self.wait_for_completion:
            self.log.info("Not waiting for Zadig %s because wait_for_completion is False", ref)
            return ref.task_id
        criteria = WaitCriteria("completion")
        if task is not None:
            result = evaluate(task, criteria, workflow_key=ref.workflow_key, project_key=ref.project_key)
            if result is not None:
                return self._finish(result)
        deadline = self._deadline(context)
        if self.deferrable:
            self._defer(ref, deadline)
        result = wait_for_task(
            self.hook,
            ref.workflow_key,
            ref.task_id,
            criteria,
            self.check_interval,
            deadline,
            self.log,
            project_key=ref.project_key,
            max_consecutive_failures=self.max_consecutive_failures,
        )
        return self._finish(result)

    def execute_complete(
        self,
        context: Context,
        event: Any = None,
        workflow_key: str | None = None,
        project_key: str | None = None,
        task_id: int | None = None,
    ) -> int:
        """
        Finish the deferred wait from the trigger's event.

        Airflow calls this on a new operator instance, so the ids come from the deferral's
        ``kwargs``. Only an explicit success event for that task succeeds.
        """
        from airflow_provider_zadig.waiting import read_event

        result = read_event(event, workflow_key=workflow_key, task_id=task_id)
        return self._finish(result, project_key=project_key)

    def on_kill(self) -> None:
        """Cancel the Zadig task that this worker waits on, when ``cancel_on_kill`` is set. Best effort."""
        if self._waiting_on is None:
            return
        if not self.cancel_on_kill:
            self.log.info(
                "Zadig %s keeps running after the kill because cancel_on_kill is False", self._waiting_on
            )
            return
        self._cancel(self._waiting_on, "the Airflow task was killed")

    def _deadline(self, context: Context) -> float | None:
        """Return when the wait times out, in epoch seconds, counted from the start of the Airflow try."""
        limits = [self.timeout] if self.timeout is not None else []
        if self.deferrable and self.execution_timeout is not None:
            limits.append(self.execution_timeout.total_seconds())
        if not limits:
            return None
        start_date = getattr(context.get("ti"), "start_date", None)
        # Anchored on the try's start, the limit stays the same however often the operator resumes.
        start = start_date.timestamp() if start_date is not None else time.time()
        return start + min(limits)

    def _defer(self, ref: ZadigTaskRef, deadline: float | None) -> None:
        from airflow_provider_zadig.triggers.workflow_task import ZadigWorkflowTaskTrigger

        trigger = ZadigWorkflowTaskTrigger(
            conn_id=self.zadig_conn_id,
            workflow_key=ref.workflow_key,
            task_id=ref.task_id,
            project_key=ref.project_key,
            check_interval=self.check_interval,
            deadline=deadline,
            cancel_on_kill=self.cancel_on_kill,
            max_consecutive_failures=self.max_consecutive_failures,
        )
        self.log.info("Deferring the wait for Zadig %s to the triggerer", ref)
        # The trigger yields a timeout event at the deadline so that execute_complete can cancel the
        # task. Airflow's own deferral timeout would fail the task without calling execute_complete.
        self._waiting_on = None
        self.defer(
            trigger=trigger,
            method_name="execute_complete",
            kwargs={"workflow_key": ref.workflow_key, "project_key": ref.project_key, "task_id": ref.task_id},
            timeout=None,
        )

    def _finish(self, result: WaitResult, project_key: str | None = None) -> int:
        """Cancel the task after a timeout, raise for every outcome but success, return the task id."""
        self._waiting_on = None
        ref = ZadigTaskRef(result.workflow_key, result.project_key or project_key or "", result.task_id)
        if result.status == "timeout" and self.cancel_on_timeout:
            self._cancel(ref, "the wait timed out")
        elif result.status == "timeout":
            self.log.warning("Zadig %s keeps running because cancel_on_timeout is False", ref)
        result.raise_for_status()
        if result.all_jobs_skipped:
            self._report_all_jobs_skipped(ref)
        self.log.info("Zadig %s finished: %s", ref, result.message)
        return ref.task_id

    def _report_all_jobs_skipped(self, ref: ZadigTaskRef) -> None:
        message = (
            f"Zadig {ref} passed, but every job in it was skipped, so nothing ran. Zadig 3.4.1 and later "
            "skip the jobs that an execute request leaves out of `inputs`: check that the job names in "
            "`inputs` match the workflow's jobs."
        )
        if self.fail_on_all_jobs_skipped:
            raise ZadigWorkflowTaskError(
                f"{message} Set fail_on_all_jobs_skipped=False to accept such a run.",
                workflow_key=ref.workflow_key,
                task_id=ref.task_id,
                status="passed",
            )
        self.log.warning("%s", message)

    def _cancel(self, ref: ZadigTaskRef, reason: str) -> None:
        """Cancel the task once. A failure is logged and never replaces the error being reported."""
        if self._cancel_sent:
            return
        self._cancel_sent = True
        self.log.info("Cancelling Zadig %s because %s", ref, reason)
        try:
            cancelled = self.hook.cancel_workflow_task(ref.workflow_key, ref.task_id)
        except Exception as exc:
            self.log.warning("Cancelling Zadig %s failed, so cancel it in Zadig: %s", ref, exc, exc_info=True)
            return
        if not cancelled:
            self.log.info("Zadig %s had already finished, nothing to cancel", ref)


def _seconds(value: Any, argument: str) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ZadigConfigurationError(
            f"invalid {argument} {value!r}: expected a number of seconds greater than 0 or a timedelta"
        )
    return float(value)
