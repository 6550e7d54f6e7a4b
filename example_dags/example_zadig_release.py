"""
A release through Zadig: check the data, build and deploy with a Zadig workflow, approve its gate, go on.

The Zadig workflow ``build-images`` of project ``simple-service-demo`` builds the images in its
``build`` stage, then waits at a native approval job before its ``deploy`` job. This DAG:

1. ``check_data`` checks that the release may start. Replace it with your own check.
2. ``start_release`` executes the workflow and returns as soon as Zadig created the task, because
   waiting for completion there would last until someone decided the approval in Zadig.
3. ``wait_for_approval`` waits in the triggerer until the approval is pending and returns the
   approval's job task name.
4. ``approve_release`` approves that approval as the connection's user.
5. ``wait_for_release`` waits in the triggerer until the task finishes, and fails unless it passed.
6. ``announce_release`` runs after a passed release.

The connection ``zadig_default`` points at the Zadig server: host = the Zadig URL, password = an
API token of a user who may execute the workflow and is an approver of its approval job.
The DAG runs against the local simulator with ``make demo``.
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

log = logging.getLogger(__name__)


@dag(
    dag_id="zadig_release",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={
        "env": Param(
            "staging", enum=["dev", "staging", "prod"], description="Zadig environment to deploy to"
        ),
        "branch": Param("main", type="string", description="Git branch to build"),
    },
    tags=["zadig", "example"],
)
def zadig_release() -> None:
    @task
    def check_data(**context) -> int:
        """Stand-in for a real check: fail here, and Zadig never starts."""
        branch = context["params"]["branch"]
        if not branch.strip():
            raise ValueError("the branch to release is empty")
        rows_loaded = 5000
        log.info("Data check passed: %s rows loaded for branch %r", rows_loaded, branch)
        return rows_loaded

    start_release = ZadigExecuteWorkflowOperator(
        task_id="start_release",
        project_key=PROJECT_KEY,
        workflow_key=WORKFLOW_KEY,
        parameters=[
            {"name": "env", "type": "choice", "value": "{{ params.env }}"},
            {"name": "branch", "value": "{{ params.branch }}"},
        ],
        wait_for_completion=False,
        deferrable=True,
    )

    wait_for_approval = ZadigWorkflowTaskSensor(
        task_id="wait_for_approval",
        project_key=PROJECT_KEY,
        workflow_key=WORKFLOW_KEY,
        workflow_task_id=start_release.output,
        wait_for="approval_pending",
        poke_interval=CHECK_INTERVAL,
        timeout=timedelta(hours=2).total_seconds(),
        deferrable=True,
    )

    approve_release = ZadigApproveWorkflowTaskOperator(
        task_id="approve_release",
        project_key=PROJECT_KEY,
        workflow_key=WORKFLOW_KEY,
        workflow_task_id=start_release.output,
        approval_name=wait_for_approval.output,
        approve=True,
        comment="Approved by Airflow run {{ run_id }} after the data check passed",
    )

    wait_for_release = ZadigWorkflowTaskSensor(
        task_id="wait_for_release",
        project_key=PROJECT_KEY,
        workflow_key=WORKFLOW_KEY,
        workflow_task_id=start_release.output,
        wait_for="completion",
        poke_interval=CHECK_INTERVAL,
        timeout=timedelta(hours=3).total_seconds(),
        deferrable=True,
    )

    @task
    def announce_release(final_status: str, **context) -> None:
        """Downstream work that needs the deployed release, such as a smoke test or a notification."""
        log.info("Release to %s finished with Zadig status %r", context["params"]["env"], final_status)

    check_data() >> start_release
    approve_release >> wait_for_release
    announce_release(wait_for_release.output)


zadig_release()
