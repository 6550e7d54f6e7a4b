"""
Turn Zadig error responses into :mod:`airflow_provider_zadig.exceptions`, for both clients.

Zadig v3.4 sends errors in several shapes:

- ``{"type","code","message","description","extra"}``, with the codes 6xxx and 7xxx as HTTP 400;
- ``{"code":500,"message":"Internal Error: ","description":...}`` for any plain Go error, including
  permanent input errors;
- an empty body for 401, 403, and a query or body that fails to parse.

Gateways in front of it add HTML and plain-text pages. The class follows
the body as well as the status, and every message names the request, keeps the server's text and
states what to do next.

Imports neither ``requests`` nor ``aiohttp``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_zadig.exceptions import (
    ZadigAPIError,
    ZadigAuthenticationError,
    ZadigBadRequestError,
    ZadigConnectionError,
    ZadigNotFoundError,
    ZadigPermissionError,
    ZadigRateLimitError,
    ZadigServerError,
)
from airflow_provider_zadig.hooks._hints import hint_for
from airflow_provider_zadig.hooks._retry import TRANSIENT_STATUSES, parse_retry_after

#: The maximum characters of a response body quoted in a message or kept as ``description``.
MAX_BODY_CHARS = 500

_NOT_FOUND = re.compile(
    r"no documents in result|not found|failed to find|cannot find|can not find", re.IGNORECASE
)
# Plain Go errors that Zadig v3.4 sends as HTTP 500 although the input is at fault. Some of them
# contain "not found", so they are matched first.
_INPUT_ERRORS = re.compile(
    r"^param \S+ not found|invalid choice value|undefined job type|failed to update jobspec|"
    r"无法重试|workflow name duplicated|failed to unmarshal|invalid time window",
    re.IGNORECASE,
)
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class ErrorBody:
    """
    The parsed content of an error response body.

    :param kind: ``zadig`` (a JSON object with ``code``/``message``/``description``), ``json``
        (other JSON), ``html``, ``text`` or ``empty``.
    :param summary: the text to quote in a message: the Zadig description, the HTML title or the
        body text, whitespace collapsed and truncated.
    """

    kind: str
    code: int | None = None
    server_message: str | None = None
    description: str | None = None
    summary: str = ""


def parse_error_body(body_text: str, content_type: str | None = None) -> ErrorBody:
    """Parse an error response body of any shape. No exception escapes, whatever the body contains."""
    text = body_text.strip()
    if not text:
        return ErrorBody(kind="empty", summary="empty body")
    if "html" in (content_type or "").lower() or text[:1] == "<":
        title = _HTML_TITLE.search(text)
        page = title.group(1) if title else _HTML_TAG.sub(" ", text)
        return ErrorBody(kind="html", summary="HTML page: " + shorten(page, 200))
    try:
        data = json.loads(text)
    except ValueError:
        return ErrorBody(kind="text", description=shorten(text), summary=shorten(text))
    if not isinstance(data, dict) or not ({"code", "message", "description"} & data.keys()):
        return ErrorBody(kind="json", description=shorten(text), summary=shorten(text))
    return _zadig_body(data)


def _zadig_body(data: Mapping[str, Any]) -> ErrorBody:
    code = data.get("code")
    message = data.get("message")
    description = data.get("description")
    message_text = str(message).strip() if message not in (None, "") else None
    description_text = shorten(str(description)) if description not in (None, "") else None
    return ErrorBody(
        kind="zadig",
        code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        server_message=message_text,
        description=description_text,
        summary=description_text or message_text or "no description",
    )


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body_text: str,
    method: str,
    path: str,
    conn_id: str,
    *,
    operation: str | None = None,
    context: Mapping[str, Any] | None = None,
    redact: Sequence[str] = (),
) -> ZadigAPIError:
    """
    Return the exception for an error response.

    :param status: the HTTP status.
    :param headers: the response headers; ``Content-Type`` and ``Retry-After`` are read.
    :param body_text: the response body, decoded.
    :param method: the HTTP method of the request.
    :param path: the API path of the request, without the host and query.
    :param conn_id: the Airflow connection id, named in authentication and configuration hints.
    :param operation: the hook method, such as ``execute_workflow``, to choose the hint.
    :param context: identifiers that were sent (such as ``workflow_key``), repeated in the message.
    :param redact: texts to remove from the body (the API token, should a gateway echo it). They are
        removed before the body is truncated, because a secret cut in two would no longer match.
    """
    body = parse_error_body(redact_secrets(body_text, redact), header(headers, "Content-Type"))
    error_class = classify(status, body)
    hint = hint_for(
        error_class,
        status,
        body.code,
        body.description or "",
        operation,
        conn_id,
        header(headers, "Location"),
    )
    message = _compose(method, path, status, body, context, hint)
    error = error_class(
        message,
        status_code=status,
        code=body.code,
        description=body.description if body.kind != "html" else body.summary,
        server_message=body.server_message,
        method=method,
        path=path,
    )
    error.retry_after = parse_retry_after(header(headers, "Retry-After"))
    return error


def classify(status: int, body: ErrorBody) -> type[ZadigAPIError]:
    """Return the exception class for a status and a parsed body."""
    if status == 401:
        return ZadigAuthenticationError
    if status == 403:
        return ZadigPermissionError
    description = body.description or ""
    if body.kind == "zadig" and status in (400, 404, 500):
        if _INPUT_ERRORS.search(description):
            return ZadigBadRequestError
        if _NOT_FOUND.search(description):
            return ZadigNotFoundError
    if status == 429:
        return ZadigRateLimitError
    if status == 404:
        # aslan responds to an unknown route with a plain-text 404, which means a wrong host or prefix.
        return ZadigNotFoundError if body.kind in ("zadig", "json") else ZadigAPIError
    if 400 <= status < 500 and status != 405:
        return ZadigBadRequestError
    if status >= 500 and status not in TRANSIENT_STATUSES and _INPUT_ERRORS.search(description):
        return ZadigBadRequestError
    if status >= 500:
        return ZadigServerError
    return ZadigAPIError


def unexpected_body_error(
    status: int,
    content_type: str | None,
    body_text: str,
    method: str,
    path: str,
    conn_id: str,
    redact: Sequence[str] = (),
) -> ZadigAPIError:
    """
    Return the error for a successful status whose body is not the JSON that Zadig sends.

    :param redact: texts to remove from the body before it is quoted, as for :func:`error_from_response`.
    """
    body = parse_error_body(redact_secrets(body_text, redact), content_type)
    message = (
        f"{method} {path} returned HTTP {status} with a body that is not JSON ({body.summary}). "
        f"The host of Airflow connection {conn_id!r} may point at the Zadig web UI or at a login "
        "page of a proxy, not at the Zadig API: check its scheme, host and path prefix."
    )
    return ZadigAPIError(message, status_code=status, description=body.summary, method=method, path=path)


def connection_error(method: str, path: str, base_url: str, reason: str) -> ZadigConnectionError:
    """Return the error for a request that got no HTTP response."""
    message = (
        f"{method} {path} failed: no response from Zadig at {base_url} ({shorten(reason, 300)}). "
        "Check that the connection host is reachable from this machine, and its proxy and TLS settings."
    )
    return ZadigConnectionError(message, method=method, path=path)


def is_finished_task_cancel(error: ZadigAPIError) -> bool:
    """Return whether Zadig rejected a cancel because the task passed (``... is passed, cannot cancel``)."""
    return "cannot cancel" in (error.description or "").lower()


def is_duplicate_ticket(error: ZadigAPIError) -> bool:
    """
    Return whether Zadig rejected a pre-approval ticket because one with its approval id exists.

    Zadig sends code 7100 (``ErrCreateApprovalTicket``) for a missing project as well. Only the
    description distinguishes them: a duplicate carries Mongo's ``E11000 duplicate key error``.
    """
    description = (error.description or "").lower()
    return error.code == 7100 and ("e11000" in description or "duplicate key" in description)


def describe_context(context: Mapping[str, Any] | None) -> str:
    """Return ``sent workflow_key='a', task_id=3`` for the identifiers of a request, or ``""``."""
    if not context:
        return ""
    return "sent " + ", ".join(f"{key}={value!r}" for key, value in context.items())


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Return a header value by case-insensitive name, from any mapping of headers."""
    value = headers.get(name)
    if value is not None:
        return value
    lower = name.lower()
    return next((item for key, item in headers.items() if key.lower() == lower), None)


def redact_secrets(text: str, secrets: Sequence[str]) -> str:
    """Return ``text`` with every occurrence of each non-empty secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def shorten(text: str, limit: int = MAX_BODY_CHARS) -> str:
    """Collapse whitespace and cut ``text`` to ``limit`` characters, saying how much was cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return f"{flat[:limit]}... ({len(flat) - limit} more characters)"


def _compose(
    method: str,
    path: str,
    status: int,
    body: ErrorBody,
    context: Mapping[str, Any] | None,
    hint: str,
) -> str:
    if body.kind == "zadig" and body.code is not None and body.code != status:
        code = f", Zadig code {body.code}"
        code += f" ({body.server_message})" if body.server_message else ""
    else:
        code = ""
    sentences = [f"{method} {path} failed with HTTP {status}{code}: {body.summary}"]
    sent = describe_context(context)
    if sent:
        sentences.append(sent[0].upper() + sent[1:])
    if hint:
        sentences.append(hint)
    return ". ".join(sentence.rstrip(".") for sentence in sentences) + "."
