"""Decode Zadig responses into JSON or exceptions, and JSON into models, for both clients."""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping
from email.message import Message
from functools import lru_cache
from typing import Any, TypeVar, cast

from pydantic import TypeAdapter, ValidationError

from airflow_provider_zadig.exceptions import ZadigAPIError
from airflow_provider_zadig.hooks._connection import ZadigConnectionSettings
from airflow_provider_zadig.hooks._endpoints import RequestSpec
from airflow_provider_zadig.hooks._errors import (
    error_from_response,
    header,
    shorten,
    unexpected_body_error,
)
from airflow_provider_zadig.models.base import describe_validation_error

T = TypeVar("T")


def decode_text(content: bytes, content_type: str | None) -> str:
    """
    Decode a body with the charset of its ``Content-Type``, or else UTF-8.

    Zadig sends UTF-8 JSON without a charset, and its error messages are often Chinese, so UTF-8
    is the default rather than the ISO-8859-1 of old HTTP rules. Undecodable bytes are replaced.
    """
    charset = "utf-8"
    if content_type:
        message = Message()
        message["Content-Type"] = content_type
        charset = message.get_content_charset() or "utf-8"
    try:
        return content.decode(charset, errors="replace")
    except LookupError:
        return content.decode("utf-8", errors="replace")


def read_response(
    spec: RequestSpec,
    settings: ZadigConnectionSettings,
    status: int,
    headers: Mapping[str, str],
    content: bytes,
) -> Any:
    """
    Return the JSON of a successful response, or raise the matching ``ZadigAPIError``.

    An empty successful body is returned as ``None``.

    :raises ZadigAPIError: an error status, or a successful status with a body that is not JSON.
    """
    content_type = header(headers, "Content-Type")
    text = decode_text(content, content_type)
    if not 200 <= status < 300:
        raise error_from_response(
            status,
            headers,
            text,
            spec.method,
            spec.path,
            settings.conn_id,
            operation=spec.operation,
            context=spec.context,
            redact=(settings.token,),
        )
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise unexpected_body_error(
            status, content_type, text, spec.method, spec.path, settings.conn_id, redact=(settings.token,)
        ) from None


def parse_model(model_type: type[T], data: Any, spec: RequestSpec) -> T:
    """
    Validate response JSON into ``model_type`` (a model class or a type such as ``list[Model]``).

    :raises ZadigAPIError: the body does not have the shape that Zadig v3.4 sends.
    """
    try:
        adapter: TypeAdapter[T] = _adapter(cast(Hashable, model_type))
        return adapter.validate_python(data)
    except ValidationError as exc:
        message = (
            f"{spec.description} returned a body that does not match the Zadig v3.4 API "
            f"({shorten(describe_validation_error(exc), 300)}). "
            "The server may run an unsupported Zadig version, or the host may point at another service."
        )
        raise ZadigAPIError(message, status_code=200, method=spec.method, path=spec.path) from None


@lru_cache(maxsize=32)
def _adapter(model_type: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model_type)
