"""Trigger that waits in the triggerer for a Zadig workflow task to finish or to reach an approval."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_zadig.exceptions import ZadigConfigurationError, ZadigError

if TYPE_CHECKING:
    from airflow_provider_zadig.hooks.async_client import ZadigAsyncClient
    from airflow_provider_zadig.waiting import TaskWatch, WaitResult

#: Seconds that ``on_kill`` gives the cancel request. Airflow 3.3 stops ``on_kill`` itself after
#: ``[triggerer] on_kill_timeout`` (30 s by default), so this stays below that.
CANCEL_TIMEOUT = 20.0


class ZadigWorkflowTaskTrigger(BaseTrigger):
    """
    Poll a Zadig workflow task until it finishes, an approval is pending, or an approval is decided.

    The trigger only reads the task: it was started on the worker before the deferral, so a
    trigger rebuilt from :meth:`serialize` after a triggerer restart never starts another one.
    It yields exactly one event, a plain JSON dict from
    :func:`airflow_provider_zadig.waiting.build_event`, whose ``status`` is:

    * ``success`` or ``failure``: the criteria were met, or the task or its approval ended otherwise;
    * ``timeout``: ``deadline`` passed first. The trigger leaves the Zadig task running, so the
      operator decides whether to cancel it;
    * ``error``: reading the task failed with an error that is not transient (HTTP 400, 401, 403,
      404, a plain 500, or an invalid connection). It is also the status after
      ``max_consecutive_failures`` polls in a row failed with transient errors (connection errors,
      HTTP 429, 502, 503, 504).

    After the n-th transient error in a row, the next poll waits a random time between half and all
    of ``check_interval`` × 2^(n − 1) seconds, or longer when the server's ``Retry-After`` requests
    it, up to the connection's ``retry_max_wait``. The wait is cut to 300 s (or ``check_interval`` when
    longer) and never runs past ``deadline``.

    :param conn_id: the Zadig connection id. The triggerer reads the token from it, so the token is
        never part of the serialized trigger.
    :param workflow_key: the workflow key.
    :param task_id: the Zadig workflow task id, an int or its digits.
    :param project_key: the project key, for the event. Default ``None``: the one in the task detail.
    :param wait_for: ``"completion"``, ``"approval_pending"`` or ``"approval_decided"``.
        Default ``"completion"``. See :class:`~airflow_provider_zadig.waiting.WaitCriteria`.
    :param approval_name: the approval's stage name, approval job name or job task name in the
        approval modes. Default ``None``: any approval.
    :param success_statuses: task statuses that end a completion wait with success.
        Default ``None``: ``("passed",)``.
    :param failure_statuses: task statuses that end a completion wait with a failure.
        Default ``None``: ``("failed", "timeout", "cancelled", "reject")``.
    :param check_interval: seconds between two polls. Default 30.
    :param deadline: when to yield a ``timeout`` event, in epoch seconds. An absolute time, so a
        rebuilt trigger keeps the original limit. Default ``None``: no limit.
    :param cancel_on_kill: whether :meth:`on_kill` cancels the Zadig task when a user marks the
        deferred Airflow task failed or success, or clears it (Airflow 3.3 and later). Default False.
    :param max_consecutive_failures: how many polls in a row may fail with a transient error; the
        last of them ends the wait with an ``error`` event. Default 5.
    :raises ZadigConfigurationError: on an invalid argument, before the deferral is stored.
    """

    def __init__(
        self,
        conn_id: str,
        workflow_key: str,
        task_id: int | str,
        project_key: str | None = None,
        wait_for: str = "completion",
        approval_name: str | None = None,
        success_statuses: Iterable[str] | None = None,
        failure_statuses: Iterable[str] | None = None,
        check_interval: float = 30.0,
        deadline: float | None = None,
        cancel_on_kill: bool = False,
        max_consecutive_failures: int = 5,
    ) -> None:
        from airflow_provider_zadig.waiting import WaitCriteria, coerce_task_id

        super().__init__()
        self.conn_id = _check_text(conn_id, "conn_id")
        self.workflow_key = _check_text(workflow_key, "workflow_key")
        # BaseTrigger uses ``task_id`` for the Airflow task id, so the Zadig one has another name.
        self.workflow_task_id = coerce_task_id(task_id, "task_id")
        self.project_key = None if project_key is None else _check_text(project_key, "project_key")
        self.criteria = WaitCriteria(wait_for, approval_name, success_statuses, failure_statuses)
        self.check_interval = _check_number(check_interval, "check_interval", minimum=0.0)
        self.deadline = None if deadline is None else _check_number(deadline, "deadline", minimum=None)
        self.cancel_on_kill = _check_flag(cancel_on_kill, "cancel_on_kill")
        self.max_consecutive_failures = _check_count(max_consecutive_failures, "max_consecutive_failures")

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the class path and the JSON-safe arguments that rebuild this trigger: ids, never a token."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "conn_id": self.conn_id,
                "workflow_key": self.workflow_key,
                "task_id": self.workflow_task_id,
                "project_key": self.project_key,
                "wait_for": self.criteria.wait_for,
                "approval_name": self.criteria.approval_name,
                "success_statuses": list(self.criteria.success_statuses),
                "failure_statuses": list(self.criteria.failure_statuses),
                "check_interval": self.check_interval,
                "deadline": self.deadline,
                "cancel_on_kill": self.cancel_on_kill,
                "max_consecutive_failures": self.max_consecutive_failures,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll the task until a result, then yield its event once."""
        from airflow_provider_zadig.waiting import build_event

        watch = self._new_watch()
        watch.log_start(self.deadline)
        result = await self._wait(watch)
        self.log.info("Wait ended with %s: %s", result.status, result.message)
        yield TriggerEvent(build_event(result))

    async def on_kill(self) -> None:
        """Cancel the Zadig task when ``cancel_on_kill`` is set. Best effort: failures are logged."""
        label = f"Zadig workflow {self.workflow_key!r} task {self.workflow_task_id}"
        if not self.cancel_on_kill:
            self.log.info(
                "The Airflow task was killed; %s keeps running because cancel_on_kill is False", label
            )
            return
        try:
            cancelled = await asyncio.wait_for(self._cancel(), timeout=CANCEL_TIMEOUT)
        except asyncio.TimeoutError:
            self.log.warning("Cancelling %s took over %s s; cancel it in Zadig", label, CANCEL_TIMEOUT)
        except Exception as exc:
            self.log.warning("Cancelling %s failed, so cancel it in Zadig: %s", label, exc, exc_info=True)
        else:
            if cancelled:
                self.log.info("Cancelled %s because the Airflow task was killed", label)
            else:
                self.log.info("%s had already finished, nothing to cancel", label)

    def _new_watch(self) -> TaskWatch:
        from airflow_provider_zadig.waiting import TaskWatch

        return TaskWatch(
            self.criteria,
            workflow_key=self.workflow_key,
            task_id=self.workflow_task_id,
            log=self.log,
            project_key=self.project_key,
            check_interval=self.check_interval,
            max_consecutive_failures=self.max_consecutive_failures,
        )

    async def _wait(self, watch: TaskWatch) -> WaitResult:
        try:
            client = await self._client()
        except Exception as exc:
            message = f"Loading the Zadig connection {self.conn_id!r} failed, so the wait stops: {exc}"
            return watch.subject.result("error", None, message, error=exc)
        watch.max_retry_after = client.settings.retry_max_wait
        while True:
            try:
                task = await client.get_workflow_task(self.workflow_key, self.workflow_task_id)
            except Exception as exc:
                if not isinstance(exc, ZadigError):
                    self.log.exception("Unexpected error while reading the Zadig task")
                result = watch.record_failure(exc)
            else:
                result = watch.observe(task)
            if result is not None:
                return result
            remaining = None if self.deadline is None else self.deadline - time.time()
            if remaining is not None and remaining <= 0:
                return watch.timed_out(self.deadline)
            await asyncio.sleep(watch.next_pause if remaining is None else min(watch.next_pause, remaining))

    async def _client(self) -> ZadigAsyncClient:
        from airflow_provider_zadig.hooks.async_client import ZadigAsyncClient

        return await ZadigAsyncClient.from_conn_id(self.conn_id, logger=self.log)

    async def _cancel(self) -> bool:
        client = await self._client()
        return await client.cancel_workflow_task(self.workflow_key, self.workflow_task_id)


def _check_text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ZadigConfigurationError(f"Invalid {name} {value!r}: expected a non-empty string.")
    return value


def _check_number(value: Any, name: str, minimum: float | None) -> float:
    valid = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not valid or (minimum is not None and value <= minimum):
        bound = f" greater than {minimum:g}" if minimum is not None else ""
        raise ZadigConfigurationError(
            f"Invalid {name} {value!r}: expected a finite number of seconds{bound}."
        )
    return float(value)


def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ZadigConfigurationError(f"Invalid {name} {value!r}: expected True or False.")
    return value


def _check_count(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ZadigConfigurationError(f"Invalid {name} {value!r}: expected an integer of at least 1.")
    return value
