"""
The example DAGs: every file imports cleanly, and the release DAGs run for real.

The runs use ``airflow dags test`` in a throwaway AIRFLOW_HOME against the simulator started as a
separate process, exactly as ``make demo`` does (the code is shared in ``scripts/airflow_sandbox.py``).
Deferred tasks run their triggers inside ``airflow dags test``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from airflow_sandbox import EXAMPLE_DAGS_DIR, ReleaseRun, run_dag_with_simulator

EXAMPLE_DAG_FILES = sorted(EXAMPLE_DAGS_DIR.glob("*.py"))
# Fast enough for a test, slow enough that each status step is polled at least once.
STEP_SECONDS = 0.3
CHECK_INTERVAL = 0.5


def approval_job(zadig_task: dict[str, Any]) -> dict[str, Any]:
    jobs = [job for stage in zadig_task["stages"] for job in stage.get("jobs") or []]
    (job,) = (job for job in jobs if job["type"] == "approval")
    return job


def approval_votes(zadig_task: dict[str, Any]) -> list[dict[str, Any]]:
    native = approval_job(zadig_task)["spec"]["native_approval"]
    return [user for user in native["approve_users"] if user.get("reject_or_approve")]


def run_dag(dag_id: str, tmp_path: Path, conf: dict[str, Any] | None = None) -> ReleaseRun:
    run = run_dag_with_simulator(
        dag_id, tmp_path, conf=conf, step_seconds=STEP_SECONDS, check_interval=CHECK_INTERVAL
    )
    print(f"airflow dags test {dag_id} took {run.dag.seconds:.1f} s; output in {run.dag.log_path}")
    return run


@pytest.fixture(scope="module")
def dagbag() -> Any:
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(EXAMPLE_DAGS_DIR), safe_mode=False)


class TestDagFiles:
    def test_files_found(self):
        names = {path.name for path in EXAMPLE_DAG_FILES}

        assert "example_zadig_release.py" in names
        assert "example_zadig_gated_release.py" in names

    def test_no_import_errors(self, dagbag):
        assert dagbag.import_errors == {}

    def test_every_file_defines_a_dag(self, dagbag):
        files_with_dags = {Path(dag.fileloc).name for dag in dagbag.dags.values()}

        assert {path.name for path in EXAMPLE_DAG_FILES} <= files_with_dags

    def test_release_dag_wiring(self, dagbag):
        dag = dagbag.dags["zadig_release"]

        assert dag.get_task("start_release").upstream_task_ids == {"check_data"}
        assert dag.get_task("wait_for_approval").upstream_task_ids == {"start_release"}
        assert dag.get_task("approve_release").upstream_task_ids == {"start_release", "wait_for_approval"}
        assert dag.get_task("wait_for_release").upstream_task_ids == {"start_release", "approve_release"}
        assert dag.get_task("announce_release").upstream_task_ids == {"wait_for_release"}

    def test_gated_release_dag_wiring(self, dagbag):
        dag = dagbag.dags["zadig_gated_release"]

        assert dag.get_task("check_data").upstream_task_ids == {"start_release"}
        assert dag.get_task("decide").upstream_task_ids == {"check_data", "wait_for_gate"}
        assert dag.get_task("decide").downstream_task_ids == {"approve_release", "reject_release"}
        assert dag.get_task("record_outcome").upstream_task_ids == {"wait_for_release", "wait_for_rejection"}

    @pytest.mark.parametrize("dag_id", ["zadig_release", "zadig_gated_release"])
    def test_zadig_waits_are_deferrable(self, dagbag, dag_id):
        dag = dagbag.dags[dag_id]
        zadig_tasks = [t for t in dag.tasks if type(t).__module__.startswith("airflow_provider_zadig.")]
        waiting = [t for t in zadig_tasks if hasattr(t, "deferrable")]

        assert waiting
        assert all(t.deferrable for t in waiting)


@pytest.mark.airflow_cli
class TestDagRuns:
    def test_release_passes_after_approval(self, tmp_path):
        run = run_dag("zadig_release", tmp_path)

        assert run.dag.returncode == 0, run.dag.log_path.read_text()[-6000:]
        assert run.dag.run_state == "success"
        assert run.dag.task_states == {
            "check_data": "success",
            "start_release": "success",
            "wait_for_approval": "success",
            "approve_release": "success",
            "wait_for_release": "success",
            "announce_release": "success",
        }
        assert len(run.zadig_tasks) == 1
        zadig_task = run.zadig_tasks[0]
        assert zadig_task["status"] == "passed"
        assert approval_job(zadig_task)["status"] == "passed"
        (vote,) = approval_votes(zadig_task)
        assert vote["reject_or_approve"] == "approve"
        assert vote["comment"].startswith("Approved by Airflow run ")
        assert {param["name"]: param["value"] for param in zadig_task["params"]}["env"] == "staging"

    def test_gated_release_approves_good_data(self, tmp_path):
        run = run_dag("zadig_gated_release", tmp_path)

        assert run.dag.returncode == 0, run.dag.log_path.read_text()[-6000:]
        assert run.dag.run_state == "success"
        assert run.dag.task_states["approve_release"] == "success"
        assert run.dag.task_states["reject_release"] == "skipped"
        assert run.dag.task_states["wait_for_release"] == "success"
        assert run.dag.task_states["wait_for_rejection"] == "skipped"
        assert run.dag.task_states["record_outcome"] == "success"
        assert [task["status"] for task in run.zadig_tasks] == ["passed"]

    def test_gated_release_rejects_bad_data(self, tmp_path):
        run = run_dag("zadig_gated_release", tmp_path, conf={"rows_loaded": 10})

        assert run.dag.returncode == 0, run.dag.log_path.read_text()[-6000:]
        assert run.dag.run_state == "success"
        assert run.dag.task_states["approve_release"] == "skipped"
        assert run.dag.task_states["reject_release"] == "success"
        assert run.dag.task_states["wait_for_release"] == "skipped"
        assert run.dag.task_states["wait_for_rejection"] == "success"
        assert run.dag.task_states["record_outcome"] == "success"
        assert [task["status"] for task in run.zadig_tasks] == ["reject"]
        (vote,) = approval_votes(run.zadig_tasks[0])
        assert vote["reject_or_approve"] == "reject"
        assert vote["comment"] == "Data check failed: 10 rows loaded, 1000 required"

    def test_readme_release_dag(self, tmp_path):
        """The DAG shown in README.md runs as printed, with a shorter poke interval."""
        readme = (EXAMPLE_DAGS_DIR.parent / "README.md").read_text()
        section = readme.split("## A release DAG", 1)[1]
        source = section.split("```python\n", 1)[1].split("```", 1)[0]
        dags_folder = tmp_path / "dags"
        dags_folder.mkdir()
        (dags_folder / "readme_release.py").write_text(
            source.replace("poke_interval=30", "poke_interval=0.5")
        )

        run = run_dag_with_simulator(
            "zadig_release", tmp_path, dags_folder=dags_folder, step_seconds=STEP_SECONDS
        )

        assert run.dag.returncode == 0, run.dag.log_path.read_text()[-6000:]
        assert set(run.dag.task_states.values()) == {"success"}
        assert [task["status"] for task in run.zadig_tasks] == ["passed"]
