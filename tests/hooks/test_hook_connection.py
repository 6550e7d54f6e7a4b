"""Connection parsing: base URL, token, extras, and the errors for invalid settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest
from hook_testing import TOKEN, jwt_token

from airflow_provider_zadig.exceptions import ZadigConfigurationError
from airflow_provider_zadig.hooks._connection import (
    ZadigConnectionSettings,
    build_task_web_url,
    token_user_name,
)


@dataclass
class FakeConnection:
    host: str | None = "https://zadig.example.com"
    password: str | None = TOKEN
    schema: str | None = None
    port: int | None = None
    conn_id: str = "zadig_conf"
    extra_dejson: dict[str, Any] | None = None


def settings_for(**fields: Any) -> ZadigConnectionSettings:
    extra = fields.pop("extra", None)
    return ZadigConnectionSettings.from_connection(FakeConnection(**fields), extra=extra)


@pytest.mark.parametrize(
    ("host", "schema", "port", "expected"),
    [
        ("https://zadig.example.com/", None, None, "https://zadig.example.com"),
        ("zadig.example.com", "https", None, "https://zadig.example.com"),
        ("zadig.example.com", None, None, "https://zadig.example.com"),
        ("zadig.example.com", "http", None, "http://zadig.example.com"),
        ("https://zadig.example.com/zadig", None, 8443, "https://zadig.example.com:8443/zadig"),
        ("http://zadig.example.com:8080/", None, None, "http://zadig.example.com:8080"),
        ("http://zadig.example.com:8080/", None, 8080, "http://zadig.example.com:8080"),
        ("HTTPS://Zadig.Example.com//zadig//ci/", None, None, "https://zadig.example.com/zadig/ci"),
        ("https://zadig.example.com:443", None, None, "https://zadig.example.com"),
        ("zadig.example.com", "HTTP://", 80, "http://zadig.example.com"),
        ("  https://zadig.example.com  ", None, None, "https://zadig.example.com"),
        ("[::1]:8080", "http", None, "http://[::1]:8080"),
    ],
)
def test_base_url_variants(host: str, schema: str | None, port: int | None, expected: str) -> None:
    assert settings_for(host=host, schema=schema, port=port).base_url == expected


@pytest.mark.parametrize("path", ["/openapi/workflows", "openapi/workflows", "//openapi/workflows"])
@pytest.mark.parametrize("host", ["https://zadig.example.com/", "https://zadig.example.com/zadig/"])
def test_url_joins_with_one_slash(host: str, path: str) -> None:
    url = settings_for(host=host).url(path)
    assert url.endswith("/openapi/workflows")
    assert "//openapi" not in url
    assert url.startswith("https://")


def test_url_encodes_query_with_percent_twenty() -> None:
    url = settings_for().url("/openapi/workflows", [("projectKey", "a b"), ("viewName", "视图")])
    assert url == "https://zadig.example.com/openapi/workflows?projectKey=a%20b&viewName=%E8%A7%86%E5%9B%BE"


@pytest.mark.parametrize(
    ("fields", "setting", "fragment"),
    [
        ({"host": None}, "host", "is missing"),
        ({"host": "   "}, "host", "is missing"),
        ({"host": "https://zadig.example.com", "schema": "http"}, "schema", "is 'http' but the host starts"),
        ({"host": "zadig.example.com", "schema": "ftp"}, "schema", "must be http or https"),
        ({"host": "ftp://zadig.example.com"}, "host", "has the scheme 'ftp'"),
        ({"host": "https://zadig.example.com?x=1"}, "host", "query or fragment"),
        ({"host": "https://zadig example.com"}, "host", "contains spaces"),
        (
            {"host": "https://zadig.example.com:8080", "port": 9090},
            "port",
            "is 9090 but the host names port 8080",
        ),
        ({"port": 70000}, "port", "from 1 to 65535"),
        ({"host": "https://zadig.example.com:99999"}, "host", "invalid port"),
        ({"host": "https://zadig.example.com/openapi"}, "host", "ends with the API path /openapi"),
        ({"host": "https://zadig.example.com/zadig/api/aslan/"}, "host", "ends with the API path"),
        ({"password": None}, "password", "is missing"),
        ({"password": "   "}, "password", "is missing"),
        ({"password": "Bearer "}, "password", "is missing"),
    ],
)
def test_invalid_connection_fields(fields: dict[str, Any], setting: str, fragment: str) -> None:
    with pytest.raises(ZadigConfigurationError) as excinfo:
        settings_for(**fields)
    message = str(excinfo.value)
    assert "'zadig_conf'" in message
    assert f": {setting} " in message
    assert fragment in message


def test_userinfo_in_host_is_rejected_without_echo() -> None:
    with pytest.raises(ZadigConfigurationError, match="user name or password") as excinfo:
        settings_for(host="https://admin:hunter2@zadig.example.com")
    assert "hunter2" not in str(excinfo.value)


def test_token_with_spaces_is_rejected_without_echo() -> None:
    with pytest.raises(ZadigConfigurationError, match="contains spaces or non-ASCII") as excinfo:
        settings_for(password="canary-4411 second-part")
    assert TOKEN not in str(excinfo.value)


def test_bearer_prefix_is_removed_from_token() -> None:
    assert settings_for(password=f"Bearer {TOKEN}").token == TOKEN
    assert settings_for(password=f"  bearer   {TOKEN} ").token == TOKEN


def test_settings_repr_hides_token_and_proxies() -> None:
    settings = settings_for(extra={"proxies": {"https": "http://user:proxy-secret@proxy:3128"}})
    text = repr(settings)
    assert TOKEN not in text
    assert "proxy-secret" not in text
    assert "zadig_conf" in text


def test_request_headers_carry_bearer_token() -> None:
    headers = ZadigConnectionSettings.request_headers(settings_for(), "application/json")
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("airflow-provider-zadig/")


def test_extras_defaults() -> None:
    settings = settings_for(extra={})
    assert settings.verify is True
    assert settings.timeout == 30
    assert settings.proxies == {}
    assert settings.max_retries == 3
    assert settings.retry_backoff == 1
    assert settings.retry_max_wait == 30


def test_extras_plain_keys() -> None:
    extra = {
        "verify": "false",
        "timeout": "12.5",
        "proxies": '{"https": "http://proxy:3128"}',
        "max_retries": "5",
        "retry_backoff": 0,
        "retry_max_wait": "7",
    }
    settings = settings_for(extra=extra)
    assert settings.verify is False
    assert settings.timeout == 12.5
    assert settings.proxies == {"https": "http://proxy:3128"}
    assert settings.max_retries == 5
    assert settings.retry_backoff == 0
    assert settings.retry_max_wait == 7


def test_extras_legacy_prefix_and_plain_key_wins() -> None:
    extra = {"extra__zadig__timeout": "9", "extra__zadig__max_retries": "1", "max_retries": 2}
    settings = settings_for(extra=extra)
    assert settings.timeout == 9
    assert settings.max_retries == 2


def test_extras_empty_values_use_defaults() -> None:
    settings = settings_for(extra={"timeout": "", "verify": None, "extra__zadig__proxies": ""})
    assert settings.timeout == 30
    assert settings.verify is True
    assert settings.proxies == {}


@pytest.mark.parametrize(
    ("text", "expected"), [("true", True), ("YES", True), ("1", True), ("off", False), ("0", False)]
)
def test_extras_verify_words(text: str, expected: bool) -> None:
    assert settings_for(extra={"verify": text}).verify is expected


def test_extras_verify_ca_bundle_path(tmp_path: Any) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert settings_for(extra={"verify": str(bundle)}).verify == str(bundle)


@pytest.mark.parametrize(
    ("extra", "key", "fragment"),
    [
        ({"verify": "/no/such/ca.pem"}, "verify", "was not found on this machine"),
        ({"timeout": "abc"}, "timeout", "greater than 0, got 'abc'"),
        ({"timeout": 0}, "timeout", "greater than 0"),
        ({"timeout": True}, "timeout", "greater than 0"),
        ({"retry_backoff": -1}, "retry_backoff", "0 or more"),
        ({"retry_max_wait": "nan"}, "retry_max_wait", "0 or more"),
        ({"max_retries": 21}, "max_retries", "from 0 to 20"),
        ({"max_retries": -1}, "max_retries", "from 0 to 20"),
        ({"max_retries": 2.5}, "max_retries", "from 0 to 20"),
        ({"extra__zadig__max_retries": "many"}, "max_retries", "from 0 to 20"),
        ({"proxies": "not json"}, "proxies", "JSON object"),
        ({"proxies": ["http://proxy"]}, "proxies", "JSON object"),
    ],
)
def test_invalid_extras(extra: dict[str, Any], key: str, fragment: str) -> None:
    with pytest.raises(ZadigConfigurationError) as excinfo:
        settings_for(extra=extra)
    message = str(excinfo.value)
    assert "'zadig_conf'" in message
    assert f"extra '{key}'" in message
    assert fragment in message


def test_invalid_proxies_are_not_echoed() -> None:
    with pytest.raises(ZadigConfigurationError) as excinfo:
        settings_for(extra={"proxies": {"https": 3128, "x": "http://u:proxy-secret@p"}})
    assert "proxy-secret" not in str(excinfo.value)


def test_unknown_extras_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        settings_for(extra={"timout": 5, "timeout": 5})
    assert "timout" in caplog.text
    assert "known keys" in caplog.text


def test_extra_dejson_is_read_when_no_extra_given() -> None:
    settings = ZadigConnectionSettings.from_connection(FakeConnection(extra_dejson={"timeout": 4}))
    assert settings.timeout == 4


def test_proxy_for_url_scheme() -> None:
    settings = settings_for(extra={"proxies": {"https": "http://p1:3128", "all": "http://p2:3128"}})
    assert settings.proxy_for("https://zadig.example.com/openapi") == "http://p1:3128"
    assert settings.proxy_for("http://zadig.example.com/openapi") == "http://p2:3128"
    assert settings_for().proxy_for("https://zadig.example.com") is None


def test_task_web_url_quotes_names() -> None:
    url = build_task_web_url("https://zadig.example.com/zadig", "demo", "build deploy", 42, "构建 部署")
    assert url == (
        "https://zadig.example.com/zadig/v1/projects/detail/demo/pipelines/custom/build%20deploy/42"
        "?display_name=%E6%9E%84%E5%BB%BA%20%E9%83%A8%E7%BD%B2"
    )


def test_task_web_url_defaults_display_name_to_key() -> None:
    url = build_task_web_url("https://z", "demo", "build-images", 3)
    assert url.endswith("/custom/build-images/3?display_name=build-images")


def test_token_user_name() -> None:
    assert token_user_name(jwt_token("release-bot")) == "release-bot"
    assert token_user_name(TOKEN) is None
    assert token_user_name("a.%%%.c") is None
    assert token_user_name("a.bm90IGpzb24.c") is None
    assert settings_for(password=jwt_token("ci")).token_user == "ci"


def test_hook_reads_connection_from_airflow(make_hook: Any) -> None:
    hook = make_hook(
        host="zadig.example.com", schema="https", port=8443, extra={"extra__zadig__timeout": "3"}
    )
    assert hook.settings.base_url == "https://zadig.example.com:8443"
    assert hook.settings.timeout == 3
    assert hook.settings.conn_id == "zadig_test"


def test_invalid_connection_fails_before_any_request(make_hook: Any, requests_mock: Any) -> None:
    hook = make_hook(extra={"timeout": "soon"})
    with pytest.raises(ZadigConfigurationError, match=r"'zadig_test'.*timeout"):
        hook.get_workflow_task("build-images", 1)
    assert requests_mock.call_count == 0
