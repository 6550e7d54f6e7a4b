"""
The ``zadig`` connection form for Airflow before 3.2, which builds it from hook methods.

Airflow 3.2 and later read the same fields from the provider metadata (``conn-fields``), so both
are derived from :data:`airflow_provider_zadig.CONNECTION_FIELDS`.
"""

from __future__ import annotations

import copy
from typing import Any

from airflow_provider_zadig import CONNECTION_FIELDS, get_provider_info


def ui_field_behaviour() -> dict[str, Any]:
    """Return the hidden fields, labels and placeholders of the form, as in the provider metadata."""
    connection_type = get_provider_info()["connection-types"][0]
    return copy.deepcopy(connection_type["ui-field-behaviour"])


def connection_form_widgets() -> dict[str, Any]:
    """
    Return one text field per connection extra.

    The web server of Airflow 2 has Flask-AppBuilder, Flask-Babel and WTForms. Elsewhere, such as
    on a worker, they may be missing, and the form is not needed: the result is then empty.
    """
    try:
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import StringField
        from wtforms.validators import Optional
    except ImportError:
        return {}
    return {
        key: StringField(
            lazy_gettext(field["label"]),
            widget=BS3TextFieldWidget(),
            description=field["description"],
            validators=[Optional()],
        )
        for key, field in CONNECTION_FIELDS.items()
    }
