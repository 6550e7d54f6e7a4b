"""The connection form methods that Airflow before 3.2 reads from the hook class."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from airflow_provider_zadig import CONNECTION_FIELDS, get_provider_info
from airflow_provider_zadig.hooks.zadig import ZadigHook


def test_ui_field_behaviour_matches_provider_info() -> None:
    expected = get_provider_info()["connection-types"][0]["ui-field-behaviour"]
    behaviour = ZadigHook.get_ui_field_behaviour()
    assert behaviour == expected
    assert behaviour["hidden-fields"] == ["login", "schema"]
    assert behaviour["relabeling"] == {"host": "Zadig URL", "password": "API Token"}
    behaviour["hidden-fields"].append("port")
    assert ZadigHook.get_ui_field_behaviour()["hidden-fields"] == ["login", "schema"]


def test_hook_class_attributes() -> None:
    assert ZadigHook.conn_name_attr == "zadig_conn_id"
    assert ZadigHook.default_conn_name == "zadig_default"
    assert ZadigHook.conn_type == "zadig"
    assert ZadigHook.hook_name == "Zadig"
    assert ZadigHook().zadig_conn_id == "zadig_default"


def test_widgets_are_empty_without_wtforms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "wtforms", None)
    assert ZadigHook.get_connection_form_widgets() == {}


def test_widgets_mirror_connection_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    class StringField:
        def __init__(self, label: str, **kwargs: Any) -> None:
            self.label = label
            self.kwargs = kwargs

    def module(name: str, **attributes: Any) -> types.ModuleType:
        created = types.ModuleType(name)
        created.__dict__.update(attributes)
        monkeypatch.setitem(sys.modules, name, created)
        return created

    module("flask_appbuilder")
    module("flask_appbuilder.fieldwidgets", BS3TextFieldWidget=lambda: "text-widget")
    module("flask_babel", lazy_gettext=lambda text: f"translated:{text}")
    module("wtforms", StringField=StringField)
    module("wtforms.validators", Optional=lambda: "optional")

    widgets = ZadigHook.get_connection_form_widgets()
    assert set(widgets) == set(CONNECTION_FIELDS)
    for key, field in CONNECTION_FIELDS.items():
        widget = widgets[key]
        assert widget.label == f"translated:{field['label']}"
        assert widget.kwargs["description"] == field["description"]
        assert widget.kwargs["widget"] == "text-widget"
        assert widget.kwargs["validators"] == ["optional"]
