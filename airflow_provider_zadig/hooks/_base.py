"""The connection handling of :class:`~airflow_provider_zadig.hooks.zadig.ZadigHook`."""

from __future__ import annotations

from functools import cached_property
from typing import Any, TypeVar

import requests
from airflow.providers.common.compat.sdk import BaseHook

from airflow_provider_zadig.exceptions import ZadigError
from airflow_provider_zadig.hooks import _endpoints as endpoints
from airflow_provider_zadig.hooks._connection import ZadigConnectionSettings, build_task_web_url
from airflow_provider_zadig.hooks._endpoints import RequestSpec
from airflow_provider_zadig.hooks._form import connection_form_widgets, ui_field_behaviour
from airflow_provider_zadig.hooks._http import SyncTransport

#: A project key that no Zadig project has. Listing its workflows needs a valid token and returns
#: an empty list, so it distinguishes a bad token (401) from a reachable server.
CONNECTION_TEST_PROJECT = "airflow-provider-zadig-connection-test"

HookType = TypeVar("HookType", bound="ZadigHookBase")


class ZadigHookBase(BaseHook):
    """
    Load a ``zadig`` connection and send requests through it.

    :param zadig_conn_id: the Airflow connection id. Defaults to ``zadig_default``.
    """

    conn_name_attr = "zadig_conn_id"
    default_conn_name = "zadig_default"
    conn_type = "zadig"
    hook_name = "Zadig"

    def __init__(self, zadig_conn_id: str = default_conn_name, logger_name: str | None = None) -> None:
        super().__init__(logger_name=logger_name)
        self.zadig_conn_id = zadig_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Return the hidden fields, labels and placeholders of the connection form (Airflow < 3.2)."""
        return ui_field_behaviour()

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Return the extra fields of the connection form (Airflow < 3.2), or ``{}`` without WTForms."""
        return connection_form_widgets()

    @cached_property
    def settings(self) -> ZadigConnectionSettings:
        """
        The validated connection settings, loaded on first use.

        :raises ZadigConfigurationError: the connection has no host or password, or an invalid extra.
        """
        connection = self.get_connection(self.zadig_conn_id)
        return ZadigConnectionSettings.from_connection(connection)

    @cached_property
    def _transport(self) -> SyncTransport:
        return SyncTransport(self.settings, self.log)

    def get_conn(self) -> requests.Session:
        """Return the ``requests`` session that the hook sends requests with."""
        return self._transport.session

    def close(self) -> None:
        """Close the HTTP session. The hook opens a new one if it is used again."""
        if "_transport" in self.__dict__:
            self._transport.close()

    def __enter__(self: HookType) -> HookType:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, spec: RequestSpec) -> Any:
        """
        Send one API request with the retries that its kind allows and return the response JSON.

        :raises ZadigError: see :class:`~airflow_provider_zadig.hooks._http.SyncTransport`.
        """
        return self._transport.request(spec)

    def test_connection(self) -> tuple[bool, str]:
        """
        Check the URL and the API token with one authenticated read, without retries.

        :return: ``(True, message)`` when Zadig accepted the token, else ``(False, the reason)``.
        """
        try:
            data = self._transport.send_once(endpoints.list_workflows(CONNECTION_TEST_PROJECT))
        except ZadigError as exc:
            return False, str(exc)
        if not isinstance(data, dict) or "workflows" not in data:
            return False, (
                f"{self.settings.base_url} responded, but not as the Zadig API does: check the host and "
                "path prefix of the connection."
            )
        user = self.settings.token_user
        owner = f" of user {user!r}" if user else ""
        return True, f"Connected to Zadig at {self.settings.base_url}: the API token{owner} is valid."

    def get_task_web_url(
        self, project_key: str, workflow_key: str, task_id: int, display_name: str | None = None
    ) -> str:
        """
        Return the address of a workflow task's page in the Zadig web UI.

        :param project_key: the project key.
        :param workflow_key: the workflow key.
        :param task_id: the workflow task id.
        :param display_name: the workflow's display name, shown on the page. Defaults to the key.
        :raises ZadigConfigurationError: the connection is invalid.
        """
        return build_task_web_url(
            self.settings.base_url,
            endpoints.require_text("project_key", project_key),
            endpoints.require_text("workflow_key", workflow_key),
            endpoints.require_task_id(task_id),
            display_name,
        )
