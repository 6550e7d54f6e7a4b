"""
Zadig operators.

Import each operator from its module, for example
``from airflow_provider_zadig.operators.workflow import ZadigExecuteWorkflowOperator``. This package
imports nothing itself, so that parsing a DAG file loads only the modules it uses.
"""
