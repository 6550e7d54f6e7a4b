"""
The engine: a thread that starts waiting tasks and moves running tasks on, one step at a time.

A task goes ``waiting`` -> ``running``, then stage by stage. Each job goes ``prepare`` -> ``running``
-> ``passed`` (or the outcome set with :meth:`ZadigSimulator.set_job_outcome`), except approval jobs,
which go to ``wait_for_approval`` and stay there until the approve call decides them or their
timeout passes. Every change takes ``step_seconds``. Jobs of a parallel stage move together.

Starting a task follows Zadig v3.4's dispatcher (``workflowcontroller/queue.go``). First comes a
system-wide cap (``workflow_concurrency``) on running tasks that are not waiting for an approval.
Then the workflow's ``concurrency_limit`` is counted over all its running tasks, approval waits
included: -1 means no limit, and 0 means the task never starts.
"""

from __future__ import annotations

import logging
import threading
import time

from airflow_provider_zadig.simulator.state import (
    SUCCESS_STATUSES,
    JobRun,
    StageRun,
    Store,
    TaskRecord,
)

log = logging.getLogger(__name__)

ACTIVE_JOB_STATUSES = frozenset({"prepare", "running", "wait_for_approval"})
# Worst first: a stage reports the worst status among its jobs, a task the worst among its stages.
_STAGE_STATUS_ORDER = ("cancelled", "timeout", "failed", "pause", "reject", "passed", "unstable", "skipped")
_TASK_STATUS_ORDER = ("pause", "reject", "cancelled", "timeout", "failed", "passed", "unstable", "skipped")


def worst_status(statuses: list[str], order: tuple[str, ...]) -> str:
    """Return the status that comes first in ``order``; unknown values rank last."""
    ranked = [status for status in order if status in statuses]
    if ranked:
        return ranked[0]
    return statuses[0] if statuses else ""


def approval_decision(job: JobRun) -> str:
    """
    Return ``reject`` when any approver rejected, ``passed`` when ``needed_approvers`` approved, else ``""``.

    Only native approvals have votes; other kinds are decided in their IM app, so never here.
    """
    native = job.spec.get("native_approval")
    if job.spec.get("type", "native") != "native" or not isinstance(native, dict):
        return ""
    votes = [approver.get("reject_or_approve") for approver in native.get("approve_users") or []]
    needed = max(1, int(native.get("needed_approvers") or 0))
    if "reject" in votes:
        return "reject"
    return "passed" if votes.count("approve") >= needed else ""


def now_seconds() -> int:
    """Return the wall-clock time as the Unix seconds that Zadig stores."""
    return int(time.time())


class Engine:
    """Run :meth:`tick` on a background thread until :meth:`stop`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="zadig-simulator-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with self.store.lock:
                    self.tick(time.monotonic())
            except Exception:
                # One bad record must not stop every other task, so log it and go on.
                log.exception("Zadig simulator engine step failed")
            self._stopping.wait(self._interval())

    def _interval(self) -> float:
        # Poll a few times per step so a step is never late by more than a fraction of itself.
        return max(0.005, min(0.05, self.store.settings.step_seconds / 4))

    def tick(self, now: float) -> None:
        """Start the tasks that may start, then take one step in every running task that is due."""
        self._dispatch(now)
        for task in self.store.tasks:
            if (
                task.status == "running"
                and not task.frozen
                and not task.is_deleted
                and now >= task.next_step_at
            ):
                self._step(task, now)

    def _dispatch(self, now: float) -> None:
        live = [task for task in self.store.tasks if not task.is_deleted]
        running = [task for task in live if task.status == "running"]
        busy = sum(1 for task in running if not task.is_waiting_for_approval)
        waiting = [
            task for task in live if task.status == "waiting" and not task.frozen and now >= task.ready_at
        ]
        for task in sorted(waiting, key=lambda item: item.ready_at):
            if busy >= self.store.settings.workflow_concurrency:
                return
            if not self._workflow_has_slot(task, running):
                continue
            self._start_task(task, now)
            running.append(task)
            busy += 1

    def _workflow_has_slot(self, task: TaskRecord, running: list[TaskRecord]) -> bool:
        workflow = self.store.workflows.get(task.workflow_key)
        limit = workflow.concurrency_limit if workflow is not None else -1
        if limit == -1:
            return True
        in_use = sum(1 for other in running if other.workflow_key == task.workflow_key)
        return in_use < limit

    def _start_task(self, task: TaskRecord, now: float) -> None:
        task.status = "running"
        task.start_time = now_seconds()
        task.next_step_at = now + self.store.settings.step_seconds

    def _step(self, task: TaskRecord, now: float) -> None:
        task.next_step_at = now + self.store.settings.step_seconds
        stage = next((stage for stage in task.stages if stage.status not in SUCCESS_STATUSES), None)
        if stage is None:
            self._finish_task(task)
            return
        if stage.status == "":
            self._start_stage(stage, now)
        else:
            self._advance_stage(task, stage, now)
        if stage.status and stage.status not in SUCCESS_STATUSES and stage.status != "running":
            self._finish_task(task)

    def _start_stage(self, stage: StageRun, now: float) -> None:
        stage.status = "running"
        stage.start_time = now_seconds()
        pending = [job for job in stage.jobs if job.status == ""]
        if not pending:
            self._finish_stage(stage)
            return
        for job in pending if stage.parallel else pending[:1]:
            self._start_job(job, now)

    def _start_job(self, job: JobRun, now: float) -> None:
        job.start_time = now_seconds()
        if job.type != "approval":
            job.status = "prepare"
            return
        job.status = "wait_for_approval"
        minutes = int(job.spec.get("timeout") or 0) or 60
        job.approval_deadline = now + minutes * self.store.settings.minute_seconds

    def _advance_stage(self, task: TaskRecord, stage: StageRun, now: float) -> None:
        for job in stage.jobs:
            if job.status == "prepare":
                job.status = "running"
            elif job.status == "running":
                self._finish_job(task, job)
            elif job.status == "wait_for_approval":
                self._check_approval(job, now)
        if any(job.status in ACTIVE_JOB_STATUSES for job in stage.jobs):
            return
        failed = any(job.status and job.status not in SUCCESS_STATUSES for job in stage.jobs)
        pending = [job for job in stage.jobs if job.status == ""]
        if pending and not failed:
            self._start_job(pending[0], now)
            return
        self._finish_stage(stage)

    def _check_approval(self, job: JobRun, now: float) -> None:
        decision = approval_decision(job)
        if decision:
            self._end_job(job, decision)
        elif job.approval_deadline is not None and now >= job.approval_deadline:
            self._end_job(job, "timeout", "approval timed out")

    def _finish_job(self, task: TaskRecord, job: JobRun) -> None:
        status, error = self.store.job_outcomes.get((task.workflow_key, job.job_name), ("passed", ""))
        policy = (job.error_policy or {}).get("policy")
        if status == "failed" and policy == "ignore_error":
            status = "unstable"
        self._end_job(job, status, error)

    @staticmethod
    def _end_job(job: JobRun, status: str, error: str = "") -> None:
        job.status = status
        job.error = error
        job.end_time = now_seconds()
        job.approval_deadline = None

    @staticmethod
    def _finish_stage(stage: StageRun) -> None:
        finished = [job.status for job in stage.jobs if job.status]
        stage.status = worst_status(finished, _STAGE_STATUS_ORDER) or "skipped"
        stage.error = next((job.error for job in stage.jobs if job.error), "")
        stage.end_time = now_seconds()

    @staticmethod
    def _finish_task(task: TaskRecord) -> None:
        finished = [stage.status for stage in task.stages if stage.status]
        status = worst_status(finished, _TASK_STATUS_ORDER) or "passed"
        # A task whose worst stage is only unstable or skipped counts as passed.
        task.status = "passed" if status in ("unstable", "skipped") else status
        task.error = next((stage.error for stage in task.stages if stage.error), "")
        task.end_time = now_seconds()
