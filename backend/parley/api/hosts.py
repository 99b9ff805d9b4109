"""PARLEY_ALLOWED_HOSTS: every request and socket must name this server in its Host header.

A page on another site can point its own DNS name at 127.0.0.1 (DNS rebinding) and then read
what this server answers without credentials (/metrics, stats, health) as same-origin; its
requests carry that other name as Host, so they are refused here, before any route.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from parley.api.errors import is_openai_path, openai_error_body

# Always allowed unless the setting names the hosts: this machine's own names.
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
# Listening on every interface: the server cannot know its names, so no default list.
WILDCARD_ADDRESSES = ("0.0.0.0", "::", "")
ANY_HOST = "*"
CODE = "host_not_allowed"


def host_name(host_header: str) -> str:
    """The name of a Host header without its port: "[::1]:8000" -> "::1"."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def allowed_hosts(
    configured: Iterable[str], listen_host: str, origins: Iterable[str]
) -> frozenset[str] | None:
    """The host names a request may name; None: any. `configured` (PARLEY_ALLOWED_HOSTS)
    replaces the default: the listen address, this machine's names and the hosts of the
    allowed origins (the public URL a browser uses)."""
    names = [host_name(name) for name in configured]
    if names:
        return None if ANY_HOST in names else frozenset(names)
    if listen_host in WILDCARD_ADDRESSES:
        return None
    origin_hosts = (urlsplit(origin).hostname or "" for origin in origins)
    return frozenset(name for name in (listen_host, *LOCAL_HOSTS, *origin_hosts) if name)


class AllowedHostsMiddleware:
    """400 `host_not_allowed` for a request whose Host is not allowed; a socket's handshake
    is refused (403) before it is accepted."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "")
        if host_name(host) in self.allowed:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": CODE})
            return
        message = f"This server does not answer to the host {host[:100]!r} (PARLEY_ALLOWED_HOSTS)."
        body = (
            openai_error_body(400, CODE, message)
            if is_openai_path(scope["path"])
            else {"detail": {"code": CODE, "message": message}}
        )
        await JSONResponse(body, status_code=400)(scope, receive, send)
