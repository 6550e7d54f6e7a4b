"""
An in-process Airflow 3 task runtime for operator tests, with only the supervisor replaced.

A task process talks to the Airflow supervisor (and through it to the API server and the database)
over ``airflow.sdk.execution_time.task_runner.SUPERVISOR_COMMS``. :class:`FakeSupervisor` takes that
place and replies from memory. Everything on the task side is Airflow's own code: the
``RuntimeTaskInstance`` that pushes and pulls XComs, the ``TaskStateStoreAccessor`` behind
``context["task_state_store"]``, ``mask_secret``, template rendering and ``resume_execution``.
The supervisor keeps task state per DAG run, task and map index, so every try of a task instance
reads what earlier tries stored, as Airflow's ``task_state_store`` table does.
"""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import jinja2
from airflow.sdk import DAG, BaseOperator
from airflow.sdk._shared.state import TaskScope
from airflow.sdk.exceptions import TaskDeferred
from airflow.sdk.execution_time import comms
from airflow.sdk.execution_time.context import TaskStateStoreAccessor
from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

DAG_ID = "zadig_release"
RUN_ID = "manual__2026-12-04T10:00:00+00:00"

XComKey = tuple[str, str, str, int, str]


@dataclass
class FakeSupervisor:
    """Replies from memory to a task process's XCom, task state and secret-masking requests."""

    xcoms: dict[XComKey, Any] = field(default_factory=dict)
    task_state: dict[tuple[str, str, str, int], dict[str, Any]] = field(default_factory=dict)
    masked: list[Any] = field(default_factory=list)
    scopes: dict[uuid.UUID, TaskScope] = field(default_factory=dict)

    def send(self, msg: Any) -> Any:
        if isinstance(msg, comms.SetXCom):
            key = (
                msg.dag_id,
                msg.run_id,
                msg.task_id,
                -1 if msg.map_index is None else msg.map_index,
                msg.key,
            )
            self.xcoms[key] = msg.value
            return None
        if isinstance(msg, comms.GetXCom):
            key = (
                msg.dag_id,
                msg.run_id,
                msg.task_id,
                -1 if msg.map_index is None else msg.map_index,
                msg.key,
            )
            return comms.XComResult(key=msg.key, value=self.xcoms.get(key))
        if isinstance(msg, comms.GetXComSequenceSlice):
            # What xcom_pull(task_ids=...) sends: every map index of the task, here only the unmapped one.
            value = self.xcoms.get((msg.dag_id, msg.run_id, msg.task_id, -1, msg.key))
            return comms.XComSequenceSliceResult(root=[] if value is None else [value])
        if isinstance(msg, comms.MaskSecret):
            self.masked.append(msg.value)
            return None
        return self._task_state_request(msg)

    def _task_state_request(self, msg: Any) -> Any:
        if isinstance(msg, comms.GetTaskStateStore):
            values = self._state_of(msg.ti_id)
            if msg.key not in values:
                return comms.ErrorResponse(error=comms.ErrorType.TASK_STORE_NOT_FOUND)
            return comms.TaskStateStoreResult(value=values[msg.key])
        if isinstance(msg, comms.SetTaskStateStore):
            self._state_of(msg.ti_id)[msg.key] = msg.value
            return comms.OKResponse(ok=True)
        if isinstance(msg, comms.DeleteTaskStateStore):
            self._state_of(msg.ti_id).pop(msg.key, None)
            return comms.OKResponse(ok=True)
        raise NotImplementedError(f"the fake supervisor does not answer {type(msg).__name__}")

    def _state_of(self, ti_id: uuid.UUID) -> dict[str, Any]:
        scope = self.scopes[ti_id]
        return self.task_state.setdefault((scope.dag_id, scope.run_id, scope.task_id, scope.map_index), {})

    def xcom(self, task_id: str, key: str, map_index: int = -1) -> Any:
        """Return an XCom that a task pushed, or ``None``."""
        return self.xcoms.get((DAG_ID, RUN_ID, task_id, map_index, key))

    def stored_state(self, task_id: str, map_index: int = -1) -> dict[str, Any]:
        """Return the task state of a task instance, shared by all its tries."""
        return self.task_state.get((DAG_ID, RUN_ID, task_id, map_index), {})


def make_dag(**kwargs: Any) -> DAG:
    """Return a DAG to create operators in. Pass ``template_undefined`` and the like through."""
    return DAG(DAG_ID, schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc), **kwargs)


def make_context(
    supervisor: FakeSupervisor,
    operator: BaseOperator,
    *,
    try_number: int = 1,
    max_tries: int | None = None,
    start_date: datetime | None = None,
    params: dict[str, Any] | None = None,
    conf: dict[str, Any] | None = None,
    with_task_state_store: bool = True,
) -> dict[str, Any]:
    """
    Return the context of one try of ``operator``, as the task runner builds it.

    ``max_tries`` defaults to ``operator.retries``, which is what Airflow sets before a task
    instance's first try and keeps until the task instance is cleared.
    """
    now = datetime.now(timezone.utc)
    ti = RuntimeTaskInstance.model_construct(
        id=uuid.uuid4(),
        task_id=operator.task_id,
        dag_id=DAG_ID,
        run_id=RUN_ID,
        try_number=try_number,
        map_index=-1,
        max_tries=operator.retries if max_tries is None else max_tries,
        task=operator,
        start_date=start_date or now,
        dag_version_id=uuid.uuid4(),
    )
    scope = TaskScope(dag_id=DAG_ID, run_id=RUN_ID, task_id=operator.task_id, map_index=-1)
    supervisor.scopes[ti.id] = scope
    dag_run = SimpleNamespace(
        run_id=RUN_ID, dag_id=DAG_ID, conf=conf or {}, start_date=now - timedelta(minutes=5)
    )
    context: dict[str, Any] = {
        "ti": ti,
        "task_instance": ti,
        "task": operator,
        "dag": operator.dag if operator.has_dag() else None,
        "dag_run": dag_run,
        "run_id": RUN_ID,
        "params": params or {},
        "conf": None,
    }
    if with_task_state_store:
        context["task_state_store"] = TaskStateStoreAccessor(ti_id=ti.id, scope=scope)
    return context


def render(operator: BaseOperator, context: dict[str, Any]) -> None:
    """Render the operator's template fields with the DAG's Jinja environment, as the task runner does."""
    env = operator.dag.get_template_env() if operator.has_dag() else jinja2.Environment()
    operator.render_template_fields(context, env)


def run_deferred(
    operator_factory: Any, supervisor: FakeSupervisor, deferred: TaskDeferred, **context_kwargs: Any
) -> Any:
    """
    Run the deferral's trigger to its event, then resume on a new operator instance, as Airflow does.

    ``operator_factory`` builds the fresh instance: Airflow resumes a deferred task in a new process
    from the serialized DAG, so nothing that ``execute`` set on the first instance survives.
    """
    payload = asyncio.run(first_event(deferred.trigger))
    fresh = operator_factory()
    context = make_context(supervisor, fresh, **context_kwargs)
    next_kwargs = {**(deferred.kwargs or {}), "event": payload}
    return fresh.resume_execution(deferred.method_name, next_kwargs, context)


async def first_event(trigger: Any) -> Any:
    """Run a trigger until it yields, and return the event payload."""
    from airflow_provider_zadig.hooks.async_client import close_shared_sessions

    try:
        async for event in trigger.run():
            return event.payload
    finally:
        await close_shared_sessions()
    raise AssertionError("the trigger ended without an event")


def install_supervisor(monkeypatch: Any) -> FakeSupervisor:
    """Put a new :class:`FakeSupervisor` where the task runner expects the supervisor channel."""
    from airflow.sdk.execution_time import task_runner

    supervisor = FakeSupervisor()
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", supervisor, raising=False)
    return supervisor


def run_task(operator: BaseOperator, context: dict[str, Any]) -> Any:
    """Call ``operator.execute(context)`` the way the task runner does, so its safeguard stays quiet."""
    from airflow.sdk.bases.operator import ExecutorSafeguard

    run_context = contextvars.copy_context()
    run_context.run(ExecutorSafeguard.tracker.set, operator)
    return run_context.run(operator.execute, context=context)


#: The test workflow ``release`` of project ``simple-service-demo``: two stages of one job each,
#: no approval, and parameters of every kind, including a credential and the run marker.
RELEASE_WORKFLOW: dict[str, Any] = {
    "name": "release",
    "display_name": "Release service",
    "project": "simple-service-demo",
    "concurrency_limit": -1,
    "params": [
        {"name": "env", "type": "choice", "value": "dev", "choice_option": ["dev", "staging", "prod"]},
        {"name": "branch", "type": "string", "value": "main"},
        {"name": "replicas", "type": "string", "value": "1"},
        {"name": "AIRFLOW_RUN", "type": "string", "value": ""},
        {"name": "db_password", "type": "string", "value": "", "is_credential": True},
        {
            "name": "code",
            "type": "repo",
            "repo": {"source": "gitlab", "repo_namespace": "team", "repo_name": "svc", "branch": "main"},
        },
    ],
    "stages": [
        {"name": "build", "jobs": [{"name": "build-svc", "type": "zadig-build", "spec": {}}]},
        {"name": "deploy", "jobs": [{"name": "deploy-svc", "type": "zadig-deploy", "spec": {"env": "dev"}}]},
    ],
}


def create_release_workflow(conn_id: str) -> None:
    """Create :data:`RELEASE_WORKFLOW` on the simulator through the hook."""
    from airflow_provider_zadig.hooks.zadig import ZadigHook

    ZadigHook(zadig_conn_id=conn_id).create_workflow(RELEASE_WORKFLOW)
