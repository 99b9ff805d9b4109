"""Browser protections on every HTTP response the app sends: the SPA, its assets, the API.

The access token lives in localStorage, so an injected script or a page framing the app is
worth guarding against in depth: a Content-Security-Policy that allows only the app's own
scripts, styles and connections (the socket included), no framing, no MIME sniffing, and no
Referer sent to other sites. A header a route set itself is left as it is.
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# `connect-src 'self'` covers ws:/wss: to the same host in CSP Level 3 browsers; the explicit
# socket origins are for the ones before it.
APP_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'{sockets}; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc pages are an inline script and style over Swagger UI and ReDoc
# from a CDN; they show no user content and hold no token, so they get this looser policy.
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = (
    f"default-src 'self'; script-src 'self' 'unsafe-inline' {DOCS_CDN}; "
    f"style-src 'self' 'unsafe-inline' {DOCS_CDN} https://fonts.googleapis.com; "
    f"img-src 'self' data: {DOCS_CDN} https://fastapi.tiangolo.com; "
    "font-src 'self' data: https://fonts.gstatic.com; worker-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
FIXED_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
# A Host header is echoed into the policy only when it is a plain host[:port].
PLAIN_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")


def content_security_policy(path: str, host: str | None, docs_paths: frozenset[str]) -> str:
    if path in docs_paths:
        return DOCS_POLICY
    sockets = f" ws://{host} wss://{host}" if host and PLAIN_HOST.match(host) else ""
    return APP_POLICY.format(sockets=sockets)


class SecurityHeadersMiddleware:
    """Adds the headers above to every HTTP response (WebSocket handshakes are not pages)."""

    def __init__(self, app: ASGIApp, docs_paths: frozenset[str]) -> None:
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = content_security_policy(
            scope["path"], Headers(scope=scope).get("host"), self.docs_paths
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", policy)
                for name, value in FIXED_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
