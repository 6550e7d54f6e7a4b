"""
Waiting on a Zadig workflow task, shared by the trigger, the sensor and the operators' blocking mode.

* :class:`WaitCriteria` defines what ends a wait: the task's completion, a pending approval, or an
  approval decision.
* :func:`evaluate` judges one task detail against the criteria. It returns a :class:`WaitResult`,
  or ``None`` to keep waiting.
* :class:`TaskWatch` carries one wait across polls: it logs status changes through
  :class:`StatusChangeTracker`, counts failed polls and sets the pause before the next poll.
* :func:`build_event` and :func:`read_event` convert a result to and from the trigger event, a
  plain JSON dict with one shape for every outcome. :func:`parse_event` also raises unless the
  event reports success.
* :func:`wait_for_task` is the blocking poll loop.

Every wait ends through :meth:`WaitResult.raise_for_status`, so a failed task gives the same
exception and message whether the wait blocked a worker or was deferred to the triggerer.
The package imports the models (pydantic) but no HTTP library.
"""

from airflow_provider_zadig.waiting.criteria import WAIT_FOR_CHOICES, WaitCriteria, WaitFor, coerce_task_id
from airflow_provider_zadig.waiting.evaluation import evaluate
from airflow_provider_zadig.waiting.polling import (
    DEFAULT_MAX_CONSECUTIVE_FAILURES,
    MAX_FAILURE_BACKOFF,
    TaskReader,
    TaskWatch,
    wait_for_task,
)
from airflow_provider_zadig.waiting.results import (
    EVENT_STATUSES,
    EventStatus,
    WaitResult,
    approval_summary,
    build_event,
    parse_event,
    read_event,
)
from airflow_provider_zadig.waiting.tracker import StatusChangeTracker, WaitLogger

__all__ = [
    "DEFAULT_MAX_CONSECUTIVE_FAILURES",
    "EVENT_STATUSES",
    "MAX_FAILURE_BACKOFF",
    "WAIT_FOR_CHOICES",
    "EventStatus",
    "StatusChangeTracker",
    "TaskReader",
    "TaskWatch",
    "WaitCriteria",
    "WaitFor",
    "WaitLogger",
    "WaitResult",
    "approval_summary",
    "build_event",
    "coerce_task_id",
    "evaluate",
    "parse_event",
    "read_event",
    "wait_for_task",
]
