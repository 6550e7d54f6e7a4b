"""
Release administration in Zadig from Airflow: file a pre-approval ticket, put the release workflows in
a view, and keep a workflow definition in this repository in sync with Zadig.

Every task is safe to run twice: an existing ticket is accepted, the view edit is a merge, and the sync
creates the workflow the first time and updates it afterwards.

It runs as is against the local simulator, whose seed data has the projects ``simple-service-demo``
and ``lilian-test`` (with the view ``test-view``). Point the ``zadig_default`` connection at a real
Zadig and change the names to use it there. Pre-approval tickets need a Zadig professional or
enterprise license.
Trigger it with ``{"change_id": "CHG-1234"}`` as the run configuration to file that ticket.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_zadig.operators.ticket import ZadigCreateApprovalTicketOperator
from airflow_provider_zadig.operators.view import ZadigUpdateWorkflowViewOperator
from airflow_provider_zadig.operators.workflow_definition import ZadigSyncWorkflowOperator

PROJECT = "simple-service-demo"
VIEW_PROJECT = "lilian-test"

with DAG(
    dag_id="example_zadig_workflow_admin",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["example", "zadig"],
    params={"change_id": "CHG-0001"},
) as dag:
    # The relative path is resolved against the folder of this file.
    sync_workflow = ZadigSyncWorkflowOperator(
        task_id="sync_release_workflow",
        definition="workflows/demo-release-as-code.yaml",
    )

    # Shows two more workflows in an existing view, and the workflows it already shows stay.
    # ZadigCreateWorkflowViewOperator creates a view that does not exist yet.
    update_view = ZadigUpdateWorkflowViewOperator(
        task_id="show_release_workflows",
        project_key=VIEW_PROJECT,
        view_name="test-view",
        add=["build-deploy", "just-deploy"],
    )

    # Allows runs in the dev environment for the next 12 hours, for the change approved elsewhere.
    file_ticket = ZadigCreateApprovalTicketOperator(
        task_id="file_pre_approval_ticket",
        project_key=PROJECT,
        approval_id="{{ params.change_id }}",
        envs="dev",
        services=[{"service_name": "myapp", "service_module": "myapp"}],
        users=["admin@example.com"],
        execution_window_start="{{ macros.time.time() | int }}",
        execution_window_end="{{ macros.time.time() | int + 12 * 3600 }}",
    )

    sync_workflow >> update_view >> file_ticket
