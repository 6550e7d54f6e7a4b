"""
Request binding like gin's, with Go's JSON typing rules, plus the caller's identity and permissions.

Go decodes JSON into typed structs, so a string where a list is expected, a float for an integer or
a number for a string is an error, while ``null`` decodes to the zero value and unknown keys are
ignored. :func:`check_json` reproduces that for the small schemas of this API.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from airflow_provider_zadig.simulator.errors import SimulatedError, bind_failed, forbidden
from airflow_provider_zadig.simulator.state import Store
from airflow_provider_zadig.simulator.users import SimulatorUser

# A schema is "string", "int", "bool" or "any", a one-item list of the item schema, or a dict of fields.
Schema = str | list[Any] | dict[str, Any]

_GO_TYPES = {"string": "string", "int": "int64", "bool": "bool"}


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def current_user(request: Request) -> SimulatorUser:
    """Return the user the gateway authenticated (set by the gateway middleware)."""
    user: SimulatorUser = request.state.user
    return user


def require(allowed: bool) -> None:
    """:raises SimulatedError: HTTP 403 with an empty body, like aslan's permission checks."""
    if not allowed:
        raise forbidden()


def query_int(request: Request, name: str, default: int) -> int:
    """
    Read an integer query parameter the way gin's ``BindQuery`` does.

    :raises SimulatedError: HTTP 400 with an empty body when the value is not an integer.
    """
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw, 10)
    except ValueError:
        raise bind_failed() from None


def _go_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _go_type(schema: Schema) -> str:
    if isinstance(schema, list):
        return "[]" + _go_type(schema[0])
    if isinstance(schema, dict):
        return "struct"
    return _GO_TYPES.get(schema, "interface {}")


def check_json(value: Any, schema: Schema, path: str) -> str | None:
    """Return Go's unmarshal error for ``value`` against ``schema``, or ``None`` when it decodes."""
    if value is None or schema == "any":
        return None
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return _mismatch(value, schema, path)
        for key, field_schema in schema.items():
            error = check_json(value.get(key), field_schema, f"{path}.{key}")
            if error:
                return error
        return None
    if isinstance(schema, list):
        if not isinstance(value, list):
            return _mismatch(value, schema, path)
        return next((err for item in value if (err := check_json(item, schema[0], path))), None)
    valid = {
        "string": isinstance(value, str),
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
    }
    return None if valid.get(schema, True) else _mismatch(value, schema, path)


def _mismatch(value: Any, schema: Schema, path: str) -> str:
    struct, _, field = path.partition(".")
    target = f"Go struct field {struct}.{field}" if field else "Go value"
    return f"json: cannot unmarshal {_go_kind(value)} into {target} of type {_go_type(schema)}"


def decode_json(
    body: bytes, schema: dict[str, Any], struct_name: str
) -> tuple[dict[str, Any] | None, str | None]:
    """
    Decode ``body`` into a dict checked against ``schema``.

    :returns: ``(data, None)`` on success, or ``(None, error text)`` when Go would fail to decode it.
    """
    if not body.strip():
        return None, "EOF"
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        # NOTE: Go's syntax error texts differ ("invalid character ..."); only the status matters to callers.
        return None, f"invalid character in JSON body: {exc}"
    if data is None:
        return {}, None
    error = check_json(data, schema, struct_name)
    return (None, error) if error else (data, None)


async def bind_json(request: Request, schema: dict[str, Any], struct_name: str) -> dict[str, Any]:
    """
    Decode the body like gin's ``BindJSON``.

    :raises SimulatedError: HTTP 400 with an empty body when the body does not decode.
    """
    data, _error = decode_json(await request.body(), schema, struct_name)
    if data is None:
        raise bind_failed()
    return data


async def should_bind_json(
    request: Request, schema: dict[str, Any], struct_name: str, on_error: Callable[[str], SimulatedError]
) -> dict[str, Any]:
    """Decode the body like ``ShouldBindJSON``: a decoding error becomes ``on_error(error text)``."""
    data, error = decode_json(await request.body(), schema, struct_name)
    if data is None:
        raise on_error(error or "EOF")
    return data
