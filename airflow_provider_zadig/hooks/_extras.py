"""Parse the extra field of a ``zadig`` connection. Imports neither ``requests`` nor ``aiohttp``."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_zadig.exceptions import ZadigConfigurationError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_RETRY_BACKOFF = 1.0
DEFAULT_RETRY_MAX_WAIT = 30.0
MAX_RETRIES_LIMIT = 20

#: Airflow 2 stored custom form fields as ``extra__<conn type>__<field>``; both spellings are read.
LEGACY_EXTRA_PREFIX = "extra__zadig__"
EXTRA_KEYS = ("verify", "timeout", "proxies", "max_retries", "retry_backoff", "retry_max_wait")

_TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
_FALSE_WORDS = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class ConnectionExtras:
    """The validated extras of a connection, with defaults for those not set."""

    verify: bool | str = True
    timeout: float = DEFAULT_TIMEOUT
    proxies: dict[str, str] = field(default_factory=dict, repr=False)
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_backoff: float = DEFAULT_RETRY_BACKOFF
    retry_max_wait: float = DEFAULT_RETRY_MAX_WAIT


def parse_extras(conn_id: str, extra: Mapping[str, Any]) -> ConnectionExtras:
    """
    Validate a connection's extras, read under their plain names or as ``extra__zadig__<key>``.

    :raises ZadigConfigurationError: a value is invalid. The message names the key and the fix.
    """
    values = _collect_extras(conn_id, extra)
    return ConnectionExtras(
        verify=_parse_verify(conn_id, values.get("verify")),
        timeout=_parse_number(conn_id, "timeout", values.get("timeout"), DEFAULT_TIMEOUT, positive=True),
        proxies=_parse_proxies(conn_id, values.get("proxies")),
        max_retries=_parse_max_retries(conn_id, values.get("max_retries")),
        retry_backoff=_parse_number(
            conn_id, "retry_backoff", values.get("retry_backoff"), DEFAULT_RETRY_BACKOFF
        ),
        retry_max_wait=_parse_number(
            conn_id, "retry_max_wait", values.get("retry_max_wait"), DEFAULT_RETRY_MAX_WAIT
        ),
    )


def invalid_setting(conn_id: str, setting: str, problem: str, fix: str) -> ZadigConfigurationError:
    """Return the error for an invalid connection setting, naming the connection, the setting and the fix."""
    return ZadigConfigurationError(f"Invalid Zadig connection {conn_id!r}: {setting} {problem}. {fix}.")


def _collect_extras(conn_id: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    """Return the known extras by plain name. A plain key wins over its ``extra__zadig__`` spelling."""
    values: dict[str, Any] = {}
    unknown = []
    for key, value in extra.items():
        name = key.removeprefix(LEGACY_EXTRA_PREFIX)
        if name not in EXTRA_KEYS:
            unknown.append(key)
        elif value is not None and value != "" and (key == name or name not in values):
            values[name] = value
    if unknown:
        log.warning(
            "Zadig connection %r: ignoring unknown extra keys %s (known keys: %s)",
            conn_id,
            ", ".join(sorted(unknown)),
            ", ".join(EXTRA_KEYS),
        )
    return values


def _parse_verify(conn_id: str, value: Any) -> bool | str:
    if value is None:
        return True
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.lower() in _TRUE_WORDS:
        return True
    if text.lower() in _FALSE_WORDS:
        return False
    if not os.path.isfile(text):
        raise invalid_setting(
            conn_id,
            "extra 'verify'",
            f"is neither true/false nor an existing CA bundle file: {text!r} was not found on this machine",
            "Set it to true, false or the path of a CA bundle that exists on every worker and triggerer",
        )
    return text


def _parse_number(conn_id: str, key: str, value: Any, default: float, *, positive: bool = False) -> float:
    if value is None:
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    valid = not isinstance(value, bool) and number == number and number != float("inf")
    if not valid or number < 0 or (positive and number == 0):
        bound = "greater than 0" if positive else "0 or more"
        raise invalid_setting(
            conn_id,
            f"extra {key!r}",
            f"must be a number of seconds {bound}, got {value!r}",
            f'Fix it in the extra, such as {{"{key}": {default:g}}}',
        )
    return number


def _parse_max_retries(conn_id: str, value: Any) -> int:
    if value is None:
        return DEFAULT_MAX_RETRIES
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) > MAX_RETRIES_LIMIT:
        raise invalid_setting(
            conn_id,
            "extra 'max_retries'",
            f"must be a whole number from 0 to {MAX_RETRIES_LIMIT}, got {value!r}",
            f'Fix it in the extra, such as {{"max_retries": {DEFAULT_MAX_RETRIES}}}',
        )
    return int(text)


def _parse_proxies(conn_id: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    proxies = value
    if isinstance(value, str):
        try:
            proxies = json.loads(value)
        except ValueError:
            proxies = None
    # The values are not echoed: proxy URLs may contain credentials.
    if not isinstance(proxies, dict) or not all(
        isinstance(key, str) and isinstance(url, str) for key, url in proxies.items()
    ):
        raise invalid_setting(
            conn_id,
            "extra 'proxies'",
            "must be a JSON object that maps a URL scheme to a proxy URL",
            'Use the form {"https": "http://proxy.example.com:3128"}',
        )
    return dict(proxies)
