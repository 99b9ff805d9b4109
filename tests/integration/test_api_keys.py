"""API keys: created once, listed without the secret, accepted as bearer credentials on REST
and in the WebSocket `auth` frame, dead at once when revoked, alive after logout."""

from __future__ import annotations

import json

import httpx
import pytest
import websockets

from tests.conftest import ServerProcess
from tests.integration.compat_support import bearer, create_key, register


def me(server: ServerProcess, credential: str) -> httpx.Response:
    return httpx.get(f"{server.base_url}/api/auth/me", headers=bearer(credential))


def test_create_list_and_use_a_key(scripted_server: ServerProcess) -> None:
    username, token = register(scripted_server)
    created = create_key(scripted_server, token, "nightly")
    assert created["key"].startswith("pk-")
    assert created["hint"].startswith(created["key"][:6])
    assert created["name"] == "nightly"

    listed = httpx.get(f"{scripted_server.base_url}/api/keys", headers=bearer(token))
    assert listed.status_code == 200
    [row] = listed.json()
    assert row["id"] == created["id"]
    assert "key" not in row and created["key"] not in listed.text

    answer = me(scripted_server, created["key"])
    assert answer.status_code == 200
    assert answer.json()["username"] == username


def test_a_revoked_key_stops_working_at_once(scripted_server: ServerProcess) -> None:
    _, token = register(scripted_server)
    created = create_key(scripted_server, token)
    assert me(scripted_server, created["key"]).status_code == 200
    deleted = httpx.delete(
        f"{scripted_server.base_url}/api/keys/{created['id']}", headers=bearer(token)
    )
    assert deleted.status_code == 204
    refused = me(scripted_server, created["key"])
    assert refused.status_code == 401
    assert refused.json()["detail"]["code"] == "not_authenticated"
    again = httpx.delete(
        f"{scripted_server.base_url}/api/keys/{created['id']}", headers=bearer(token)
    )
    assert again.status_code == 404


def test_keys_survive_logout(scripted_server: ServerProcess) -> None:
    _, token = register(scripted_server)
    created = create_key(scripted_server, token)
    out = httpx.post(f"{scripted_server.base_url}/api/auth/logout", headers=bearer(token))
    assert out.status_code == 204
    assert me(scripted_server, token).status_code == 401
    assert me(scripted_server, created["key"]).status_code == 200


def test_another_users_key_is_not_found(scripted_server: ServerProcess) -> None:
    _, owner = register(scripted_server)
    _, stranger = register(scripted_server)
    created = create_key(scripted_server, owner)
    answer = httpx.delete(
        f"{scripted_server.base_url}/api/keys/{created['id']}", headers=bearer(stranger)
    )
    assert answer.status_code == 404
    listed = httpx.get(f"{scripted_server.base_url}/api/keys", headers=bearer(stranger))
    assert listed.json() == []
    assert me(scripted_server, created["key"]).status_code == 200


@pytest.mark.parametrize("credential", ["pk-not-a-real-key", "pk-", "nonsense"])
def test_bad_keys_are_refused(scripted_server: ServerProcess, credential: str) -> None:
    assert me(scripted_server, credential).status_code == 401


def test_key_routes_need_a_login(scripted_server: ServerProcess) -> None:
    base = scripted_server.base_url
    assert httpx.get(f"{base}/api/keys").status_code == 401
    assert httpx.post(f"{base}/api/keys", json={"name": "x"}).status_code == 401
    _, token = register(scripted_server)
    for bad in ({}, {"name": ""}, {"name": "x" * 101}):
        answer = httpx.post(f"{base}/api/keys", json=bad, headers=bearer(token))
        assert answer.status_code == 422


async def test_websocket_accepts_a_key_and_refuses_a_revoked_one(
    scripted_server: ServerProcess,
) -> None:
    _, token = register(scripted_server)
    key = create_key(scripted_server, token)
    async with httpx.AsyncClient(base_url=scripted_server.base_url) as client:
        created = await client.post("/api/conversations", json={}, headers=bearer(key["key"]))
    conversation = created.json()
    url = f"{scripted_server.ws_url}/ws/conversations/{conversation['id']}"
    async with websockets.connect(url) as socket:
        await socket.send(json.dumps({"type": "auth", "token": key["key"]}))
        ready = json.loads(await socket.recv())
        assert ready["type"] == "ready"
    async with httpx.AsyncClient(base_url=scripted_server.base_url) as client:
        await client.delete(f"/api/keys/{key['id']}", headers=bearer(token))
    async with websockets.connect(url) as socket:
        await socket.send(json.dumps({"type": "auth", "token": key["key"]}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await socket.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
