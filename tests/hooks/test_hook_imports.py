"""The modules shared with the async client import neither HTTP library, and the package imports nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest

SHARED_MODULES = [
    "airflow_provider_zadig.hooks",
    "airflow_provider_zadig.hooks._connection",
    "airflow_provider_zadig.hooks._extras",
    "airflow_provider_zadig.hooks._errors",
    "airflow_provider_zadig.hooks._hints",
    "airflow_provider_zadig.hooks._retry",
    "airflow_provider_zadig.hooks._endpoints",
    "airflow_provider_zadig.hooks._response",
]


@pytest.mark.parametrize("module", SHARED_MODULES)
def test_shared_module_imports_no_http_library(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "loaded = sorted(name for name in ('requests', 'aiohttp') if name in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_hooks_package_imports_nothing() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import airflow_provider_zadig.hooks\n"
        "new = sorted(set(sys.modules) - before)\n"
        "new = [name for name in new if name.startswith('airflow_provider_zadig.')]\n"
        "print(','.join(new))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "airflow_provider_zadig.hooks"
