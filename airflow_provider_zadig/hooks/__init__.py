"""
Clients of the Zadig OpenAPI: :mod:`airflow_provider_zadig.hooks.zadig` (sync, for workers) and
:mod:`airflow_provider_zadig.hooks.async_client` (async, for the triggerer).

This package imports nothing on purpose, so that parsing a DAG file stays cheap.
"""
