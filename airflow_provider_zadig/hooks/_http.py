"""The ``requests`` transport of the sync Zadig hook, with its retry rules."""

from __future__ import annotations

import time
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError

from airflow_provider_zadig.exceptions import (
    ZadigAmbiguousRequestError,
    ZadigAPIError,
    ZadigConnectionError,
    ZadigError,
    ZadigNotFoundError,
    ZadigRateLimitError,
)
from airflow_provider_zadig.hooks import _retry
from airflow_provider_zadig.hooks._connection import ZadigConnectionSettings
from airflow_provider_zadig.hooks._endpoints import RequestSpec, RetryMode
from airflow_provider_zadig.hooks._errors import connection_error, shorten
from airflow_provider_zadig.hooks._response import read_response


class _BearerAuth(requests.auth.AuthBase):
    """
    Set ``Authorization: Bearer <token>``.

    Passing an auth object also stops ``requests`` from replacing the header with credentials
    from a ``~/.netrc`` file.
    """

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(token=***)"


class SyncTransport:
    """
    Send :class:`RequestSpec` requests with one ``requests.Session``, retrying what is safe to retry.

    Idempotent requests are retried after a connection error and HTTP 429, 502, 503 and 504. A
    creating request is retried only when Zadig surely did not receive it: a refused connection, a
    connect timeout or HTTP 429. Its other transient failures, such as a read timeout or a 502 from
    a gateway, raise :class:`ZadigAmbiguousRequestError`, so that the caller can check the server
    before anything is sent again. Any other error response is raised as it is.
    """

    def __init__(self, settings: ZadigConnectionSettings, logger: _retry.LoggerLike) -> None:
        self.settings = settings
        self.log = logger
        self._session: requests.Session | None = None
        self._retry_settings = _retry.RetrySettings(
            settings.max_retries, settings.retry_backoff, settings.retry_max_wait
        )

    @property
    def session(self) -> requests.Session:
        """The HTTP session, created on first use."""
        if self._session is None:
            self._session = requests.Session()
        return self._session

    def close(self) -> None:
        """Close the HTTP session and its pooled connections."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def request(self, spec: RequestSpec) -> Any:
        """
        Send ``spec`` with retries and return the response JSON (``None`` for an empty body).

        :raises ZadigAmbiguousRequestError: a creating request failed after it may have reached Zadig.
        :raises ZadigError: any other failure, after the retries allowed for it.
        """
        attempts = 0

        def send() -> Any:
            nonlocal attempts
            attempts += 1
            try:
                return self.send_once(spec)
            except ZadigNotFoundError:
                if not (spec.missing_ok_on_retry and attempts > 1):
                    raise
                self.log.info(
                    "%s: not found on attempt %d, so an earlier attempt succeeded", spec.description, attempts
                )
                return None

        may_retry = _retry.is_transient if spec.retry is RetryMode.IDEMPOTENT else _never_received
        try:
            return _retry.run_with_retries(
                send,
                settings=self._retry_settings,
                may_retry=may_retry,
                description=spec.description,
                logger=self.log,
            )
        except ZadigError as exc:
            if spec.retry is RetryMode.CREATE and not _never_received(exc) and _retry.is_transient(exc):
                raise _ambiguous(spec, exc) from exc
            raise

    def send_once(self, spec: RequestSpec) -> Any:
        """Send ``spec`` once and return the response JSON, or raise the matching ``ZadigError``."""
        settings = self.settings
        body = spec.body_bytes()
        url = settings.url(spec.path, spec.params)
        started = time.monotonic()
        try:
            response = self.session.request(
                spec.method,
                url,
                data=body,
                headers=_headers(settings, body is not None),
                auth=_BearerAuth(settings.token),
                timeout=settings.timeout,
                verify=settings.verify,
                proxies=settings.proxies or None,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            self.log.debug("%s %s -> %s", spec.method, url, type(exc).__name__)
            reason = f"{type(exc).__name__}: {exc}"
            raise connection_error(spec.method, spec.path, settings.base_url, reason) from exc
        self.log.debug(
            "%s %s -> %d (%.2f s)", spec.method, url, response.status_code, time.monotonic() - started
        )
        return read_response(spec, settings, response.status_code, response.headers, response.content)


def _headers(settings: ZadigConnectionSettings, has_body: bool) -> dict[str, str]:
    headers = settings.request_headers("application/json; charset=utf-8" if has_body else None)
    # _BearerAuth sets the token, so that ~/.netrc cannot override it.
    headers.pop("Authorization")
    return headers


def _never_received(exc: ZadigError) -> bool:
    """Return whether a failure proves that the request never reached Zadig, so sending it again is safe."""
    if isinstance(exc, ZadigRateLimitError):
        return True
    if not isinstance(exc, ZadigConnectionError):
        return False
    cause = exc.__cause__
    if isinstance(cause, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(cause, requests.exceptions.ConnectionError) and cause.args:
        # urllib3 2.x wraps a refused connection and a DNS failure in MaxRetryError(reason=
        # NewConnectionError), and a connect timeout in MaxRetryError(reason=ConnectTimeoutError).
        # NewConnectionError subclasses ConnectTimeoutError, so one check covers all three.
        reason = getattr(cause.args[0], "reason", None)
        return isinstance(reason, ConnectTimeoutError)
    return False


def _ambiguous(spec: RequestSpec, exc: ZadigError) -> ZadigAmbiguousRequestError:
    status = f"HTTP {exc.status_code}" if isinstance(exc, ZadigAPIError) else "no response"
    message = (
        f"{spec.description} failed with {status} after it may have reached Zadig, so whether it took "
        f"effect is unknown. It was not sent again blindly. Cause: {shorten(str(exc), 400)}"
    )
    return ZadigAmbiguousRequestError(message, method=spec.method, path=spec.path)
