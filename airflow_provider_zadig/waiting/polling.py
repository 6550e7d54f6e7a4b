"""Carrying one wait across polls, and the blocking poll loop of the operators and the sensor."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Protocol

from airflow_provider_zadig.exceptions import ZadigAPIError, ZadigError
from airflow_provider_zadig.hooks._retry import backoff_delay, is_transient
from airflow_provider_zadig.waiting.evaluation import WaitSubject, evaluate, truncate
from airflow_provider_zadig.waiting.tracker import StatusChangeTracker, WaitLogger

if TYPE_CHECKING:
    from airflow_provider_zadig.models import ApprovalGate, WorkflowTask
    from airflow_provider_zadig.waiting.criteria import WaitCriteria
    from airflow_provider_zadig.waiting.results import WaitResult

#: How many polls in a row may fail with a transient error. The last of them ends the wait.
DEFAULT_MAX_CONSECUTIVE_FAILURES = 5
#: The maximum pause after a failed poll, in seconds, unless ``check_interval`` is longer. A longer
#: ``Retry-After`` from the server is cut to it.
MAX_FAILURE_BACKOFF = 300.0


class TaskReader(Protocol):
    """Anything that reads a workflow task detail, such as ``ZadigHook``."""

    def get_workflow_task(self, workflow_key: str, task_id: int) -> WorkflowTask: ...


class TaskWatch:
    """
    One wait on one workflow task, carried across polls.

    It logs each status change, judges each poll with :func:`evaluate`, counts the polls that
    failed in a row, and sets the pause before the next poll. The trigger, the sensor and
    :func:`wait_for_task` all wait through it, so they behave the same.

    :param criteria: what ends the wait.
    :param workflow_key: the workflow key.
    :param task_id: the Zadig workflow task id.
    :param log: the logger for status changes and failed polls.
    :param project_key: the project key for results. Default ``None``: the one in the task detail.
    :param check_interval: seconds between two polls. Default 30.
    :param max_consecutive_failures: how many polls in a row may fail with a transient error
        (connection error, HTTP 429, 502, 503 or 504). The last of them ends the wait with an
        ``error`` result, and so does any other error at once. Default 5.
    """

    def __init__(
        self,
        criteria: WaitCriteria,
        *,
        workflow_key: str,
        task_id: int,
        log: WaitLogger,
        project_key: str | None = None,
        check_interval: float = 30.0,
        max_consecutive_failures: int = DEFAULT_MAX_CONSECUTIVE_FAILURES,
    ) -> None:
        self.criteria = criteria
        self.subject = WaitSubject(workflow_key, project_key, task_id)
        self.check_interval = check_interval
        self.max_consecutive_failures = max_consecutive_failures
        self.tracker = StatusChangeTracker(log, self.subject.label)
        self.failures = 0
        self.last_task: WorkflowTask | None = None
        #: Seconds to wait before the next poll: ``check_interval``, or a backoff after a failure.
        self.next_pause = check_interval
        #: The longest ``Retry-After`` that is honoured, usually the connection's ``retry_max_wait``
        #: (never less than ``check_interval``). ``None``: up to the backoff limit of 300 s.
        self.max_retry_after: float | None = None
        self._log = log
        self._pending: ApprovalGate | None = None

    def log_start(self, deadline: float | None) -> None:
        """Log one INFO line saying what the wait waits for and until when."""
        until = f" until {format_epoch(deadline)}" if deadline is not None else ""
        self._log.info(
            "Waiting for %s to reach %s; checking every %s s%s",
            self.subject.label,
            self.criteria.goal,
            self.check_interval,
            until,
        )

    def observe(self, task: WorkflowTask) -> WaitResult | None:
        """Judge a task detail that a poll read. Return the result, or ``None`` to keep waiting."""
        self.failures = 0
        self.next_pause = self.check_interval
        self.last_task = task
        self.tracker.update(task)
        result = evaluate(
            task,
            self.criteria,
            workflow_key=self.subject.workflow_key,
            project_key=self.subject.project_key,
            pending_before=self._pending,
        )
        name = self.criteria.approval_name
        pending = [g for g in task.approval_gates() if g.is_pending and (name is None or g.matches(name))]
        if pending:
            self._pending = pending[0]
        return result

    def record_failure(self, exc: BaseException) -> WaitResult | None:
        """Count a failed poll. Return an ``error`` result when the wait must stop, else ``None``."""
        error = _describe_error(exc)
        if not is_transient(exc):
            message = f"Reading {self.subject.label} failed, so the wait stops: {error}"
            return self.subject.result("error", self.last_task, message, error=exc)
        self.failures += 1
        if self.failures >= self.max_consecutive_failures:
            message = (
                f"Reading {self.subject.label} failed {self.failures} times in a row with transient "
                f"errors, so the wait stops. Last error: {error}. {self._last_status()}"
            )
            return self.subject.result("error", self.last_task, message, error=exc)
        retry_after = exc.retry_after if isinstance(exc, ZadigAPIError) else None
        if retry_after is not None and self.max_retry_after is not None:
            retry_after = min(retry_after, max(self.max_retry_after, self.check_interval))
        max_pause = max(MAX_FAILURE_BACKOFF, self.check_interval)
        self.next_pause = min(
            backoff_delay(self.failures, self.check_interval, max_pause, retry_after), max_pause
        )
        self._log.warning(
            "%s: reading the task failed (%d in a row; the wait stops at %d): %s. Polling again in %.1f s",
            self.subject.label,
            self.failures,
            self.max_consecutive_failures,
            error,
            self.next_pause,
        )
        return None

    def timed_out(self, deadline: float | None) -> WaitResult:
        """Return the ``timeout`` result for a deadline (epoch seconds) that passed."""
        when = format_epoch(deadline) if deadline is not None else "its deadline"
        message = (
            f"{self.subject.label} did not reach {self.criteria.goal} before the wait deadline, "
            f"{when}. {self._last_status()}"
        )
        return self.subject.result("timeout", self.last_task, message)

    def _last_status(self) -> str:
        if self.last_task is None:
            return "No poll of the task succeeded."
        return f"The last task status read was {self.last_task.status.value or 'not started'!r}."


def wait_for_task(
    hook: TaskReader,
    workflow_key: str,
    task_id: int,
    criteria: WaitCriteria,
    check_interval: float,
    deadline: float | None,
    log: WaitLogger,
    *,
    project_key: str | None = None,
    max_consecutive_failures: int = DEFAULT_MAX_CONSECUTIVE_FAILURES,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitResult:
    """
    Poll a workflow task until ``criteria`` give a result, blocking the calling thread.

    It tolerates transient errors like the trigger does, and measures the time left with
    ``time.monotonic()`` so that a change of the system clock does not shorten or stretch the wait.

    :param hook: reads the task, usually a ``ZadigHook``.
    :param workflow_key: the workflow key.
    :param task_id: the Zadig workflow task id.
    :param criteria: what ends the wait.
    :param check_interval: seconds between two polls.
    :param deadline: when to give up, in epoch seconds, or ``None`` to wait without a limit.
    :param log: the logger for status changes and failed polls.
    :param project_key: the project key for the result. Default: the one in the task detail.
    :param max_consecutive_failures: see :class:`TaskWatch`. Default 5.
    :param sleep: the function that pauses between polls, replaced in tests.
    :return: the result, whatever its status: call :meth:`WaitResult.raise_for_status` to fail on
        anything but success. Exceptions that are not ``ZadigError`` propagate.
    """
    watch = TaskWatch(
        criteria,
        workflow_key=workflow_key,
        task_id=task_id,
        log=log,
        project_key=project_key,
        check_interval=check_interval,
        max_consecutive_failures=max_consecutive_failures,
    )
    settings = getattr(hook, "settings", None)
    watch.max_retry_after = getattr(settings, "retry_max_wait", None)
    watch.log_start(deadline)
    end = None if deadline is None else time.monotonic() + (deadline - time.time())
    while True:
        try:
            task = hook.get_workflow_task(workflow_key, task_id)
        except ZadigError as exc:
            result = watch.record_failure(exc)
        else:
            result = watch.observe(task)
        if result is not None:
            return result
        remaining = None if end is None else end - time.monotonic()
        if remaining is not None and remaining <= 0:
            return watch.timed_out(deadline)
        sleep(watch.next_pause if remaining is None else min(watch.next_pause, remaining))


def format_epoch(epoch: float) -> str:
    """Return an epoch timestamp as an ISO 8601 UTC time to the second."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _describe_error(exc: BaseException) -> str:
    status = f" (HTTP {exc.status_code})" if isinstance(exc, ZadigAPIError) else ""
    # Exception messages end with a full stop, and callers add their own.
    return truncate(f"{type(exc).__name__}{status}: {exc}", 500).rstrip(".")
