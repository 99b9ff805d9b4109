"""ASGI middleware: one `request` log line and the HTTP metrics per request, one `socket` line
and the open-socket gauge per WebSocket. It replaces uvicorn's access log.

Routes are labelled by their template (`/api/conversations/{conversation_id}`), so metrics keep
a bounded set of series; paths that match no route are `unmatched`. The query string is never
logged (it can hold secrets); nor is any header or body.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley.logs import event
from parley.telemetry.metrics import Telemetry

access_log = logging.getLogger("parley.access")

# Probes and scrapes: in the metrics, but kept out of /api/v1/stats so that a health checker
# polling every second does not drown what users do.
MONITORING_ROUTES = frozenset({"/health", "/api/v1/health", "/metrics", "/api/v1/stats"})
UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def _context(scope: Scope) -> dict[str, Any]:
    """Who and what a request was about: the user id a dependency or the socket recorded in
    the request state, and the conversation id of the path."""
    state = scope.get("state") or {}
    params = scope.get("path_params") or {}
    client = scope.get("client")
    return {
        "user_id": state.get("user_id"),
        "conversation_id": params.get("conversation_id"),
        "client": client[0] if client else None,
    }


class TelemetryMiddleware:
    def __init__(self, app: ASGIApp, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            duration = time.perf_counter() - started
            route = route_template(scope)
            method = str(scope["method"])
            self.telemetry.request(
                method, route, status, duration, in_stats=route not in MONITORING_ROUTES
            )
            event(
                access_log,
                "request",
                method=method,
                route=route,
                path=str(scope["path"]),
                status=status,
                duration_ms=round(duration * 1000, 1),
                **_context(scope),
            )

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        accepted = False
        close_code: int | None = None

        async def watch_send(message: Message) -> None:
            nonlocal accepted, close_code
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                self.telemetry.socket_opened()
            elif message["type"] == "websocket.close" and close_code is None:
                close_code = int(message.get("code", 1000))
            await send(message)

        async def watch_receive() -> Message:
            nonlocal close_code
            message = await receive()
            if message["type"] == "websocket.disconnect" and close_code is None:
                close_code = int(message.get("code", 1005))
            return message

        try:
            await self.app(scope, watch_receive, watch_send)
        finally:
            if accepted:
                self.telemetry.socket_closed()
            event(
                access_log,
                "socket",
                route=route_template(scope),
                path=str(scope["path"]),
                accepted=accepted,
                close_code=close_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                **_context(scope),
            )
