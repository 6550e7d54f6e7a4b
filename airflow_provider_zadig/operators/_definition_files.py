"""
Load the definition of a workflow definition operator: a model, a dict, YAML or JSON text, or a file
looked up in the DAG's folders.

Importing this module loads neither YAML nor the models, so DAG files stay cheap to parse.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from airflow_provider_zadig.exceptions import ZadigConfigurationError

if TYPE_CHECKING:
    from airflow_provider_zadig.models import WorkflowDefinition

#: A workflow definition: a dict, YAML or JSON text, or the path of a ``.yaml``, ``.yml`` or ``.json`` file.
DefinitionSource = Union[Mapping[str, Any], str, "os.PathLike[str]"]

DEFINITION_FILE_SUFFIXES = (".yaml", ".yml", ".json")


def load_workflow_definition(source: Any, search_dirs: Sequence[Path] = ()) -> WorkflowDefinition:
    """
    Load a workflow definition from a dict, YAML or JSON text, or a file.

    :param source: a :class:`~airflow_provider_zadig.models.WorkflowDefinition`, a dict, an
        :class:`os.PathLike`, a string ending in ``.yaml``, ``.yml`` or ``.json`` (a file path), or
        any other string (YAML or JSON text).
    :param search_dirs: folders that a relative file path is resolved against, in order.
    :raises ZadigConfigurationError: the file is missing or unreadable, the text is not a YAML mapping,
        or the content does not fit the workflow definition (an unknown key, a missing name or project).
    """
    from pydantic import ValidationError

    from airflow_provider_zadig.models import WorkflowDefinition
    from airflow_provider_zadig.models.base import describe_validation_error

    if isinstance(source, WorkflowDefinition):
        return source
    origin = "the definition"
    if isinstance(source, os.PathLike) or _looks_like_path(source):
        path = _resolve(Path(source), search_dirs)
        origin = str(path)
        source = _read(path)
    if isinstance(source, str):
        source = _parse_yaml(source, origin)
    if not isinstance(source, Mapping):
        raise ZadigConfigurationError(
            f"invalid workflow definition in {origin}: expected a mapping, got {type(source).__name__}"
        )
    try:
        return WorkflowDefinition.model_validate(source)
    except ValidationError as error:
        problems = describe_validation_error(error)
        raise ZadigConfigurationError(f"invalid workflow definition in {origin}: {problems}") from error


def _looks_like_path(source: Any) -> bool:
    return (
        isinstance(source, str)
        and "\n" not in source
        and source.strip().lower().endswith(DEFINITION_FILE_SUFFIXES)
    )


def _resolve(path: Path, search_dirs: Sequence[Path]) -> Path:
    candidates = [path] if path.is_absolute() else [folder / path for folder in search_dirs]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(candidate) for candidate in candidates) or str(path)
    raise ZadigConfigurationError(f"workflow definition file {str(path)!r} not found (looked for: {tried})")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ZadigConfigurationError(f"cannot read workflow definition file {path}: {error}") from error


def _parse_yaml(text: str, origin: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ZadigConfigurationError(f"invalid YAML in {origin}: {error}") from error
