"""
Finding the Zadig task that an earlier try of the same Airflow task instance started.

Zadig has no idempotency key: every accepted execute request creates a new task. So that an Airflow
retry follows the task it already started instead of starting a second one, the operators remember
the task in one of two places:

* Airflow 3.3 and later: ``context["task_state_store"]``, which is scoped to the DAG run, task id and
  map index and is shared by every try. The record is written right after the execute request, before
  any waiting. A worker that dies between the two leaves no record, which the run marker covers.
* Any Airflow version: a *run marker*, a workflow parameter whose value names the task instance.
  A retry pages through the workflow's tasks, newest first, and reads each task's parameters.

Clearing a task instance starts a new series of tries. Airflow does not delete the task state when it
clears a task, so each record and marker carries the first try number of its series, and a task found
from an earlier series is ignored: a cleared task executes anew.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from airflow_provider_zadig.operators._common import ZadigTaskRef

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_zadig.hooks.zadig import ZadigHook
    from airflow_provider_zadig.models import WorkflowTask

log = logging.getLogger(__name__)

#: Key of the record in ``task_state_store``. Renaming it strands records that running DAGs wrote.
STATE_STORE_KEY = "zadig_workflow_task"
#: The maximum number of tasks whose detail a marker search reads before it stops.
MARKER_SEARCH_LIMIT = 50
#: Tasks created this long before the DAG run started are not searched, in seconds. It allows for
#: clock skew between the Airflow workers and the Zadig server.
MARKER_CLOCK_SKEW = 600


class TaskRecord:
    """
    The Zadig task of one Airflow task instance, read from and written to ``task_state_store``.

    :param context: the Airflow task context.
    :param retries: the operator's ``retries``, used to find the first try of the current series.
    """

    def __init__(self, context: Context, retries: int | None) -> None:
        self._store: Any = context.get("task_state_store")
        ti: Any = context.get("ti")
        self.try_number = int(getattr(ti, "try_number", None) or 1)
        max_tries = getattr(ti, "max_tries", None)
        first_try = 1
        if isinstance(max_tries, int):
            # Airflow sets max_tries to try_number + retries when it clears a task instance, so the
            # series of tries since the last clear starts here (the same rule as Airflow's own
            # RuntimeTaskInstance.get_first_reschedule_date).
            first_try = max_tries - (retries or 0) + 1
        self.first_try = min(max(first_try, 1), self.try_number)

    @property
    def available(self) -> bool:
        """Whether this Airflow version has ``task_state_store`` (3.3 and later)."""
        return self._store is not None

    @property
    def is_retry(self) -> bool:
        """Whether an earlier try of the current series ran before this one."""
        return self.try_number > self.first_try

    def load(self) -> ZadigTaskRef | None:
        """Return the task that an earlier try of the current series stored, or ``None``."""
        if self._store is None:
            return None
        value = self._store.get(STATE_STORE_KEY)
        if value is None:
            return None
        ref = _parse_record(value)
        if ref is None:
            log.warning("Ignoring the unreadable %r record in task_state_store: %r", STATE_STORE_KEY, value)
            return None
        stored_try = value.get("try_number", 1)
        if not isinstance(stored_try, int) or stored_try < self.first_try:
            log.info(
                "Ignoring %s: try %s stored it before this task instance was cleared (this series of "
                "tries starts at try %s)",
                ref,
                stored_try,
                self.first_try,
            )
            return None
        return ref

    def save(self, ref: ZadigTaskRef) -> None:
        """Store ``ref`` for later tries. Without ``task_state_store`` this does nothing."""
        if self._store is None:
            return
        self._store.set(
            STATE_STORE_KEY,
            {
                "workflow_key": ref.workflow_key,
                "project_key": ref.project_key,
                "task_id": ref.task_id,
                "try_number": self.try_number,
            },
        )
        log.debug("Stored %s in task_state_store under %r", ref, STATE_STORE_KEY)


def _parse_record(value: Any) -> ZadigTaskRef | None:
    if not isinstance(value, dict):
        return None
    workflow_key, project_key, task_id = (
        value.get(key) for key in ("workflow_key", "project_key", "task_id")
    )
    if not isinstance(workflow_key, str) or not isinstance(project_key, str):
        return None
    if not isinstance(task_id, int) or isinstance(task_id, bool) or task_id < 1:
        return None
    return ZadigTaskRef(workflow_key=workflow_key, project_key=project_key, task_id=task_id)


def run_marker_value(context: Context, record: TaskRecord) -> str:
    """
    Return the marker that names this task instance's current series of tries.

    The value is ``<dag_id>/<run_id>/<task_id>/<map_index>/<first try of the series>``.
    """
    ti: Any = context["ti"]
    map_index = getattr(ti, "map_index", None)
    map_index = -1 if map_index is None else map_index
    return f"{ti.dag_id}/{ti.run_id}/{ti.task_id}/{map_index}/{record.first_try}"


def find_marked_task(
    hook: ZadigHook,
    workflow_key: str,
    project_key: str,
    marker: tuple[str, str],
    not_before: float | None,
) -> WorkflowTask | None:
    """
    Return the newest task of the workflow whose parameter ``marker[0]`` has the value ``marker[1]``.

    Tasks are read newest first. The search stops at the first task created before ``not_before``
    (epoch seconds), or after :data:`MARKER_SEARCH_LIMIT` tasks.
    """
    name, value = marker
    for searched, brief in enumerate(hook.iter_workflow_tasks(workflow_key, project_key)):
        if not_before is not None and brief.create_time and brief.create_time < not_before:
            break
        if searched >= MARKER_SEARCH_LIMIT:
            log.warning(
                "Stopped looking for the task with %s=%r after %s tasks of workflow %r",
                name,
                value,
                MARKER_SEARCH_LIMIT,
                workflow_key,
            )
            break
        # The task list carries no parameters, so each candidate's detail is read.
        task = hook.get_workflow_task(workflow_key, brief.task_id)
        if any(param.get("name") == name and param.get("value") == value for param in task.params or ()):
            return task
    return None


def marker_search_start(context: Context) -> float | None:
    """Return the epoch second before which no task of this DAG run can have been created, if known."""
    dag_run: Any = context.get("dag_run")
    start_date = getattr(dag_run, "start_date", None)
    if start_date is None:
        return None
    return min(start_date.timestamp(), time.time()) - MARKER_CLOCK_SKEW
