"""
The simulator's in-memory state: settings, workflows, tasks, views, tickets, the request log and faults.

Every record lives in one :class:`Store` guarded by one re-entrant lock, because three threads use it:
the server's event loop, the engine thread that moves tasks on, and the test thread calling the
Python API. Hold ``store.lock`` for every read or write.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_zadig.simulator.users import SimulatorUser

SUPPORTED_VERSIONS = ("3.4.0", "3.4.1")
LICENSES = ("enterprise", "basic")

#: Task statuses after which a task never changes again on its own.
TERMINAL_STATUSES = frozenset({"passed", "failed", "timeout", "cancelled", "reject"})
#: Terminal statuses that a task can be retried from.
RETRYABLE_STATUSES = frozenset({"failed", "timeout", "cancelled", "reject"})
#: Job and stage statuses that let the task go on with the next job or stage.
SUCCESS_STATUSES = frozenset({"passed", "unstable", "skipped"})


@dataclass
class SimulatorSettings:
    """
    Behaviour switches; :meth:`ZadigSimulator.reset` restores the values given to the constructor.

    :param step_seconds: Seconds between two status changes of a task (waiting to running, job
        prepare to running to passed, and so on).
    :param version: ``3.4.0`` runs jobs left out of an execute call's ``inputs`` with their saved
        defaults. ``3.4.1`` marks them ``skipped``.
    :param license: ``enterprise`` or ``basic``. A basic license rejects approval tickets, approval
        jobs and ``concurrency_limit`` values other than -1 and 1 with code 7050.
    :param workflow_concurrency: System-wide cap on running tasks (Zadig's ``workflow_concurrency``
        setting, default 2). Tasks waiting for an approval do not count.
    :param minute_seconds: Real seconds that one Zadig minute lasts, which scales approval timeouts.
    """

    step_seconds: float = 0.05
    version: str = "3.4.0"
    license: str = "enterprise"
    workflow_concurrency: int = 2
    minute_seconds: float = 60.0

    def validate(self) -> None:
        """:raises ValueError: when a setting has a value the simulator does not support."""
        if self.version not in SUPPORTED_VERSIONS:
            raise ValueError(f"invalid version {self.version!r}: use one of {', '.join(SUPPORTED_VERSIONS)}")
        if self.license not in LICENSES:
            raise ValueError(f"invalid license {self.license!r}: use one of {', '.join(LICENSES)}")
        if self.step_seconds < 0:
            raise ValueError(f"invalid step_seconds {self.step_seconds!r}: must be 0 or more")
        if self.minute_seconds <= 0:
            raise ValueError(f"invalid minute_seconds {self.minute_seconds!r}: must be more than 0")

    @property
    def skips_jobs_without_inputs(self) -> bool:
        return self.version != "3.4.0"


@dataclass
class WorkflowRecord:
    """A saved custom workflow: the definition body as created or updated, plus bookkeeping."""

    key: str
    definition: dict[str, Any]
    created_by: str
    create_time: int
    update_by: str
    update_time: int

    @property
    def project(self) -> str:
        return str(self.definition.get("project") or "")

    @property
    def display_name(self) -> str:
        return str(self.definition.get("display_name") or "")

    @property
    def concurrency_limit(self) -> int:
        return int(self.definition.get("concurrency_limit") or 0)

    @property
    def stages(self) -> list[dict[str, Any]]:
        return list(self.definition.get("stages") or [])

    @property
    def params(self) -> list[dict[str, Any]]:
        return list(self.definition.get("params") or [])


@dataclass
class JobRun:
    """One job of a task. ``name`` is the job task name ``job-<stage>-<job>-0-<job name>``."""

    name: str
    job_name: str
    type: str
    spec: dict[str, Any]
    status: str = ""
    start_time: int = 0
    end_time: int = 0
    error: str = ""
    error_policy: dict[str, Any] | None = None
    # Monotonic deadline of an approval job while it waits for a decision.
    approval_deadline: float | None = None


@dataclass
class StageRun:
    """One stage of a task."""

    name: str
    parallel: bool
    jobs: list[JobRun]
    status: str = ""
    start_time: int = 0
    end_time: int = 0
    error: str = ""


@dataclass
class TaskRecord:
    """A workflow task and where the engine is in it."""

    workflow_key: str
    project_key: str
    workflow_display_name: str
    task_id: int
    creator: str
    create_time: int
    params: list[dict[str, Any]]
    stages: list[StageRun]
    status: str = "waiting"
    revoker: str = ""
    start_time: int = 0
    end_time: int = 0
    remark: str = ""
    error: str = ""
    is_restart: bool = False
    is_deleted: bool = False
    # A status forced through the Python API or the control plane freezes the task where it is.
    frozen: bool = False
    # Monotonic times: the task may leave ``waiting`` after ``ready_at``, and takes its next step at
    # ``next_step_at``.
    ready_at: float = 0.0
    next_step_at: float = 0.0

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def jobs(self) -> list[JobRun]:
        return [job for stage in self.stages for job in stage.jobs]

    @property
    def is_waiting_for_approval(self) -> bool:
        return any(job.status == "wait_for_approval" for job in self.jobs)


@dataclass
class ViewRecord:
    """A workflow view. Entries keep the internal type names ``common_workflow`` and ``product_workflow``."""

    name: str
    project_key: str
    entries: list[dict[str, Any]]
    update_by: str
    update_time: int


@dataclass
class RecordedRequest:
    """
    One request the simulator received (control-plane calls are not recorded).

    ``query`` keeps the last value of each query parameter, and ``headers`` has lower-case names.
    ``json`` is the parsed body, or ``None`` when the body is empty or not JSON.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body_text: str
    json: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body_text": self.body_text,
            "json": self.json,
        }


@dataclass
class Fault:
    """
    A planned failure for requests matching ``method`` and ``path``.

    :param method: HTTP method, or ``*`` for any.
    :param path: Exact request path without the query string.
    :param status: Status to send instead of the real response, or ``None`` to send the real
        response after ``delay``.
    :param body: Body text of the injected response.
    :param headers: Extra response headers, for example ``Retry-After`` or ``Content-Type``.
    :param times: How many matching requests the fault applies to; ``None`` for every one.
    :param delay: Seconds to wait before responding or resetting the connection.
    :param reset_connection: Reset the TCP connection (RST) instead of responding.
    """

    method: str
    path: str
    status: int | None = 500
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = 1
    delay: float = 0.0
    reset_connection: bool = False

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method.upper()) and self.path == path


@dataclass
class Store:
    """Every record of the simulator. See the module docstring about ``lock``."""

    settings: SimulatorSettings
    users: dict[str, SimulatorUser]
    lock: threading.RLock = field(default_factory=threading.RLock)
    projects: set[str] = field(default_factory=set)
    # Insertion order is Mongo's natural order, which the workflow list follows.
    workflows: dict[str, WorkflowRecord] = field(default_factory=dict)
    tasks: list[TaskRecord] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    views: list[ViewRecord] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    # Outcome of a job's run per workflow and job name, as (status, error).
    job_outcomes: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def find_task(self, workflow_key: str, task_id: int) -> TaskRecord | None:
        """Return the task, preferring live tasks over tasks of a deleted workflow with the same key."""
        matches = [
            task for task in self.tasks if task.workflow_key == workflow_key and task.task_id == task_id
        ]
        live = [task for task in matches if not task.is_deleted]
        # NOTE: Zadig's lookup does not filter deleted tasks, so after a workflow is deleted and
        # created again it may return the old task. Returning the live one is the useful choice here.
        candidates = live or matches
        return candidates[0] if candidates else None

    def find_view(self, project_key: str, name: str) -> ViewRecord | None:
        return next((v for v in self.views if v.project_key == project_key and v.name == name), None)

    def next_task_id(self, workflow_key: str) -> int:
        """Increment the per-workflow counter, like Zadig's ``WorkflowTaskV4:<key>`` counter."""
        value = self.counters.get(workflow_key, 0) + 1
        self.counters[workflow_key] = value
        return value
