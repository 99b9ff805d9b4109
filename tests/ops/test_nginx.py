"""Parley behind a real nginx running deploy/nginx/parley.conf (TLS, WebSocket, SSE, timeouts)."""

from __future__ import annotations

import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import ServerFactory, ServerProcess
from tests.integration.ws import ChatSocket, new_user, text_of
from tests.ops.conftest import NginxFactory
from tests.ops.helpers import chat_once, insecure_tls, need

SSE_ROUTE = "/api/v1/chat/stream"


@pytest.fixture(autouse=True)
def _nginx_installed() -> None:
    need("nginx")
    need("openssl")


async def test_chat_over_the_websocket_through_nginx(
    scripted_server: ServerProcess, nginx_factory: NginxFactory
) -> None:
    proxy = nginx_factory(scripted_server, 60)
    user = new_user(scripted_server)
    frames = await chat_once(user, "through the proxy", ws_url=proxy.ws_url, ssl=insecure_tls())
    assert frames[-1]["type"] == "end"
    assert text_of(frames, "chunk") == "You said: through the proxy"
    # Plain HTTP is sent to HTTPS; REST works through the proxy too.
    redirect = httpx.get(f"http://127.0.0.1:{proxy.http_port}/api/auth/me")
    assert redirect.status_code == 301
    assert redirect.headers["location"].startswith("https://")
    me = httpx.get(f"{proxy.base_url}/api/auth/me", headers=user.headers, verify=False)
    assert me.json()["username"] == user.username
    # Parley's browser protections pass through once each; nginx adds only HSTS.
    page = httpx.get(f"{proxy.base_url}/", verify=False)
    for name in (
        "content-security-policy",
        "x-frame-options",
        "x-content-type-options",
        "referrer-policy",
        "strict-transport-security",
    ):
        assert len(page.headers.get_list(name)) == 1, name
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    # /metrics is for Prometheus on the inside; 127.0.0.1 is inside.
    assert httpx.get(f"{proxy.base_url}/metrics", verify=False).status_code == 200


async def test_first_token_slower_than_the_proxy_timeout_survives_on_heartbeats(
    server_factory: ServerFactory, nginx_factory: NginxFactory
) -> None:
    server = server_factory(
        model="scripted", scripted_first_token_delay_s="5", status_interval_s="1"
    ).start()
    proxy = nginx_factory(server, 2)
    user = new_user(server)
    started = time.monotonic()
    frames = await chat_once(user, "take your time", ws_url=proxy.ws_url, ssl=insecure_tls())
    assert time.monotonic() - started > 5
    assert frames[-1]["type"] == "end", frames
    assert frames[-1]["finish_reason"] == "stop"
    assert text_of(frames, "chunk") == "You said: take your time"
    assert sum(1 for frame in frames if frame["type"] == "status") >= 4


async def test_the_proxy_timeout_is_real_for_a_silent_socket(
    scripted_server: ServerProcess, nginx_factory: NginxFactory
) -> None:
    """The control for the heartbeat test: 2 s of silence and nginx cuts the socket."""
    proxy = nginx_factory(scripted_server, 2)
    user = new_user(scripted_server)
    socket, ready = await ChatSocket.open(
        user, user.new_conversation(), ws_url=proxy.ws_url, ssl=insecure_tls()
    )
    assert ready["type"] == "ready"
    started = time.monotonic()
    with pytest.raises(ConnectionClosed):
        await socket.next(timeout_s=10)
    assert 1.5 < time.monotonic() - started < 6


def test_sse_stream_is_not_buffered_by_nginx(
    server_factory: ServerFactory, nginx_factory: NginxFactory
) -> None:
    server = server_factory(
        model="scripted",
        scripted_token_delay_s="0.15",
        scripted_answer="one two three four five six seven eight nine ten: {user}",
    ).start()
    paths = httpx.get(f"{server.base_url}/openapi.json").json()["paths"]
    if SSE_ROUTE not in paths:
        pytest.skip(f"{SSE_ROUTE} is not in this build yet (the compatible API brings it)")
    proxy = nginx_factory(server, 60)
    user = new_user(server)
    arrivals: list[float] = []
    events: list[str] = []
    started = time.monotonic()
    with httpx.stream(
        "POST",
        f"{proxy.base_url}{SSE_ROUTE}",
        json={"message": "stream me", "history": []},
        headers=user.headers,
        verify=False,
        timeout=60,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data:"):
                arrivals.append(time.monotonic() - started)
                events.append(line)
    assert len(events) > 10
    # Buffered, every event would arrive at once at the end; streamed, they spread out over
    # the ~3 s the answer takes.
    assert arrivals[-1] - arrivals[0] > 1.0, arrivals
