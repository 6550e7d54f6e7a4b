"""Contract tests for the provider metadata that Airflow reads through the entry point."""

from __future__ import annotations

import copy
import importlib
import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import airflow
import jsonschema
import pytest

from airflow_provider_zadig import get_provider_info

AIRFLOW_PACKAGE_DIR = Path(airflow.__file__).parent
ENTRY_POINT_GROUP = "apache_airflow_provider"
ENTRY_POINT_VALUE = "airflow_provider_zadig:get_provider_info"

# Keys that the provider.yaml schema requires only of providers kept in the Airflow source tree.
SOURCE_TREE_ONLY_KEYS = {"state", "source-date-epoch"}


def load_schema(name: str) -> dict[str, Any]:
    path = AIRFLOW_PACKAGE_DIR / name
    if not path.is_file():
        pytest.skip(f"{name} is not shipped with the installed Airflow {airflow.__version__}")
    return json.loads(path.read_text())


def zadig_connection_type(info: dict[str, Any]) -> dict[str, Any]:
    (conn_type,) = (c for c in info["connection-types"] if c["connection-type"] == "zadig")
    return conn_type


def import_class(class_path: str) -> Any:
    module_name, _, class_name = class_path.rpartition(".")
    return getattr(importlib.import_module(module_name), class_name)


class TestSchemas:
    def test_runtime_schema(self):
        schema = load_schema("provider_info.schema.json")

        jsonschema.validate(get_provider_info(), schema)

    def test_provider_yaml_schema(self):
        """The stricter provider.yaml schema is the only one that checks ``conn-fields`` and kebab keys."""
        schema = copy.deepcopy(load_schema("provider.yaml.schema.json"))
        schema["required"] = [key for key in schema["required"] if key not in SOURCE_TREE_ONLY_KEYS]

        jsonschema.validate(get_provider_info(), schema)

    def test_provider_yaml_schema_rejects_bad_field(self):
        """Guard against a schema that accepts anything: an unknown conn-field key must fail."""
        schema = load_schema("provider.yaml.schema.json")
        info = copy.deepcopy(get_provider_info())
        zadig_connection_type(info)["conn-fields"]["verify"]["widget"] = "checkbox"

        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(info["connection-types"], schema["properties"]["connection-types"])

    @pytest.mark.parametrize(
        "field_name", ["verify", "timeout", "max_retries", "retry_backoff", "retry_max_wait", "proxies"]
    )
    def test_conn_field_default_is_valid(self, field_name):
        """A default that fails its own field schema makes the empty form invalid."""
        field = zadig_connection_type(get_provider_info())["conn-fields"][field_name]
        field_schema = field["schema"]

        jsonschema.validate(field_schema.get("default"), field_schema)


class TestContents:
    def test_connection_type(self):
        conn_type = zadig_connection_type(get_provider_info())

        assert conn_type["hook-name"] == "Zadig"
        assert conn_type["hook-class-name"] == "airflow_provider_zadig.hooks.zadig.ZadigHook"

    def test_form_behaviour(self):
        behaviour = zadig_connection_type(get_provider_info())["ui-field-behaviour"]

        assert set(behaviour["hidden-fields"]) == {"login", "schema"}
        assert behaviour["relabeling"] == {"host": "Zadig URL", "password": "API Token"}

    def test_conn_fields(self):
        fields = zadig_connection_type(get_provider_info())["conn-fields"]

        assert set(fields) == {
            "verify",
            "timeout",
            "max_retries",
            "retry_backoff",
            "retry_max_wait",
            "proxies",
        }

    def test_placeholders_name_known_fields(self):
        conn_type = zadig_connection_type(get_provider_info())
        standard = {"host", "port", "login", "password", "schema", "extra", "description"}
        known = standard | set(conn_type["conn-fields"])

        assert set(conn_type["ui-field-behaviour"]["placeholders"]) <= known


class TestDistribution:
    def test_entry_point_registered(self):
        entry_points = metadata.entry_points(group=ENTRY_POINT_GROUP)
        values = {ep.value for ep in entry_points}

        assert ENTRY_POINT_VALUE in values

    def test_package_name_is_distribution_name(self):
        """Airflow raises during discovery, for every provider, when these differ."""
        (entry_point,) = (
            ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.value == ENTRY_POINT_VALUE
        )
        distribution_name = entry_point.dist.metadata["Name"]

        assert get_provider_info()["package-name"] == distribution_name

    def test_version_matches_distribution(self):
        assert get_provider_info()["versions"][0] == metadata.version("airflow-provider-zadig")


class TestImportPaths:
    def test_hook_class(self):
        hook_class = import_class(zadig_connection_type(get_provider_info())["hook-class-name"])

        assert hook_class.conn_type == "zadig"
        assert hook_class.hook_name == "Zadig"

    def test_trigger_modules(self):
        for trigger in get_provider_info()["triggers"]:
            for module_name in trigger["python-modules"]:
                importlib.import_module(module_name)

    def test_extra_link_classes(self):
        for class_path in get_provider_info()["extra-links"]:
            link_class = import_class(class_path)

            assert link_class.name == "Zadig Task"


class TestAirflowReadsMetadata:
    def test_hook_meta_for_ui(self):
        """The React connection form is built from this response, without importing the hook."""
        from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

        (meta,) = (m for m in HookMetaService.hook_meta_data() if m.connection_type == "zadig")

        assert meta.hook_name == "Zadig"
        assert meta.standard_fields.host.title == "Zadig URL"
        assert meta.standard_fields.password.title == "API Token"
        assert meta.standard_fields.login.hidden is True
        assert set(meta.extra_fields) == {
            "verify",
            "timeout",
            "max_retries",
            "retry_backoff",
            "retry_max_wait",
            "proxies",
        }
        assert meta.extra_fields["verify"]["schema"]["title"] == "Verify TLS"

    @pytest.mark.airflow_cli
    def test_providers_list_cli(self, tmp_path):
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(tmp_path),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
        airflow_cli = Path(sys.executable).with_name("airflow")

        result = subprocess.run(
            [str(airflow_cli), "providers", "list", "--output", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

        assert result.returncode == 0, result.stderr
        listed = {p["package_name"]: p for p in json.loads(result.stdout)}
        assert "airflow-provider-zadig" in listed
        assert listed["airflow-provider-zadig"]["version"] == metadata.version("airflow-provider-zadig")
