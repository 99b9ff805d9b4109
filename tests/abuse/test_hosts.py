"""DNS rebinding, against real servers on 127.0.0.1: a request or socket that names another
host in its Host header (a page whose own name now points at this machine) is refused before
any route, the unauthenticated ones (/metrics, health) included; PARLEY_ALLOWED_HOSTS names
the public ones."""

from __future__ import annotations

import base64
import os

import httpx

from tests.conftest import ServerFactory, ServerProcess

REBOUND = "attacker.example"


def get(server: ServerProcess, path: str, host: str) -> httpx.Response:
    return httpx.get(f"{server.base_url}{path}", headers={"Host": host}, timeout=30)


def socket_handshake(server: ServerProcess, host: str) -> httpx.Response:
    """A WebSocket opening request with this Host, its answer (101 when accepted)."""
    headers = {
        "Host": host,
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
    }
    url = f"{server.base_url}/ws/conversations/none"
    with httpx.Client(timeout=30) as client, client.stream("GET", url, headers=headers) as answer:
        return answer


def test_another_host_is_refused_on_every_route_and_socket(
    scripted_server: ServerProcess,
) -> None:
    for path in ("/metrics", "/api/v1/health", "/api/auth/me", "/"):
        refused = get(scripted_server, path, REBOUND)
        assert refused.status_code == 400, (path, refused.text)
        assert refused.json()["detail"]["code"] == "host_not_allowed"
    openai = get(scripted_server, "/v1/models", f"{REBOUND}:80")
    assert openai.status_code == 400 and openai.json()["error"]["code"] == "host_not_allowed"
    assert socket_handshake(scripted_server, REBOUND).status_code == 403
    # This machine's names pass, with a port or without.
    port = scripted_server.port
    for host in (f"127.0.0.1:{port}", "localhost", f"[::1]:{port}", "LOCALHOST"):
        assert get(scripted_server, "/api/v1/health", host).status_code == 200, host
    assert socket_handshake(scripted_server, f"localhost:{port}").status_code == 101


def test_the_setting_names_the_public_hosts(server_factory: ServerFactory) -> None:
    server = server_factory(
        model="scripted", allowed_hosts="chat.example,other.example,127.0.0.1"
    ).start()
    assert get(server, "/api/v1/health", "chat.example").status_code == 200
    assert get(server, "/api/v1/health", "other.example:443").status_code == 200
    # It replaces the default: a name it leaves out (localhost here) is refused.
    assert get(server, "/api/v1/health", "localhost").status_code == 400
    assert get(server, "/api/v1/health", REBOUND).status_code == 400
