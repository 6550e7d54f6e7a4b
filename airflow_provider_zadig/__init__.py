"""Apache Airflow provider for Zadig, the cloud-native CI/CD platform by KodeRover."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

# Extra keys of a ``zadig`` connection. Airflow 3.2 and later build the connection form only from
# this metadata (``conn-fields``), without importing the hook.
CONNECTION_FIELDS: dict[str, dict[str, Any]] = {
    "verify": {
        "label": "Verify TLS",
        "description": "true or false, or the path of a CA bundle file on the Airflow workers.",
        "schema": {"type": ["string", "null"], "default": "true"},
    },
    "timeout": {
        "label": "Request timeout",
        "description": "Seconds to wait for each HTTP response from Zadig.",
        "schema": {"type": ["number", "null"], "default": 30, "minimum": 1},
    },
    "max_retries": {
        "label": "Max retries",
        "description": (
            "Retries of a read, cancel or view edit after a connection error, HTTP 429, 502, 503 or 504. "
            "Creating requests are never re-sent blindly."
        ),
        "schema": {"type": ["integer", "null"], "default": 3, "minimum": 0, "maximum": 20},
    },
    "retry_backoff": {
        "label": "Retry backoff",
        "description": "Seconds before the first retry; each later retry waits twice as long, with jitter.",
        "schema": {"type": ["number", "null"], "default": 1, "minimum": 0},
    },
    "retry_max_wait": {
        "label": "Retry max wait",
        "description": "Maximum seconds between two retries, and the longest Retry-After that is honoured.",
        "schema": {"type": ["number", "null"], "default": 30, "minimum": 0},
    },
    "proxies": {
        "label": "Proxies",
        "description": 'JSON object mapping a scheme to a proxy URL, for example {"https": "http://proxy:3128"}.',
        "schema": {"type": ["string", "null"], "format": "json"},
    },
}


def get_provider_info() -> dict[str, Any]:
    """Return the provider metadata that Airflow reads through the ``apache_airflow_provider`` entry point."""
    return {
        "package-name": "airflow-provider-zadig",
        "name": "Zadig",
        "description": (
            "Execute Zadig workflows, wait on their tasks and approvals, and manage views and tickets."
        ),
        "versions": [__version__],
        "connection-types": [
            {
                "connection-type": "zadig",
                "hook-class-name": "airflow_provider_zadig.hooks.zadig.ZadigHook",
                "hook-name": "Zadig",
                "ui-field-behaviour": {
                    "hidden-fields": ["login", "schema"],
                    "relabeling": {"host": "Zadig URL", "password": "API Token"},
                    "placeholders": {
                        "host": "https://zadig.example.com",
                        "port": "443",
                        "password": "Zadig API token (Account settings > API Token)",
                        "verify": "true",
                        "timeout": "30",
                        "max_retries": "3",
                        "retry_backoff": "1",
                        "retry_max_wait": "30",
                    },
                },
                "conn-fields": CONNECTION_FIELDS,
            }
        ],
        "triggers": [
            {
                "integration-name": "Zadig",
                "python-modules": ["airflow_provider_zadig.triggers.workflow_task"],
            }
        ],
        "extra-links": ["airflow_provider_zadig.links.zadig.ZadigWorkflowTaskLink"],
    }
