"""
Helpers shared by the Zadig operators: XCom keys, argument checks, the execute request body, secret masking,
and failures that skip Airflow's retries.

Importing this module loads neither ``requests`` nor the models, so DAG files stay cheap to parse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_zadig.exceptions import ZadigConfigurationError
from airflow_provider_zadig.links.zadig import ZADIG_TASK_URL_XCOM_KEY

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_zadig.exceptions import ZadigError
    from airflow_provider_zadig.models import ExecuteWorkflowRequest, WorkflowDetail

#: XCom keys that the operators push before they wait, so downstream tasks and the extra link can
#: find the Zadig task while it still runs.
XCOM_TASK_ID = "zadig_task_id"
XCOM_TASK_URL = ZADIG_TASK_URL_XCOM_KEY
XCOM_WORKFLOW_KEY = "zadig_workflow_key"
XCOM_PROJECT_KEY = "zadig_project_key"


@dataclass(frozen=True)
class ZadigTaskRef:
    """The identity of one Zadig workflow task. Task ids are numbered per workflow, starting at 1."""

    workflow_key: str
    project_key: str
    task_id: int

    def __str__(self) -> str:
        return f"task {self.task_id} of workflow {self.workflow_key!r} (project {self.project_key!r})"


def require_text(value: Any, argument: str) -> str:
    """
    Return ``value`` stripped of surrounding spaces, or raise when it is not a non-empty string.

    :raises ZadigConfigurationError: when ``value`` is not a string, is empty, or still contains a Jinja
        ``{{`` or ``{%`` marker after rendering.
    """
    if not isinstance(value, str) or not value.strip():
        raise ZadigConfigurationError(f"invalid {argument} {value!r}: expected a non-empty string")
    if "{{" in value or "{%" in value:
        raise ZadigConfigurationError(
            f"{argument} {value!r} still contains a Jinja template after rendering: "
            "check the template for an undefined variable"
        )
    return value.strip()


def fail_without_retry(error: ZadigError, explanation: str = "") -> NoReturn:
    """
    Fail the Airflow task at once, skipping its remaining retries, because a retry cannot succeed.

    The Airflow exception carries the full message, and the original error stays attached as its
    ``__cause__`` for tracebacks.
    """
    message = f"{error} {explanation}".strip()
    raise AirflowFailException(message) from error


def push_task_xcoms(context: Context, ref: ZadigTaskRef, url: str) -> None:
    """Push the task's id, web address, workflow key and project key to XCom."""
    ti = context["ti"]
    ti.xcom_push(key=XCOM_TASK_ID, value=ref.task_id)
    ti.xcom_push(key=XCOM_TASK_URL, value=url)
    ti.xcom_push(key=XCOM_WORKFLOW_KEY, value=ref.workflow_key)
    ti.xcom_push(key=XCOM_PROJECT_KEY, value=ref.project_key)


def mask_parameter_values(parameters: Any, workflow: WorkflowDetail | None = None) -> None:
    """
    Register credential parameter values with Airflow's secrets masker.

    A parameter counts as a credential when it carries ``is_credential: true`` or when ``workflow``
    flags the parameter of that name with ``is_credential``. Items may be dicts or models.
    """
    if not isinstance(parameters, (list, tuple)):
        return
    from airflow.providers.common.compat.sdk import mask_secret

    for item in parameters:
        read = item.get if isinstance(item, dict) else lambda key, item=item: getattr(item, key, None)
        name, value = read("name"), read("value")
        flagged = read("is_credential") is True
        if not flagged and workflow is not None and isinstance(name, str):
            definition = workflow.get_param(name)
            flagged = definition is not None and definition.is_credential
        if flagged and isinstance(value, str) and value:
            # Without a name: given one, the masker masks the value only when the name looks secret.
            mask_secret(value)


def as_list(value: Any, argument: str) -> list[Any]:
    """Return a list argument as a list, ``None`` as an empty one, and raise for anything else."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    raise ZadigConfigurationError(
        f"invalid {argument} {value!r}: expected a list of dicts. A template that renders a whole list "
        "needs render_template_as_native_obj=True on the DAG"
    )


def one_or_many(value: Any, argument: str, expected: str = "a list") -> list[Any]:
    """
    Return an argument that takes one item or a list of items as a list.

    ``None`` and ``""`` give an empty list, and a single string or mapping is one item, so
    ``envs="prod"`` means ``["prod"]``.

    :param expected: the form the error message names for the argument, such as ``a list``.
    :raises ZadigConfigurationError: the value is neither an item nor a sequence.
    """
    if value is None or value == "":
        return []
    if isinstance(value, (str, Mapping)):
        return [value]
    if isinstance(value, Sequence):
        return list(value)
    raise ZadigConfigurationError(f"invalid {argument} {value!r}: expected {expected}")


def build_execute_request(
    project_key: str, workflow_key: str, parameters: list[Any], inputs: list[Any]
) -> ExecuteWorkflowRequest:
    """
    Validate rendered execute arguments into the request body, coercing values as the model does.

    :raises ZadigConfigurationError: naming the path of every value that still contains a Jinja
        template, or else of every invalid value, such as ``parameters[2].repo.prs``.
    """
    from pydantic import ValidationError

    from airflow_provider_zadig.models import ExecuteWorkflowRequest, find_unrendered_templates
    from airflow_provider_zadig.models.base import describe_validation_error

    leftovers = find_unrendered_templates({"parameters": parameters, "inputs": inputs})
    if leftovers:
        raise ZadigConfigurationError(
            f"Jinja templates are left after rendering in {', '.join(leftovers)} of the execute "
            f"request for workflow {workflow_key!r}: check those templates for undefined variables"
        )
    try:
        return ExecuteWorkflowRequest(
            project_key=project_key, workflow_key=workflow_key, parameters=parameters, inputs=inputs
        )
    except ValidationError as exc:
        problems = describe_validation_error(exc, bracket_indices=True)
        raise ZadigConfigurationError(
            f"invalid execute request for workflow {workflow_key!r}: {problems}"
        ) from None
