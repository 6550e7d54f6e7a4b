"""
What a DAG file pays for at parse time.

The scheduler's DAG processor imports every DAG file again and again, so importing the operators,
sensors, links and the example DAGs must not load the HTTP clients, the pydantic models, the hook or
the simulator. Those load only when a task runs. Each target is imported in one fresh interpreter, in
order, and the test for a target fails when that import was the one that loaded a forbidden module.
"""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import airflow_provider_zadig

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DAG_FILES = sorted((REPO_ROOT / "example_dags").glob("*.py"))
PARSE_TIME_PACKAGES = ("operators", "sensors", "links")
FORBIDDEN_MODULES = (
    "requests",
    "aiohttp",
    "airflow_provider_zadig.models",
    "airflow_provider_zadig.hooks.zadig",
    "airflow_provider_zadig.simulator",
)

# Runs in the fresh interpreter: import each target, record the forbidden modules each one added.
IMPORT_SCRIPT = """
import importlib, importlib.util, json, sys

forbidden = json.loads(sys.argv[1])
targets = json.loads(sys.argv[2])

def loaded_forbidden():
    return {m for m in sys.modules for f in forbidden if m == f or m.startswith(f + ".")}

import airflow.sdk  # Airflow itself is already loaded in a DAG processor.
seen = loaded_forbidden()
report = {"before_targets": sorted(seen), "targets": {}}
for index, target in enumerate(targets):
    if target.endswith(".py"):
        spec = importlib.util.spec_from_file_location(f"parse_time_dag_{index}", target)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        importlib.import_module(target)
    now = loaded_forbidden()
    report["targets"][target] = sorted(now - seen)
    seen = now
print(json.dumps(report))
"""


def parse_time_modules() -> list[str]:
    package_dir = Path(airflow_provider_zadig.__file__).parent
    modules = []
    for package in PARSE_TIME_PACKAGES:
        prefix = f"airflow_provider_zadig.{package}."
        modules.append(prefix.rstrip("."))
        modules += [prefix + info.name for info in pkgutil.iter_modules([str(package_dir / package)])]
    return modules


TARGETS = parse_time_modules() + [str(path) for path in EXAMPLE_DAG_FILES]


@pytest.fixture(scope="module")
def import_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
    env["AIRFLOW_HOME"] = str(tmp_path_factory.mktemp("airflow-home"))
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_SCRIPT, json.dumps(FORBIDDEN_MODULES), json.dumps(TARGETS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"importing the parse-time modules failed:\n{result.stderr[-4000:]}"
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_targets_found():
    assert "airflow_provider_zadig.operators.workflow" in TARGETS
    assert "airflow_provider_zadig.sensors.workflow_task" in TARGETS
    assert "airflow_provider_zadig.links.zadig" in TARGETS
    assert any(target.endswith("example_zadig_release.py") for target in TARGETS)


def test_airflow_loads_none_of_them(import_report):
    """Otherwise the checks below would pass or fail for Airflow's reasons, not ours."""
    assert import_report["before_targets"] == []


@pytest.mark.parametrize("target", TARGETS, ids=[Path(t).name if t.endswith(".py") else t for t in TARGETS])
def test_import_stays_light(import_report, target):
    assert import_report["targets"][target] == []
