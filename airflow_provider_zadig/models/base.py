"""Base classes of the Zadig request and response models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

#: The text that replaces values the server flags with ``is_credential: true``.
REDACTED = "***"


class ZadigResponseModel(BaseModel):
    """A response body. Fields this version does not know are kept, because servers add fields."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ZadigRequestModel(BaseModel):
    """A request body. Unknown fields are rejected so that a misspelt key fails before sending."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_body(self) -> dict[str, Any]:
        """Return the JSON body, leaving out optional fields that were not set."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


def redact_credentials(data: Any) -> Any:
    """
    Return a copy of ``data`` with the values of credential entries replaced by ``***``.

    Zadig task and workflow details echo variables flagged ``is_credential: true`` together with
    their values (``{"key": "DB_PASSWORD", "value": "...", "is_credential": true}``), so the models
    redact them before anything can log them or push them to XCom.
    """
    if isinstance(data, dict):
        redacted = {key: redact_credentials(value) for key, value in data.items()}
        if redacted.get("is_credential") is True:
            for field in ("value", "default"):
                if redacted.get(field) not in (None, ""):
                    redacted[field] = REDACTED
        return redacted
    if isinstance(data, list):
        return [redact_credentials(item) for item in data]
    return data


def describe_validation_error(error: ValidationError, *, bracket_indices: bool = False) -> str:
    """
    Return every problem of a validation error as ``location: message``, joined by ``; ``.

    A problem of the whole object, which a model validator reports, shows its message alone.
    Pydantic's ``Value error, `` prefix is left out.

    :param bracket_indices: write list indices as ``parameters[2].repo.prs`` instead of the default
        ``parameters.2.repo.prs``.
    """
    problems = []
    for problem in error.errors():
        location = error_location(problem["loc"], bracket_indices=bracket_indices)
        message = str(problem["msg"]).removeprefix("Value error, ")
        problems.append(f"{location}: {message}" if location else message)
    return "; ".join(problems)


def error_location(loc: Sequence[Any], *, bracket_indices: bool = False) -> str:
    """Return a pydantic error location as a path, such as ``stages.0.name``, or ``""`` for the root."""
    text = ""
    for part in loc:
        if bracket_indices and isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
