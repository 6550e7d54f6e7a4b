"""
The gateway in front of the simulated aslan: request log, fault injection and token check.

It is plain ASGI middleware, because a connection reset needs the raw transport, which the
simulator's own server puts into the scope under :data:`TRANSPORT_SCOPE_KEY`.

Every request outside the control plane is recorded first, then a matching fault applies. Last comes
the token check that Zadig's gateway makes for paths under ``/api`` and ``/openapi``. A ``?token=``
query parameter wins over the ``Authorization`` header, whose value must split on spaces into exactly
two parts, and the scheme word is not checked. A missing or unknown token gets HTTP 401 with an
empty body.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airflow_provider_zadig.simulator.state import Fault, RecordedRequest, Store
from airflow_provider_zadig.simulator.users import SimulatorUser

log = logging.getLogger(__name__)

TRANSPORT_SCOPE_KEY = "zadig_simulator.transport"
CONTROL_PREFIX = "/_simulator"
_AUTHENTICATED_PREFIXES = ("/api/", "/openapi/")
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class GatewayMiddleware:
    """Wrap the API app with the request log, faults and authentication."""

    def __init__(self, app: ASGIApp, store: Store) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            await self._control(scope, receive, send)
            return
        body = await _read_body(receive)
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        fault = self._record_and_take_fault(scope["method"], path, query, headers, body)
        if fault is not None and await self._apply_fault(fault, scope, receive, send):
            return
        user = self._authenticate(path, query, headers)
        if user is None:
            await _send_empty(send, 401)
            return
        scope.setdefault("state", {})["user"] = user
        await self.app(scope, _replay(body, receive), send)

    async def _control(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if client is not None and client[0] not in _LOOPBACK_HOSTS:
            # The control plane has no authentication, so it only serves this machine.
            log.warning("Zadig simulator: rejected control-plane request from %s", client[0])
            await _send_empty(send, 403)
            return
        await self.app(scope, receive, send)

    def _record_and_take_fault(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Fault | None:
        text = body.decode("utf-8", errors="replace")
        recorded = RecordedRequest(method, path, query, headers, text, _parse_json(text))
        with self.store.lock:
            self.store.requests.append(recorded)
            fault = next((f for f in self.store.faults if f.matches(method, path)), None)
            if fault is None:
                return None
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.store.faults.remove(fault)
            return fault

    async def _apply_fault(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> bool:
        """Apply ``fault`` and return ``True`` when the fault, not the API, sent the response."""
        if fault.delay > 0:
            await asyncio.sleep(fault.delay)
        if fault.reset_connection:
            await _reset_connection(scope, receive)
            return True
        if fault.status is None:
            return False
        await _send_fault_response(send, fault)
        return True

    def _authenticate(
        self, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> SimulatorUser | None:
        if not path.startswith(_AUTHENTICATED_PREFIXES):
            # Paths outside the API need no token, and the router returns 404 for them.
            return SimulatorUser("anonymous", role="viewer")
        token = query.get("token")
        if not token:
            parts = headers.get("authorization", "").split(" ")
            token = parts[1] if len(parts) == 2 else None
        with self.store.lock:
            return self.store.users.get(token) if token else None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """Return a ``receive`` that hands the already-read body to the app once, then defers to the server."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _parse_json(text: str) -> Any:
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


async def _send_empty(send: Send, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


async def _send_fault_response(send: Send, fault: Fault) -> None:
    body = fault.body.encode("utf-8")
    headers = {key.lower(): value for key, value in fault.headers.items()}
    if "content-type" not in headers and body:
        looks_json = fault.body.lstrip().startswith(("{", "["))
        headers["content-type"] = (
            "application/json; charset=utf-8" if looks_json else "text/plain; charset=utf-8"
        )
    headers["content-length"] = str(len(body))
    raw_headers = [(key.encode("latin-1"), value.encode("latin-1")) for key, value in headers.items()]
    status = fault.status if fault.status is not None else 500
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


async def _reset_connection(scope: Scope, receive: Receive) -> None:
    transport = scope.get(TRANSPORT_SCOPE_KEY)
    if transport is None:
        raise RuntimeError("connection resets need the simulator's own server (ZadigSimulator or the CLI)")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    # Wait for the server to notice the disconnect, so it does not log a request without a response.
    while (await receive())["type"] != "http.disconnect":
        pass
