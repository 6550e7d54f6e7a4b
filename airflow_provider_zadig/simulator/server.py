"""
:class:`ZadigSimulator`: the simulator served by uvicorn on a background thread, with its Python API.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import socket
import threading
import time
from collections.abc import Collection, Mapping
from types import TracebackType
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from airflow_provider_zadig.simulator.actions import force_task_status
from airflow_provider_zadig.simulator.app import create_app
from airflow_provider_zadig.simulator.engine import Engine
from airflow_provider_zadig.simulator.gateway import TRANSPORT_SCOPE_KEY
from airflow_provider_zadig.simulator.render import task_detail
from airflow_provider_zadig.simulator.seed import reset_store
from airflow_provider_zadig.simulator.state import Fault, RecordedRequest, SimulatorSettings, Store
from airflow_provider_zadig.simulator.users import SimulatorUser, UserSpec, build_users

_START_TIMEOUT_SECONDS = 10.0


class _TransportExposingProtocol(H11Protocol):
    """uvicorn's h11 protocol, putting the connection's transport into each request's scope."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        app = self.app

        async def app_with_transport(scope: Any, receive: Any, send: Any) -> None:
            scope[TRANSPORT_SCOPE_KEY] = transport
            await app(scope, receive, send)

        self.app = app_with_transport


class ZadigSimulator:
    """
    A local server that behaves like a Zadig v3.4 server for the workflow OpenAPI.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with ZadigSimulator(token="sim-token", step_seconds=0.05) as sim:
            requests.get(f"{sim.url}/openapi/workflows", params={"projectKey": "simple-service-demo"},
                         headers={"Authorization": "Bearer sim-token"})

    :param token: API token of the system administrator ``admin``. The seeded approval job of
        ``build-images`` names ``admin`` as its approver.
    :param step_seconds: Seconds between two status changes of a task.
    :param host: Address to listen on. Keep the default: the control plane has no authentication.
    :param port: TCP port; 0 picks a free one (see :attr:`url`).
    :param version: ``3.4.0`` or ``3.4.1`` (3.4.1 skips jobs not named in an execute call's ``inputs``).
    :param license: ``enterprise`` or ``basic`` (basic rejects approval tickets, approval jobs and
        ``concurrency_limit`` values other than -1 and 1 with code 7050).
    :param users: More tokens: token to user name (role ``member``) or to a :class:`SimulatorUser`.
    :param workflow_concurrency: System-wide cap on running tasks (Zadig's default is 2).
    :param minute_seconds: Real seconds per Zadig minute, which scales approval timeouts.
    """

    def __init__(
        self,
        token: str = "sim-token",
        step_seconds: float = 0.05,
        host: str = "127.0.0.1",
        port: int = 0,
        version: str = "3.4.0",
        license: str = "enterprise",
        users: Mapping[str, UserSpec] | None = None,
        *,
        workflow_concurrency: int = 2,
        minute_seconds: float = 60.0,
    ) -> None:
        self.token = token
        self.host = host
        self._requested_port = port
        self._initial_settings = SimulatorSettings(
            step_seconds, version, license, workflow_concurrency, minute_seconds
        )
        self._initial_settings.validate()
        self._initial_users = build_users(token, users)
        self.store = Store(
            settings=dataclasses.replace(self._initial_settings), users=dict(self._initial_users)
        )
        reset_store(self.store, self._initial_settings)
        self._engine = Engine(self.store)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> ZadigSimulator:
        """
        Start serving on a background thread and return ``self`` once the server accepts connections.

        :raises RuntimeError: when the simulator is already running or the server does not come up.
        """
        if self._server is not None:
            raise RuntimeError("the Zadig simulator is already running")
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        self._port = sock.getsockname()[1]
        app = create_app(self.store, self.reset)
        config = uvicorn.Config(
            app, log_level="warning", http=_TransportExposingProtocol, lifespan="off", server_header=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="zadig-simulator-server", daemon=True
        )
        self._thread.start()
        self._wait_until_started()
        self._engine.start()
        return self

    def _wait_until_started(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while self._server is not None and not self._server.started:
            if self._thread is not None and not self._thread.is_alive():
                self._server = None
                raise RuntimeError("the Zadig simulator's server stopped during start-up; see its log")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the Zadig simulator did not start within {_START_TIMEOUT_SECONDS} s")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop the engine and the server. Calling it again does nothing."""
        self._engine.stop()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_START_TIMEOUT_SECONDS)
        self._server = None
        self._thread = None

    def __enter__(self) -> ZadigSimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """:raises RuntimeError: before :meth:`start`."""
        if self._port is None:
            raise RuntimeError("the Zadig simulator has not been started")
        return self._port

    @property
    def url(self) -> str:
        """Base URL, such as ``http://127.0.0.1:38517``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def settings(self) -> SimulatorSettings:
        """The live settings. A changed attribute (``sim.settings.license = "basic"``) lasts until reset."""
        return self.store.settings

    # -- state -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Go back to the start-up state: seed data, constructor settings and users, no requests or faults."""
        with self.store.lock:
            reset_store(self.store, self._initial_settings)
            self.store.users = dict(self._initial_users)

    def add_user(self, token: str, user: UserSpec) -> SimulatorUser:
        """Accept ``token`` for ``user`` until reset. A plain name gets the ``member`` role."""
        resolved = user if isinstance(user, SimulatorUser) else SimulatorUser(user)
        with self.store.lock:
            self.store.users[token] = resolved
        return resolved

    def add_project(self, project_key: str) -> None:
        """Create a project, so workflows and approval tickets can name it."""
        with self.store.lock:
            self.store.projects.add(project_key)

    @property
    def tickets(self) -> list[dict[str, Any]]:
        """The approval tickets created so far, as stored."""
        with self.store.lock:
            return copy.deepcopy(self.store.tickets)

    # -- request log and faults ----------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every API request received since the last reset, oldest first (control-plane calls excluded)."""
        with self.store.lock:
            return list(self.store.requests)

    def count_requests(self, method: str, path: str) -> int:
        """Return how many requests had this method and exact path (query string not included)."""
        with self.store.lock:
            return sum(1 for r in self.store.requests if r.method == method.upper() and r.path == path)

    def clear_requests(self) -> None:
        with self.store.lock:
            self.store.requests.clear()

    def add_fault(
        self,
        method: str,
        path: str,
        status: int | None = 500,
        body: str = "",
        headers: Mapping[str, str] | None = None,
        times: int | None = 1,
        delay: float = 0.0,
        reset_connection: bool = False,
    ) -> Fault:
        """
        Make the next ``times`` requests to ``method path`` fail (``times=None``: all of them until reset).

        A fault responds with ``status``, ``body`` and ``headers`` after ``delay`` seconds. With
        ``status=None`` it only delays the real response. With ``reset_connection`` it resets the TCP
        connection instead of responding. ``method`` may be ``*``. Faults apply before the token
        check, like a reverse proxy in front of Zadig.
        """
        fault = Fault(method.upper(), path, status, body, dict(headers or {}), times, delay, reset_connection)
        with self.store.lock:
            self.store.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.store.lock:
            self.store.faults.clear()

    # -- tasks ---------------------------------------------------------------------------

    def set_task_status(self, workflow_key: str, task_id: int, status: str, *, freeze: bool = True) -> None:
        """
        Force a task's status. With ``freeze`` (default) the task then stays as set until set again,
        cancelled or retried; without it a ``waiting`` or ``running`` task carries on.

        :raises LookupError: when the task does not exist.
        """
        with self.store.lock:
            force_task_status(self.store, workflow_key, task_id, status, freeze=freeze)

    def set_job_outcome(
        self, workflow_key: str, job_name: str, status: str = "failed", error: str = ""
    ) -> None:
        """
        Set how the job ``job_name`` of ``workflow_key`` ends from now on (until reset).

        ``status`` is ``passed`` (the default behaviour), ``failed``, ``timeout`` or another job status;
        ``error`` becomes the job's ``error`` text.
        """
        with self.store.lock:
            self.store.job_outcomes[(workflow_key, job_name)] = (status, error)

    def get_task(self, workflow_key: str, task_id: int) -> dict[str, Any]:
        """
        Return the task detail exactly as ``GET /openapi/workflows/custom/task`` would.

        :raises LookupError: when the task does not exist.
        """
        with self.store.lock:
            task = self.store.find_task(workflow_key, task_id)
            if task is None:
                raise LookupError(f"task {task_id} of workflow {workflow_key} not found")
            return task_detail(task)

    def wait_for_task_status(
        self, workflow_key: str, task_id: int, status: str | Collection[str], timeout: float = 10
    ) -> dict[str, Any]:
        """
        Wait until the task has ``status`` (or one of several) and return its detail.

        :raises TimeoutError: when ``timeout`` seconds pass first; the message gives the last status.
        :raises LookupError: when the task does not exist.
        """
        expected = {status} if isinstance(status, str) else set(status)
        deadline = time.monotonic() + timeout
        while True:
            detail = self.get_task(workflow_key, task_id)
            current = detail.get("status", "")
            if current in expected:
                return detail
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"task {task_id} of workflow {workflow_key} is {current!r} after {timeout} s, "
                    f"expected {' or '.join(sorted(expected))}"
                )
            time.sleep(0.01)
