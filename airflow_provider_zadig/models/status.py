"""Status values of Zadig workflow tasks, stages and jobs (``config.Status`` in the Zadig v3.4 server)."""

from __future__ import annotations

import logging
from enum import Enum
from typing import Any

log = logging.getLogger(__name__)


class WorkflowStatus(str, Enum):
    """
    A status of a workflow task, stage or job.

    Unknown strings from newer servers still parse: they become pseudo-members that are neither
    terminal nor successful, and each distinct value is logged once per process.
    """

    # A task is stored as ``waiting`` on creation and on retry, and stays ``waiting`` while a
    # concurrency limit blocks it. ``created`` is what older servers and the docs page show.
    WAITING = "waiting"
    CREATED = "created"
    QUEUED = "queued"
    BLOCKED = "blocked"
    PENDING = "pending"
    PREPARE = "prepare"
    RUNNING = "running"
    # Job-level status of a pending approval job. Older servers set it on the task, and
    # notification code on newer ones also accepts the spelling ``waiting_approve``.
    WAIT_FOR_APPROVAL = "wait_for_approval"
    WAITING_APPROVE = "waiting_approve"
    WAIT_FOR_MANUAL_ERROR_HANDLING = "wait_for_manual_error_handling"
    DEBUG_BEFORE = "debug_before"
    DEBUG_AFTER = "debug_after"
    # A stage with manual execution enabled stops the task here. It can be resumed, so it is not terminal.
    PAUSE = "pause"
    DISTRIBUTED = "distributed"
    DISABLED = "disabled"
    CHANGED = "changed"
    NOT_RUN = "notRun"
    PASSED = "passed"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    REJECT = "reject"
    # Job and stage only: an error ignored by the job's error policy. A task whose worst status is
    # ``unstable`` is reported as ``passed``.
    UNSTABLE = "unstable"
    SKIPPED = "skipped"
    # Stages and jobs that have not started report an empty status.
    NOT_STARTED = ""

    @classmethod
    def _missing_(cls, value: object) -> WorkflowStatus | None:
        if not isinstance(value, str):
            return None
        member = cls._value2member_map_.get(value)
        if member is None:
            log.warning(
                "Unknown Zadig status %r: it is treated as still in progress. "
                "Upgrade airflow-provider-zadig if your Zadig server is newer than v3.4.",
                value,
            )
            member = str.__new__(cls, value)
            member._name_ = f"UNKNOWN_{value}"
            member._value_ = value
            cls._value2member_map_[value] = member
        return member  # type: ignore[return-value]

    @property
    def is_known(self) -> bool:
        """Whether the value is one that Zadig v3.4 defines."""
        return self._name_ in type(self).__members__

    @property
    def is_terminal(self) -> bool:
        """Whether nothing will change this status any more (``pause`` can be resumed, so it is not)."""
        return self in _TERMINAL

    @property
    def is_success(self) -> bool:
        """Whether the status is a successful end: ``passed``, or ``unstable`` for a job or stage."""
        return self in _SUCCESS

    @property
    def is_failure(self) -> bool:
        """Whether the status is a failed end: ``failed``, ``timeout``, ``cancelled`` or ``reject``."""
        return self in _FAILURE

    @property
    def is_waiting_for_approval(self) -> bool:
        """Whether the status marks a pending manual approval."""
        return self in (WorkflowStatus.WAIT_FOR_APPROVAL, WorkflowStatus.WAITING_APPROVE)

    def __str__(self) -> str:
        return self.value


_SUCCESS = frozenset({WorkflowStatus.PASSED, WorkflowStatus.UNSTABLE})
_FAILURE = frozenset(
    {WorkflowStatus.FAILED, WorkflowStatus.TIMEOUT, WorkflowStatus.CANCELLED, WorkflowStatus.REJECT}
)
_TERMINAL = _SUCCESS | _FAILURE | {WorkflowStatus.SKIPPED}

#: Task statuses from which Zadig accepts a retry.
RETRYABLE_STATUSES = frozenset(_FAILURE)

#: The default failure statuses of a wait: any of them ends the wait at once.
DEFAULT_FAILURE_STATUSES = ("failed", "timeout", "cancelled", "reject")
DEFAULT_SUCCESS_STATUSES = ("passed",)


def parse_status(value: Any) -> WorkflowStatus:
    """Parse a status string from the server; ``None`` becomes the empty not-started status."""
    if value is None:
        return WorkflowStatus.NOT_STARTED
    if isinstance(value, WorkflowStatus):
        return value
    return WorkflowStatus(str(value))
