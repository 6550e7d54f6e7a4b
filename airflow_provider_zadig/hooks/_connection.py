"""
Settings of a ``zadig`` Airflow connection, parsed once and shared by the sync hook and the async client.

This module imports neither ``requests`` nor ``aiohttp``, so that both clients build the same URLs
and headers from the same code.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import SplitResult, quote, urlencode, urlsplit

from airflow_provider_zadig import __version__
from airflow_provider_zadig.hooks._extras import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_RETRY_BACKOFF,
    DEFAULT_RETRY_MAX_WAIT,
    DEFAULT_TIMEOUT,
    invalid_setting,
    parse_extras,
)

USER_AGENT = f"airflow-provider-zadig/{__version__}"

_DEFAULT_PORTS = {"http": 80, "https": 443}
# A host that already ends with an API root would double it, because the hook appends full paths.
_API_ROOTS = ("/openapi", "/api/aslan", "/api")


class ConnectionLike(Protocol):
    """The attributes of an Airflow ``Connection`` that the Zadig clients read."""

    conn_id: str
    host: str | None
    schema: str | None
    port: int | None
    password: str | None


@dataclass(frozen=True)
class ZadigConnectionSettings:
    """
    Validated settings of one ``zadig`` connection.

    :param conn_id: the Airflow connection id, named in every error message.
    :param base_url: scheme, host, port and path prefix, without a trailing slash.
    :param token: the Zadig API token, sent only as ``Authorization: Bearer <token>``. Hidden from ``repr``.
    :param verify: ``True``/``False`` to verify TLS certificates or not, or the path of a CA bundle file.
    :param timeout: seconds to wait for each HTTP response.
    :param proxies: proxy URL per URL scheme, as ``requests`` takes them. Hidden from ``repr``.
    :param max_retries: retries of a retryable request after a transient failure.
    :param retry_backoff: seconds before the first retry. Each later retry waits twice as long.
    :param retry_max_wait: the maximum seconds between two attempts.
    """

    conn_id: str
    base_url: str
    token: str = field(repr=False)
    verify: bool | str = True
    timeout: float = DEFAULT_TIMEOUT
    proxies: dict[str, str] = field(default_factory=dict, repr=False)
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_backoff: float = DEFAULT_RETRY_BACKOFF
    retry_max_wait: float = DEFAULT_RETRY_MAX_WAIT

    @classmethod
    def from_connection(
        cls, conn: ConnectionLike, extra: Mapping[str, Any] | None = None
    ) -> ZadigConnectionSettings:
        """
        Parse and validate an Airflow connection, before any request is sent.

        :param conn: the Airflow connection.
        :param extra: the connection's extra as a dict. Async callers pass the value of
            ``get_async_extra_dejson``, because ``conn.extra_dejson`` blocks on the event loop.
            Defaults to ``conn.extra_dejson``.
        :raises ZadigConfigurationError: a setting is missing or invalid. The message names the
            connection id, the setting and the fix.
        """
        conn_id = conn.conn_id
        if extra is None:
            extra = getattr(conn, "extra_dejson", None) or {}
        extras = parse_extras(conn_id, extra)
        return cls(
            conn_id=conn_id,
            base_url=build_base_url(conn_id, conn.host, conn.schema, conn.port),
            token=_parse_token(conn_id, conn.password),
            verify=extras.verify,
            timeout=extras.timeout,
            proxies=extras.proxies,
            max_retries=extras.max_retries,
            retry_backoff=extras.retry_backoff,
            retry_max_wait=extras.retry_max_wait,
        )

    def url(self, path: str, params: Sequence[tuple[str, str]] | None = None) -> str:
        """
        Return the full URL of an API path, with its query string encoded.

        The path may start with a slash or not: exactly one slash joins it to the base URL.
        Spaces in the query are encoded as ``%20``.
        """
        url = f"{self.base_url}/{path.lstrip('/')}"
        if params:
            url += "?" + urlencode(list(params), quote_via=quote)
        return url

    def request_headers(self, content_type: str | None = None) -> dict[str, str]:
        """Return the headers of every request: the bearer token, ``Accept`` and the user agent."""
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    @property
    def token_user(self) -> str | None:
        """The ``name`` claim of the API token: what Zadig records as ``task_creator``."""
        return token_user_name(self.token)

    def proxy_for(self, url: str) -> str | None:
        """Return the proxy for ``url`` from ``proxies`` (by scheme, then ``all``), or ``None``."""
        scheme = urlsplit(url).scheme
        return self.proxies.get(scheme) or self.proxies.get("all")


def build_base_url(conn_id: str, host: str | None, schema: str | None, port: int | str | None) -> str:
    """
    Return ``scheme://host[:port][/prefix]`` from the connection's host, schema and port fields.

    The host may carry the scheme, a port and a path prefix (for Zadig behind a reverse proxy).
    The scheme may also come from ``schema``, and defaults to ``https``. A default port is left out.

    :raises ZadigConfigurationError: the host is missing or malformed, or the fields disagree.
    """
    text = (host or "").strip()
    if not text:
        raise invalid_setting(
            conn_id, "host", "is missing", "Set it to the Zadig URL, such as https://zadig.example.com"
        )
    if any(char.isspace() for char in text):
        raise invalid_setting(conn_id, "host", f"contains spaces: {text!r}", "Remove them")
    parts = _split_host(conn_id, text, _scheme_from_schema(conn_id, schema))
    if parts.username is not None or parts.password is not None:
        raise invalid_setting(
            conn_id, "host", "contains a user name or password", "Put the API token in the password field"
        )
    if parts.query or parts.fragment:
        raise invalid_setting(
            conn_id, "host", f"contains a query or fragment: {text!r}", "Remove the part from ? or #"
        )
    if not parts.hostname:
        raise invalid_setting(
            conn_id, "host", f"has no host name: {text!r}", "Use a URL such as https://zadig.example.com"
        )
    scheme = parts.scheme
    netloc = _netloc(parts.hostname, scheme, _merge_ports(conn_id, parts, port))
    return f"{scheme}://{netloc}{_path_prefix(conn_id, parts.path)}"


def build_task_web_url(
    base_url: str, project_key: str, workflow_key: str, task_id: int, display_name: str | None = None
) -> str:
    """
    Return the Zadig web page of a workflow task.

    :param base_url: ``ZadigConnectionSettings.base_url``.
    :param display_name: the workflow's display name, shown by the page. Defaults to the workflow key.
    """
    project = quote(project_key, safe="")
    workflow = quote(workflow_key, safe="")
    name = quote(display_name or workflow_key, safe="")
    page = f"/v1/projects/detail/{project}/pipelines/custom/{workflow}/{int(task_id)}"
    return f"{base_url}{page}?display_name={name}"


def token_user_name(token: str) -> str | None:
    """
    Return the ``name`` claim of a Zadig API token (a JWT), decoded without verifying the signature.

    Zadig records this name as ``task_creator``. Returns ``None`` when the token is not a JWT.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except ValueError:
        return None
    name = claims.get("name") if isinstance(claims, dict) else None
    return name if isinstance(name, str) and name else None


def _scheme_from_schema(conn_id: str, schema: str | None) -> str | None:
    value = (schema or "").strip().lower().removesuffix("://")
    if not value:
        return None
    if value not in _DEFAULT_PORTS:
        raise invalid_setting(
            conn_id,
            "schema",
            f"must be http or https, got {schema!r}",
            "Leave it empty, or put a path prefix in the host, such as https://example.com/zadig",
        )
    return value


def _split_host(conn_id: str, text: str, schema_scheme: str | None) -> SplitResult:
    if "://" not in text:
        parts = urlsplit(f"//{text}")
        return parts._replace(scheme=schema_scheme or "https")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise invalid_setting(conn_id, "host", f"has the scheme {parts.scheme!r}", "Use http:// or https://")
    if schema_scheme and schema_scheme != scheme:
        raise invalid_setting(
            conn_id,
            "schema",
            f"is {schema_scheme!r} but the host starts with {scheme}://",
            "Leave the schema empty or make the two agree",
        )
    return parts._replace(scheme=scheme)


def _merge_ports(conn_id: str, parts: SplitResult, port: int | str | None) -> int | None:
    try:
        host_port = parts.port
    except ValueError:
        raise invalid_setting(conn_id, "host", "has an invalid port", "Use a port from 1 to 65535") from None
    field_port = _parse_port(conn_id, port)
    if host_port is not None and field_port is not None and host_port != field_port:
        raise invalid_setting(
            conn_id,
            "port",
            f"is {field_port} but the host names port {host_port}",
            "Set the port in one place only",
        )
    return field_port if field_port is not None else host_port


def _parse_port(conn_id: str, port: int | str | None) -> int | None:
    if port is None or port == "":
        return None
    try:
        number = int(port)
    except (TypeError, ValueError):
        number = 0
    if isinstance(port, bool) or not 0 < number < 65536:
        raise invalid_setting(
            conn_id, "port", f"must be a number from 1 to 65535, got {port!r}", "Fix or clear it"
        )
    return number


def _netloc(hostname: str, scheme: str, port: int | None) -> str:
    name = f"[{hostname}]" if ":" in hostname else hostname
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return name
    return f"{name}:{port}"


def _path_prefix(conn_id: str, path: str) -> str:
    segments = [segment for segment in path.split("/") if segment]
    prefix = "/" + "/".join(segments) if segments else ""
    for root in _API_ROOTS:
        if prefix == root or prefix.endswith(root):
            raise invalid_setting(
                conn_id,
                "host",
                f"ends with the API path {root}",
                "Remove it: the hook adds /openapi/... and /api/aslan/... itself",
            )
    return prefix


def _parse_token(conn_id: str, password: str | None) -> str:
    token = (password or "").strip()
    # Users often paste the whole header value. Zadig rejects "Bearer Bearer <token>" as malformed.
    if token.lower() == "bearer" or token[:7].lower() == "bearer ":
        token = token[6:].strip()
    if not token:
        raise invalid_setting(
            conn_id,
            "password",
            "is missing",
            "Set it to a Zadig API token (Zadig: account settings > API Token)",
        )
    if not token.isascii() or any(char.isspace() or not char.isprintable() for char in token):
        raise invalid_setting(
            conn_id,
            "password",
            "contains spaces or non-ASCII characters, so it is not a Zadig API token",
            "Paste the API token only",
        )
    return token
