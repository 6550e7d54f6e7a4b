"""
The ``zadig`` connection form of the Airflow 3 React UI, driven in headless Chromium.

Airflow 3.2 and later build this form only from the provider metadata (``hook-name``,
``ui-field-behaviour``, ``conn-fields``), so this test checks the form a user gets: a real
``airflow api-server`` in a throwaway AIRFLOW_HOME, the Add Connection dialog, and the connection it
saves. A screenshot of the filled form goes to /tmp/zadig-connection-form.png.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from airflow_sandbox import AirflowSandbox

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_PATH = Path("/tmp/zadig-connection-form.png")
EXTRA_FIELD_LABELS = {
    "verify": "Verify TLS",
    "timeout": "Request timeout",
    "max_retries": "Max retries",
    "retry_backoff": "Retry backoff",
    "retry_max_wait": "Retry max wait",
    "proxies": "Proxies",
}
UI_TIMEOUT_MS = 20_000

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh (Debian chromium) to enable this test",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed: pip install -e '.[ui]'"
)


@pytest.fixture(scope="module")
def airflow_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AirflowSandbox, str]]:
    sandbox = AirflowSandbox(
        tmp_path_factory.mktemp("airflow-ui"),
        env={
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API__WORKERS": "1",
        },
    )
    sandbox.migrate()
    with sandbox.api_server() as url:
        yield sandbox, url


@pytest.fixture(scope="module")
def browser_context() -> Iterator[Any]:
    with (
        tempfile.TemporaryDirectory(prefix="zadig-chromium-") as user_data_dir,
        sync_api.sync_playwright() as p,
    ):
        context = p.chromium.launch_persistent_context(
            user_data_dir,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1400},
        )
        context.set_default_timeout(UI_TIMEOUT_MS)
        yield context
        context.close()


def open_zadig_form(context: Any, url: str) -> Any:
    """Open the Add Connection dialog and pick connection type "Zadig". The standard fields show first."""
    page = context.new_page()
    page.goto(f"{url}/connections", wait_until="networkidle")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("combobox").fill("Zadig")
    page.get_by_role("option", name="Zadig", exact=True).click()
    dialog.get_by_text("Zadig URL", exact=True).wait_for()
    return dialog


def show_section(dialog: Any, name: str) -> None:
    """Expand one section of the form ("Standard Fields" or "Extra Fields"). The other one collapses."""
    trigger = dialog.get_by_role("button", name=name, exact=True)
    if trigger.get_attribute("aria-expanded") != "true":
        trigger.click()
    trigger.page.wait_for_function(
        "element => element.getAttribute('aria-expanded') === 'true'", arg=trigger.element_handle()
    )


def extra_input(dialog: Any, key: str) -> Any:
    # The React form names an extra field's input "element_<key>". Its <label> does not always point
    # at the input (Airflow 3.3.2), so the label text is checked separately.
    return dialog.locator(f"input[name='element_{key}']")


def exported_connection(sandbox: AirflowSandbox, conn_id: str) -> dict[str, Any]:
    """Read a connection back from the metadata database with ``airflow connections export``."""
    stdout = sandbox.run("connections", "export", "-", "--file-format", "json").stdout
    return dict(json.loads(stdout[stdout.index("{") :])[conn_id])


@pytest.fixture(scope="module")
def zadig_form(airflow_ui: tuple[AirflowSandbox, str], browser_context: Any) -> Iterator[Any]:
    """One unsaved form that the read-only tests share; each test expands the section it reads."""
    dialog = open_zadig_form(browser_context, airflow_ui[1])
    yield dialog
    dialog.page.close()


@pytest.fixture(scope="module")
def saved_connection(airflow_ui: tuple[AirflowSandbox, str], browser_context: Any) -> dict[str, Any]:
    """Fill every field of the form, save it, and return the connection as the database stores it."""
    sandbox, url = airflow_ui
    dialog = open_zadig_form(browser_context, url)
    page = dialog.page
    dialog.get_by_label("Connection ID").fill("zadig_from_ui")
    dialog.locator("input[name='host']").fill("https://zadig.example.com/zadig")
    dialog.locator("input[name='password']").fill("token-typed-in-the-ui")
    dialog.locator("input[name='port']").fill("8443")
    show_section(dialog, "Extra Fields")
    extra_input(dialog, "verify").fill("false")
    extra_input(dialog, "timeout").fill("12")
    extra_input(dialog, "max_retries").fill("5")
    extra_input(dialog, "retry_backoff").fill("2.5")
    extra_input(dialog, "retry_max_wait").fill("45")
    extra_input(dialog, "proxies").fill('{"https": "http://proxy.example.com:3128"}')
    page.screenshot(path=str(SCREENSHOT_PATH), full_page=True)

    with page.expect_response(
        lambda r: r.url.endswith("/api/v2/connections") and r.request.method == "POST"
    ) as response_info:
        dialog.get_by_role("button", name="Save").click()
    status = response_info.value.status
    page.close()

    assert status == 201, f"saving the connection returned HTTP {status}"
    return exported_connection(sandbox, "zadig_from_ui")


class TestZadigConnectionForm:
    def test_standard_fields_relabelled(self, zadig_form):
        dialog = zadig_form
        show_section(dialog, "Standard Fields")

        assert dialog.get_by_text("Zadig URL", exact=True).is_visible()
        assert dialog.get_by_text("API Token", exact=True).is_visible()
        assert dialog.get_by_text("Port", exact=True).is_visible()
        assert (
            dialog.locator("input[name='host']").get_attribute("placeholder") == "https://zadig.example.com"
        )
        assert dialog.locator("input[name='password']").get_attribute("type") == "password"

    def test_login_and_schema_hidden(self, zadig_form):
        dialog = zadig_form

        assert dialog.locator("input[name='login']").count() == 0
        assert dialog.locator("input[name='schema']").count() == 0
        assert dialog.get_by_text("Login", exact=True).count() == 0
        assert dialog.get_by_text("Schema", exact=True).count() == 0

    @pytest.mark.parametrize(("key", "label"), EXTRA_FIELD_LABELS.items())
    def test_extra_field_shown(self, zadig_form, key, label):
        dialog = zadig_form
        show_section(dialog, "Extra Fields")

        assert dialog.get_by_text(label, exact=True).is_visible()
        assert extra_input(dialog, key).is_visible()

    def test_extra_field_defaults(self, zadig_form):
        dialog = zadig_form
        show_section(dialog, "Extra Fields")

        assert extra_input(dialog, "verify").input_value() == "true"
        assert extra_input(dialog, "timeout").input_value() == "30"
        assert extra_input(dialog, "max_retries").input_value() == "3"
        assert extra_input(dialog, "retry_backoff").input_value() == "1"
        assert extra_input(dialog, "retry_max_wait").input_value() == "30"
        assert extra_input(dialog, "proxies").input_value() == ""


class TestSavedConnection:
    def test_standard_fields_stored(self, saved_connection):
        assert saved_connection["conn_type"] == "zadig"
        assert saved_connection["host"] == "https://zadig.example.com/zadig"
        assert saved_connection["password"] == "token-typed-in-the-ui"
        assert saved_connection["port"] == 8443
        assert saved_connection["login"] is None

    def test_extras_under_plain_keys(self, saved_connection):
        extra = json.loads(saved_connection["extra"])

        assert extra == {
            "verify": "false",
            "timeout": 12,
            "max_retries": 5,
            "retry_backoff": 2.5,
            "retry_max_wait": 45,
            "proxies": '{"https": "http://proxy.example.com:3128"}',
        }

    def test_hook_settings_from_saved_values(self, saved_connection):
        """The values the form stores are the types the hook accepts."""
        from airflow.sdk import Connection

        from airflow_provider_zadig.hooks._connection import ZadigConnectionSettings

        connection = Connection(conn_id="zadig_from_ui", **saved_connection)

        settings = ZadigConnectionSettings.from_connection(connection)

        assert settings.base_url == "https://zadig.example.com:8443/zadig"
        assert settings.verify is False
        assert settings.timeout == 12
        assert settings.max_retries == 5
        assert settings.retry_backoff == 2.5
        assert settings.retry_max_wait == 45
        assert settings.proxies == {"https": "http://proxy.example.com:3128"}
