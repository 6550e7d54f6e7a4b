"""Sensor that waits for a Zadig workflow task to finish, or for one of its approvals."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_zadig.exceptions import ZadigConfigurationError, ZadigError, ZadigWaitTimeoutError

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_zadig.hooks.zadig import ZadigHook
    from airflow_provider_zadig.waiting import TaskWatch, WaitResult

# The values of ``wait_for``, repeated from ``airflow_provider_zadig.waiting`` so that parsing a DAG
# does not import the models.
_WAIT_FOR_CHOICES = ("completion", "approval_pending", "approval_decided")

#: Seconds that the deferral may outlast ``timeout``. The trigger yields its own timeout event at
#: ``timeout``, naming the task's last status, and Airflow's deferral timeout is only the backstop.
DEFERRAL_TIMEOUT_GRACE = 60.0


class ZadigWorkflowTaskSensor(BaseSensorOperator):
    """
    Wait for a Zadig workflow task to finish, or for one of its approvals to be pending or decided.

    Poke, reschedule and deferrable modes judge the task with the same criteria and fail with the
    same messages. A failed task raises ``ZadigWorkflowTaskError``. With ``soft_fail`` (or
    ``never_fail``) a failed task, an error and a timeout mark the sensor skipped in every mode.
    ``timeout`` counts from the first poke. In deferrable mode the trigger yields a timeout event
    at that time, and the sensor raises ``AirflowSensorTimeout`` as in poke mode.

    The return value, pushed to XCom, is the final task status for ``wait_for="completion"``, and
    the approval's job task name for the approval modes. That is the name the Zadig approve call
    expects, so a downstream approve step can pull it. A stage-level approval of an older server
    returns its stage name.

    :param workflow_key: the workflow key (templated).
    :param workflow_task_id: the Zadig workflow task id (templated): an int, or its digits as a
        string, for example pulled from the XCom of the operator that started the task.
    :param project_key: the project key, for messages (templated). Default ``None``: the one in the
        task detail.
    :param wait_for: ``"completion"`` (default) waits until the task status is in
        ``success_statuses`` or ``failure_statuses``, or is final. ``"approval_pending"`` waits until
        an approval waits for a decision. ``"approval_decided"`` waits until it is approved (success)
        or rejected (failure).
    :param approval_name: the approval to watch in the approval modes (templated): its stage name,
        approval job name or job task name. Default ``None``: the first approval that becomes
        pending, or every approval of the task for ``approval_decided``.
    :param success_statuses: task statuses that end a completion wait with success.
        Default ``None``: ``("passed",)``.
    :param failure_statuses: task statuses that end a completion wait with a failure. Default
        ``None``: ``("failed", "timeout", "cancelled", "reject")``. Another final status also fails.
    :param zadig_conn_id: the Zadig connection id. Default ``"zadig_default"``.
    :param deferrable: whether to wait in the triggerer instead of on a worker. Default: the
        ``[operators] default_deferrable`` setting, which defaults to False.
    :param cancel_on_kill: whether to cancel the Zadig task when the sensor is killed (marked failed
        or success, or cleared). Default False, because the sensor did not start the task.
    :param max_consecutive_failures: how many polls in a row may fail with a transient error
        (connection error, HTTP 429, 502, 503 or 504) before the sensor fails. Default 5. In
        reschedule mode each poke starts the count again.
    :param kwargs: ``BaseSensorOperator`` arguments, such as ``poke_interval`` (seconds between
        polls in every mode, default 60), ``timeout`` (seconds), ``mode`` and ``soft_fail``.
    """

    template_fields: Sequence[str] = ("workflow_key", "workflow_task_id", "project_key", "approval_name")
    ui_color = "#e0f0ff"

    def __init__(
        self,
        *,
        workflow_key: str,
        workflow_task_id: int | str,
        project_key: str | None = None,
        wait_for: str = "completion",
        approval_name: str | None = None,
        success_statuses: Iterable[str] | None = None,
        failure_statuses: Iterable[str] | None = None,
        zadig_conn_id: str = "zadig_default",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        cancel_on_kill: bool = False,
        max_consecutive_failures: int = 5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if wait_for not in _WAIT_FOR_CHOICES:
            choices = ", ".join(repr(choice) for choice in _WAIT_FOR_CHOICES)
            raise ZadigConfigurationError(f"Invalid wait_for {wait_for!r}: use one of {choices}.")
        self.workflow_key = workflow_key
        self.workflow_task_id = workflow_task_id
        self.project_key = project_key
        self.wait_for = wait_for
        self.approval_name = approval_name
        self.success_statuses = success_statuses
        self.failure_statuses = failure_statuses
        self.zadig_conn_id = zadig_conn_id
        self.deferrable = deferrable
        self.cancel_on_kill = cancel_on_kill
        self.max_consecutive_failures = max_consecutive_failures
        self._watch: TaskWatch | None = None

    @cached_property
    def hook(self) -> ZadigHook:
        """The hook that reads the task on the worker."""
        from airflow_provider_zadig.hooks.zadig import ZadigHook

        return ZadigHook(zadig_conn_id=self.zadig_conn_id)

    def execute(self, context: Context) -> Any:
        """Check the arguments, then poke on the worker, or poke once and defer to the triggerer."""
        watch = self._get_watch()
        if not self.deferrable:
            # In reschedule mode ``timeout`` counts from the first try, which this try cannot see.
            watch.log_start(None if self.reschedule else time.time() + self.timeout)
            return super().execute(context)
        deadline = time.time() + self.timeout
        watch.log_start(deadline)
        first = self.poke(context)
        if isinstance(first, PokeReturnValue):
            return first.xcom_value
        self._defer(watch, deadline)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """Read the task once and judge it. Raises when the wait ends without success."""
        watch = self._get_watch()
        try:
            task = self.hook.get_workflow_task(watch.subject.workflow_key, watch.subject.task_id)
        except ZadigError as exc:
            result = watch.record_failure(exc)
        else:
            result = watch.observe(task)
        if result is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._finish(result))

    def execute_complete(self, context: Context, event: Any = None) -> Any:
        """Finish the deferred wait from the trigger's event, exactly as a poke would."""
        from airflow_provider_zadig.waiting import read_event

        subject = self._get_watch().subject
        result = read_event(event, workflow_key=subject.workflow_key, task_id=subject.task_id)
        return self._finish(result)

    def on_kill(self) -> None:
        """Cancel the Zadig task when ``cancel_on_kill`` is set. Best effort: failures are logged."""
        if not self.cancel_on_kill or self._watch is None:
            return
        subject = self._watch.subject
        try:
            cancelled = self.hook.cancel_workflow_task(subject.workflow_key, subject.task_id)
        except Exception as exc:
            # on_kill runs while Airflow stops the task, so any failure is logged and not raised.
            self.log.warning(
                "Cancelling %s failed, so cancel it in Zadig: %s", subject.label, exc, exc_info=True
            )
            return
        if cancelled:
            self.log.info("Cancelled %s because the Airflow task was killed", subject.label)
        else:
            self.log.info("%s had already finished, nothing to cancel", subject.label)

    def _get_watch(self) -> TaskWatch:
        # Built on first use, after template rendering, and kept across pokes in poke mode.
        if self._watch is None:
            from airflow_provider_zadig.waiting import TaskWatch, WaitCriteria, coerce_task_id

            criteria = WaitCriteria(
                self.wait_for, self.approval_name, self.success_statuses, self.failure_statuses
            )
            self._watch = TaskWatch(
                criteria,
                workflow_key=self.workflow_key,
                task_id=coerce_task_id(self.workflow_task_id),
                log=self.log,
                project_key=self.project_key,
                check_interval=self.poke_interval,
                max_consecutive_failures=self.max_consecutive_failures,
            )
        return self._watch

    def _defer(self, watch: TaskWatch, deadline: float) -> None:
        from airflow_provider_zadig.triggers.workflow_task import ZadigWorkflowTaskTrigger

        criteria = watch.criteria
        trigger = ZadigWorkflowTaskTrigger(
            conn_id=self.zadig_conn_id,
            workflow_key=watch.subject.workflow_key,
            task_id=watch.subject.task_id,
            project_key=self.project_key,
            wait_for=criteria.wait_for,
            approval_name=criteria.approval_name,
            success_statuses=criteria.success_statuses,
            failure_statuses=criteria.failure_statuses,
            check_interval=max(self.poke_interval, 0.01),
            deadline=deadline,
            cancel_on_kill=self.cancel_on_kill,
            max_consecutive_failures=self.max_consecutive_failures,
        )
        timeout = timedelta(seconds=self.timeout + DEFERRAL_TIMEOUT_GRACE)
        self.defer(trigger=trigger, method_name="execute_complete", timeout=timeout)

    def _finish(self, result: WaitResult) -> Any:
        try:
            result.raise_for_status()
        except ZadigWaitTimeoutError as exc:
            raise AirflowSensorTimeout(f"Sensor has timed out: {exc}") from exc
        except ZadigError as exc:
            # BaseSensorOperator applies soft_fail to these errors only after a deferral, so the
            # sensor applies it here to make poke and reschedule modes behave the same.
            for flag in ("soft_fail", "never_fail"):
                if getattr(self, flag, False):
                    raise AirflowSkipException(f"Skipping because {flag} is set: {exc}") from exc
            raise
        self.log.info("%s", result.message)
        if self._get_watch().criteria.wait_for == "completion" or result.approval is None:
            return result.task_status
        return result.approval.get("job_task_name") or result.approval.get("stage_name")
