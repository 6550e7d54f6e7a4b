"""
The asynchronous Zadig client, for triggers in the triggerer's event loop.

It sends the same requests as :class:`~airflow_provider_zadig.hooks.zadig.ZadigHook`, built by the
same code, and raises the same exceptions. It does not retry: the trigger that calls it decides how
many failures to tolerate and how long to wait between polls.

All clients on one event loop share one ``aiohttp.ClientSession``, and pass their TLS, timeout and
proxy settings with each request, so that thousands of deferred tasks do not open thousands of
connection pools. Call :func:`close_shared_sessions` at shutdown or at the end of a test.

The session does not read the environment itself (``trust_env=False``), because aiohttp would then
also read ``~/.netrc``. When that file has an entry for the Zadig host, or a ``default`` entry,
aiohttp 3.14 raises ``ValueError`` for every request that carries an ``Authorization`` header. The
client looks up ``HTTP_PROXY``, ``HTTPS_PROXY`` and ``NO_PROXY`` itself instead, as the sync hook's
``requests`` session does.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
import urllib.request
import weakref
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from airflow_provider_zadig.exceptions import ZadigAPIError
from airflow_provider_zadig.hooks import _endpoints as endpoints
from airflow_provider_zadig.hooks._connection import ZadigConnectionSettings
from airflow_provider_zadig.hooks._endpoints import RequestSpec
from airflow_provider_zadig.hooks._errors import connection_error, is_finished_task_cancel
from airflow_provider_zadig.hooks._response import parse_model, read_response
from airflow_provider_zadig.hooks._retry import LoggerLike
from airflow_provider_zadig.models import WorkflowTask, WorkflowTaskList

__all__ = ["ZadigAsyncClient", "close_shared_sessions"]

log = logging.getLogger(__name__)

_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession] = (
    weakref.WeakKeyDictionary()
)


def _shared_session() -> aiohttp.ClientSession:
    """Return the session of the running event loop, creating it on first use."""
    loop = asyncio.get_running_loop()
    session = _sessions.get(loop)
    if session is None or session.closed:
        # No cookie jar: the session serves clients of many connections, which must not share cookies.
        session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(), trust_env=False)
        _sessions[loop] = session
    return session


async def close_shared_sessions() -> None:
    """Close the shared session of the running event loop, and forget those of closed loops."""
    session = _sessions.pop(asyncio.get_running_loop(), None)
    if session is not None and not session.closed:
        await session.close()
    for loop in [loop for loop in _sessions if loop.is_closed()]:
        _sessions.pop(loop, None)


@lru_cache(maxsize=16)
def _ca_bundle_context(path: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=path)


def _ssl_option(verify: bool | str) -> ssl.SSLContext | bool:
    if isinstance(verify, str):
        return _ca_bundle_context(verify)
    return verify


def _environment_proxy(url: str) -> str | None:
    """
    Return the proxy that ``HTTP_PROXY`` or ``HTTPS_PROXY`` sets for ``url``, or ``None``.

    The result is ``None`` also when ``NO_PROXY`` names the host.
    """
    parts = urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme)


class ZadigAsyncClient:
    """
    Read and cancel Zadig workflow tasks from async code.

    :param settings: the connection settings. Use :meth:`from_conn_id` to load them from Airflow.
    :param logger: where to write the per-request debug lines. Defaults to this module's logger.
    """

    def __init__(self, settings: ZadigConnectionSettings, logger: LoggerLike | None = None) -> None:
        self.settings = settings
        self.log: LoggerLike = logger or log

    @classmethod
    async def from_conn_id(
        cls, conn_id: str = "zadig_default", logger: LoggerLike | None = None
    ) -> ZadigAsyncClient:
        """
        Load a ``zadig`` connection without blocking the event loop, and return a client for it.

        :param conn_id: the Airflow connection id. Defaults to ``zadig_default``.
        :raises ZadigConfigurationError: the connection has no host or password, or an invalid extra.
        """
        from airflow.providers.common.compat.connection import (
            get_async_connection,
            get_async_extra_dejson,
        )

        connection = await get_async_connection(conn_id)
        extra = await get_async_extra_dejson(connection)
        return cls(ZadigConnectionSettings.from_connection(connection, extra=extra), logger)

    async def send(self, spec: RequestSpec) -> Any:
        """
        Send one request, once, and return the response JSON (``None`` for an empty body).

        :raises ZadigConnectionError: no HTTP response (refused, reset, DNS, TLS or timeout).
        :raises ZadigAPIError: an error response, classified as by the sync hook.
        """
        settings = self.settings
        url = settings.url(spec.path, spec.params)
        body = spec.body_bytes()
        headers = settings.request_headers("application/json; charset=utf-8" if body is not None else None)
        started = time.monotonic()
        try:
            async with _shared_session().request(
                spec.method,
                URL(url, encoded=True),
                data=body,
                headers=headers,
                ssl=_ssl_option(settings.verify),
                proxy=settings.proxy_for(url) or _environment_proxy(url),
                timeout=aiohttp.ClientTimeout(total=settings.timeout),
                allow_redirects=False,
            ) as response:
                content = await response.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            self.log.debug("%s %s -> %s", spec.method, url, type(exc).__name__)
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise connection_error(spec.method, spec.path, settings.base_url, reason) from exc
        self.log.debug("%s %s -> %d (%.2f s)", spec.method, url, response.status, time.monotonic() - started)
        return read_response(spec, settings, response.status, response.headers, content)

    async def get_workflow_task(self, workflow_key: str, task_id: int) -> WorkflowTask:
        """
        Return a workflow task with its stages, jobs and approvals. Credential values are redacted.

        :param workflow_key: the workflow key.
        :param task_id: the task id.
        :raises ZadigNotFoundError: the task does not exist.
        :raises ZadigError: the request failed.
        """
        spec = endpoints.get_workflow_task(workflow_key, task_id)
        return parse_model(WorkflowTask, await self.send(spec), spec)

    async def list_workflow_tasks(
        self, workflow_key: str, project_key: str, page_num: int = 1, page_size: int = 50
    ) -> WorkflowTaskList:
        """
        Return one page of a workflow's tasks, newest first, and the total count.

        :param page_num: the page number, from 1. Defaults to 1.
        :param page_size: tasks per page. Defaults to 50.
        :raises ZadigError: the request failed.
        """
        spec = endpoints.list_workflow_tasks(workflow_key, project_key, page_num, page_size)
        return parse_model(WorkflowTaskList, await self.send(spec), spec)

    async def cancel_workflow_task(self, workflow_key: str, task_id: int) -> bool:
        """
        Cancel a workflow task, with the same result as :meth:`ZadigHook.cancel_workflow_task`.

        :return: ``True`` when cancelled, ``False`` when the task had already passed.
        :raises ZadigNotFoundError: the task does not exist.
        :raises ZadigError: the request failed.
        """
        try:
            await self.send(endpoints.cancel_workflow_task(workflow_key, task_id))
        except ZadigAPIError as exc:
            if not is_finished_task_cancel(exc):
                raise
            self.log.info("Task %s of workflow %s already finished, nothing to cancel", task_id, workflow_key)
            return False
        self.log.info("Cancelled task %s of workflow %s", task_id, workflow_key)
        return True
