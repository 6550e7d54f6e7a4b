"""Request models: coercion of rendered template values and the limits of Zadig's types."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from airflow_provider_zadig.models import RepoParameter, WorkflowParameter

REPO = {"codehost_name": "gitlab", "repo_namespace": "team", "repo_name": "svc"}


@pytest.mark.parametrize("prs", [[12], "12", "[12]", 12, ["12"]])
def test_prs_parsed_to_integers(prs):
    assert RepoParameter(**REPO, prs=prs).prs == [12]


@pytest.mark.parametrize("prs", [2**63, "x", [True], 1.5])
def test_prs_outside_int64_rejected(prs):
    with pytest.raises(ValidationError, match="invalid pull request number"):
        RepoParameter(**REPO, prs=prs)


def test_parameter_value_sent_as_text():
    assert WorkflowParameter(name="replicas", value=3).to_body() == {
        "name": "replicas",
        "type": "string",
        "value": "3",
    }
