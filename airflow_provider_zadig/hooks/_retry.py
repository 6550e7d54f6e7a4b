"""
Retry rules shared by the sync hook and the trigger: which failures are transient, and how long to wait.

Imports neither ``requests`` nor ``aiohttp``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar

from airflow_provider_zadig.exceptions import (
    ZadigAmbiguousRequestError,
    ZadigAPIError,
    ZadigConnectionError,
    ZadigError,
)

log = logging.getLogger(__name__)

T = TypeVar("T")


class LoggerLike(Protocol):
    """The logging methods that the clients call: a ``logging.Logger`` or an Airflow hook's ``log``."""

    def debug(self, msg: str, /, *args: Any) -> Any: ...

    def info(self, msg: str, /, *args: Any) -> Any: ...

    def warning(self, msg: str, /, *args: Any) -> Any: ...


#: Statuses that a gateway or a busy server sends for a failure that may pass. A plain 500 from
#: Zadig is a Go error such as "param X not found in workflow Y", so it is never retried.
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})


def sleep(seconds: float) -> None:
    """Wait between two attempts. Tests replace this function so that they do not wait."""
    time.sleep(seconds)


def is_transient(exc: BaseException) -> bool:
    """
    Return whether a failed request may succeed if sent again later.

    True for a connection error (but not an ambiguous creating request) and for HTTP 429, 502,
    503 and 504. False for everything else, including a plain HTTP 500.
    """
    if isinstance(exc, ZadigAmbiguousRequestError):
        return False
    if isinstance(exc, ZadigConnectionError):
        return True
    return isinstance(exc, ZadigAPIError) and exc.status_code in TRANSIENT_STATUSES


def backoff_delay(attempt: int, base: float, max_wait: float, retry_after: float | None = None) -> float:
    """
    Return the seconds to wait before retry number ``attempt`` (1 for the first retry).

    The wait doubles with each attempt from ``base`` and is capped at ``max_wait``. A random jitter
    takes off up to half of it, so that many clients do not retry in step. A server's
    ``Retry-After`` is a lower bound and is not capped: callers decide whether to wait that long.
    """
    exponent = min(max(attempt, 1) - 1, 32)
    cap = min(max(base, 0.0) * 2**exponent, max(max_wait, 0.0))
    delay = cap / 2 + random.uniform(0, cap / 2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """
    Return the wait in seconds that a ``Retry-After`` header requests, or ``None`` when absent or invalid.

    The header is either a number of seconds or an HTTP date (RFC 9110, section 10.2.3).
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(moment.timestamp() - current, 0.0)


@dataclass(frozen=True)
class RetrySettings:
    """
    How often and how long a request is retried.

    :param max_retries: retries after the first attempt; 0 sends once.
    :param backoff: seconds before the first retry.
    :param max_wait: the maximum seconds between two attempts. A ``Retry-After`` longer than this
        ends the retries, because waiting that long would block the worker.
    """

    max_retries: int
    backoff: float
    max_wait: float


def run_with_retries(
    send: Callable[[], T],
    *,
    settings: RetrySettings,
    may_retry: Callable[[ZadigError], bool],
    description: str,
    sleep_function: Callable[[float], None] | None = None,
    logger: LoggerLike | None = None,
) -> T:
    """
    Call ``send`` until it returns, retrying the failures that ``may_retry`` accepts.

    :param send: one attempt. It raises a ``ZadigError`` on failure.
    :param may_retry: whether a failure may be retried. It is not asked after the last attempt.
    :param description: the request, such as ``GET /openapi/workflows``, for the log lines.
    :param sleep_function: the function that waits. Defaults to this module's :func:`sleep`.
    :raises ZadigError: the failure of the last attempt, or the first failure that may not be retried.
    """
    logger = logger or log
    total = settings.max_retries + 1
    for attempt in range(1, total + 1):
        try:
            return send()
        except ZadigError as exc:
            if attempt == total or not may_retry(exc):
                raise
            retry_after = exc.retry_after if isinstance(exc, ZadigAPIError) else None
            if retry_after is not None and retry_after > settings.max_wait:
                logger.warning(
                    "%s: the server asked to retry after %.0f s, longer than retry_max_wait (%.0f s); "
                    "giving up",
                    description,
                    retry_after,
                    settings.max_wait,
                )
                raise
            delay = backoff_delay(attempt, settings.backoff, settings.max_wait, retry_after)
            logger.warning(
                "%s failed (attempt %d of %d), retrying in %.1f s: %s",
                description,
                attempt,
                total,
                delay,
                _first_line(exc),
            )
            (sleep_function or sleep)(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
