"""Build and validate request bodies from hook arguments, before anything is sent."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeAlias, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from airflow_provider_zadig.exceptions import ZadigConfigurationError
from airflow_provider_zadig.models import (
    TicketService,
    TicketUser,
    WorkflowDefinition,
    WorkflowViewEntry,
)
from airflow_provider_zadig.models.base import describe_validation_error

M = TypeVar("M", bound=BaseModel)

#: The definition types that ``create_workflow`` and ``update_workflow`` accept: a model, a dict,
#: YAML text or a file path.
DefinitionSource: TypeAlias = "WorkflowDefinition | Mapping[str, Any] | str | os.PathLike[str]"
ViewMember: TypeAlias = "str | WorkflowViewEntry | Mapping[str, Any]"

_DEFINITION_SUFFIXES = (".yaml", ".yml", ".json")


def build_model(model_type: type[M], label: str, fields: Mapping[str, Any]) -> M:
    """
    Validate ``fields`` into a request model.

    :raises ZadigConfigurationError: a field is missing, unknown or of the wrong type. The message
        lists each problem with its location.
    """
    try:
        return model_type.model_validate(dict(fields))
    except ValidationError as exc:
        raise ZadigConfigurationError(f"Invalid {label}: {describe_validation_error(exc)}") from None


def load_workflow_definition(definition: DefinitionSource) -> WorkflowDefinition:
    """
    Return a validated workflow definition from a model, a dict, YAML text or a file path.

    A string that is one line long and names an existing file, or ends with ``.yaml``, ``.yml`` or
    ``.json``, is read as a file: ``.json`` as JSON and any other as YAML. Any other string is
    parsed as YAML text (JSON is valid YAML).

    :raises ZadigConfigurationError: the file is missing or unreadable, the text does not parse to
        a mapping, or the mapping is not a valid workflow definition.
    """
    if isinstance(definition, WorkflowDefinition):
        return definition
    if isinstance(definition, os.PathLike) or (isinstance(definition, str) and _names_file(definition)):
        data = _read_definition_file(Path(definition))
    elif isinstance(definition, str):
        data = _parse_yaml(definition, "the workflow definition text")
    elif isinstance(definition, Mapping):
        data = dict(definition)
    else:
        raise ZadigConfigurationError(
            "definition must be a dict, YAML text or the path of a .yaml, .yml or .json file, "
            f"got {type(definition).__name__}"
        )
    if not isinstance(data, dict):
        raise ZadigConfigurationError(
            "The workflow definition must be a mapping with name, project and stages, "
            f"got {type(data).__name__}"
        )
    return build_model(WorkflowDefinition, "workflow definition", data)


def _names_file(text: str) -> bool:
    candidate = text.strip()
    if not candidate or "\n" in candidate:
        return False
    return candidate.lower().endswith(_DEFINITION_SUFFIXES) or os.path.isfile(candidate)


def _read_definition_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ZadigConfigurationError(
            f"Cannot read the workflow definition file {str(path)!r}: {exc.strerror or exc}"
        ) from None
    except UnicodeDecodeError as exc:
        raise ZadigConfigurationError(
            f"Cannot read the workflow definition file {str(path)!r}: it is not UTF-8 text ({exc.reason} "
            f"at byte {exc.start}). Save it as UTF-8."
        ) from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ZadigConfigurationError(f"Invalid JSON in {str(path)!r}: {exc}") from None
    return _parse_yaml(text, repr(str(path)))


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ZadigConfigurationError(f"Invalid YAML in {source}: {exc}") from None


def view_entries(members: Iterable[ViewMember], *, enabled: bool, argument: str) -> list[WorkflowViewEntry]:
    """
    Return view entries for workflow keys, dicts or entries, without duplicate workflow keys.

    :param enabled: ``True`` to add the workflows to the view, ``False`` to take them out.
    :param argument: the argument name, for error messages.
    """
    if isinstance(members, (str, Mapping, WorkflowViewEntry)):
        members = [members]
    entries: dict[str, WorkflowViewEntry] = {}
    for member in members:
        if isinstance(member, str):
            fields: dict[str, Any] = {"workflow_key": member}
        elif isinstance(member, WorkflowViewEntry):
            fields = member.model_dump(exclude_none=True)
        elif isinstance(member, Mapping):
            fields = dict(member)
        else:
            raise ZadigConfigurationError(
                f"{argument} must contain workflow keys or dicts, got {type(member).__name__}"
            )
        entry = build_model(WorkflowViewEntry, f"entry of {argument}", {**fields, "enabled": enabled})
        # Zadig v3.4 rejects a view update that names a workflow twice ("workflow name duplicated").
        entries.setdefault(entry.workflow_key, entry)
    return list(entries.values())


def ticket_services(services: Iterable[str | TicketService | Mapping[str, Any]]) -> list[TicketService]:
    """Return ticket services from service names, dicts or models."""
    if isinstance(services, (str, Mapping, TicketService)):
        services = [services]
    return [
        build_model(TicketService, "ticket service", {"service_name": item})
        if isinstance(item, str)
        else _as(TicketService, item)
        for item in services
    ]


def ticket_users(users: Iterable[str | TicketUser | Mapping[str, Any]]) -> list[TicketUser]:
    """Return ticket users from email addresses, dicts or models."""
    if isinstance(users, (str, Mapping, TicketUser)):
        users = [users]
    return [
        build_model(TicketUser, "ticket user", {"email": item})
        if isinstance(item, str)
        else _as(TicketUser, item)
        for item in users
    ]


def _as(model_type: type[M], item: Any) -> M:
    if isinstance(item, model_type):
        return item
    if isinstance(item, Mapping):
        return build_model(model_type, model_type.__name__, item)
    raise ZadigConfigurationError(f"Expected a {model_type.__name__} or a dict, got {type(item).__name__}")
