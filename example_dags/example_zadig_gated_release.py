"""
A release gated on a data check: Zadig builds while Airflow checks, then Airflow approves or rejects.

The Zadig workflow ``build-images`` of project ``simple-service-demo`` builds the images, then waits
at a native approval job before it deploys. This DAG:

1. ``start_release`` executes the workflow and returns once Zadig created the task.
2. ``check_data`` runs while Zadig builds and then stops the task at its approval gate.
   ``wait_for_gate`` waits in the triggerer until that approval is pending.
3. ``decide`` picks ``approve_release`` when the check passed and ``reject_release`` otherwise.
   The comment sent to Zadig gives the check's result.
4. ``wait_for_release`` waits until an approved task passed (a failed deploy fails it), and
   ``wait_for_rejection`` until a rejected one ended in ``reject``.
5. ``record_outcome`` logs which way the release went.

A rejected release is the intended outcome of a failed check, so the DAG run succeeds on both
branches and the graph shows which one ran. Raise in ``record_outcome`` if a rejection should fail
the run instead. Try the reject branch with
``airflow dags test zadig_gated_release --conf '{"rows_loaded": 10}'``.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

from airflow.sdk import Param, dag, task

from airflow_provider_zadig.operators.workflow import ZadigExecuteWorkflowOperator
from airflow_provider_zadig.operators.workflow_task import ZadigApproveWorkflowTaskOperator
from airflow_provider_zadig.sensors.workflow_task import ZadigWorkflowTaskSensor

PROJECT_KEY = "simple-service-demo"
WORKFLOW_KEY = "build-images"
# Seconds between two reads of the Zadig task. The demo and the tests set the variable to poll faster.
CHECK_INTERVAL = float(os.environ.get("ZADIG_EXAMPLE_CHECK_INTERVAL", "30"))
APPROVAL_WAIT = timedelta(hours=2).total_seconds()
RELEASE_WAIT = timedelta(hours=3).total_seconds()

log = logging.getLogger(__name__)


@dag(
    dag_id="zadig_gated_release",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={
        "rows_loaded": Param(
            5000, type="integer", description="Stand-in for the row count that a real check would query"
        ),
        "min_rows": Param(1000, type="integer", description="Minimum rows loaded for the release to go on"),
    },
    tags=["zadig", "example"],
)
def zadig_gated_release() -> None:
    start_release = ZadigExecuteWorkflowOperator(
        task_id="start_release",
        project_key=PROJECT_KEY,
        workflow_key=WORKFLOW_KEY,
        parameters=[{"name": "env", "type": "choice", "value": "prod"}],
        wait_for_completion=False,
        deferrable=True,
    )

    wait_for_gate = ZadigWorkflowTaskSensor(
        task_id="wait_for_gate",
        project_key=PROJECT_KEY,
        workflow_key=WORKFLOW_KEY,
        workflow_task_id=start_release.output,
        wait_for="approval_pending",
        poke_interval=CHECK_INTERVAL,
        timeout=APPROVAL_WAIT,
        deferrable=True,
    )

    @task
    def check_data(**context) -> dict[str, object]:
        """Check the row count (a stand-in for a real check) and return whether it passed and why."""
        rows_loaded = context["params"]["rows_loaded"]
        min_rows = context["params"]["min_rows"]
        passed = rows_loaded >= min_rows
        reason = f"{rows_loaded} rows loaded, {min_rows} required"
        log.info("Data check %s: %s", "passed" if passed else "failed", reason)
        return {"passed": passed, "reason": reason}

    @task.branch
    def decide(check: dict[str, object]) -> str:
        return "approve_release" if check["passed"] else "reject_release"

    approve_release = ZadigApproveWorkflowTaskOperator(
        task_id="approve_release",
        project_key=PROJECT_KEY,
        workflow_key=WORKFLOW_KEY,
        workflow_task_id=start_release.output,
        approval_name=wait_for_gate.output,
        approve=True,
        comment="Data check passed: {{ ti.xcom_pull(task_ids='check_data')['reason'] }}",
    )

    reject_release = ZadigApproveWorkflowTaskOperator(
        task_id="reject_release",
        project_key=PROJECT_KEY,
        workflow_key=WORKFLOW_KEY,
        workflow_task_id=start_release.output,
        approval_name=wait_for_gate.output,
        approve=False,
        comment="Data check failed: {{ ti.xcom_pull(task_ids='check_data')['reason'] }}",
    )

    wait_for_release = ZadigWorkflowTaskSensor(
        task_id="wait_for_release",
        project_key=PROJECT_KEY,
        workflow_key=WORKFLOW_KEY,
        workflow_task_id=start_release.output,
        wait_for="completion",
        poke_interval=CHECK_INTERVAL,
        timeout=RELEASE_WAIT,
        deferrable=True,
    )

    wait_for_rejection = ZadigWorkflowTaskSensor(
        task_id="wait_for_rejection",
        project_key=PROJECT_KEY,
        workflow_key=WORKFLOW_KEY,
        workflow_task_id=start_release.output,
        wait_for="completion",
        # A rejected approval ends the task in "reject". Any other end, "passed" included, fails here.
        success_statuses=["reject"],
        failure_statuses=["failed", "timeout", "cancelled"],
        poke_interval=CHECK_INTERVAL,
        timeout=APPROVAL_WAIT,
        deferrable=True,
    )

    @task(trigger_rule="none_failed_min_one_success")
    def record_outcome(**context) -> str:
        """Log how the release ended. The branch that did not run is skipped."""
        if context["ti"].xcom_pull(task_ids="wait_for_release") == "passed":
            log.info("The release passed in Zadig")
            return "released"
        log.info("The release was rejected in Zadig because the data check failed")
        return "rejected"

    check = check_data()
    branch = decide(check)
    start_release >> check
    wait_for_gate >> branch
    branch >> [approve_release, reject_release]
    approve_release >> wait_for_release
    reject_release >> wait_for_rejection
    [wait_for_release, wait_for_rejection] >> record_outcome()


zadig_gated_release()
