"""What administrators control and what stale credentials can no longer do: closed
registration, disabled users (REST and CLI), expiring API keys that cannot manage keys, and
sockets that close (4401) when the credential they opened with stops working."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import ServerFactory, ServerProcess
from tests.helpers import PASSWORD, bearer, error_code, login, register, unique_username
from tests.integration.ws import ChatSocket, ChatUser, new_admin, new_user, refusal_code


async def closed_code(socket: ChatSocket, timeout_s: float = 15) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await socket.next(timeout_s=timeout_s)
    return closed.value.rcvd.code if closed.value.rcvd else None


def user_id(user: ChatUser) -> str:
    with user.http() as client:
        return str(client.get("/api/auth/me").json()["id"])


def patch_user(admin: ChatUser, target_id: str, **changes: object) -> httpx.Response:
    with admin.http() as client:
        return client.patch(f"/api/admin/users/{target_id}", json=changes)


def new_key(user: ChatUser, **fields: object) -> dict[str, str]:
    with user.http() as client:
        response = client.post("/api/keys", json={"name": "script", **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


def me(server: ServerProcess, credential: str) -> httpx.Response:
    return httpx.get(f"{server.base_url}/api/auth/me", headers=bearer(credential))


def run_cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parley", "user", *args],
        env=server.env,
        text=True,
        capture_output=True,
        timeout=120,
    )


# ---------- registration ----------


def test_closed_registration_is_403_and_the_cli_still_creates_users(
    server_factory: ServerFactory,
) -> None:
    server = server_factory(model="scripted", open_registration="false").start()
    with httpx.Client(base_url=server.base_url) as client:
        refused = register(client, unique_username())
        assert refused.status_code == 403
        assert error_code(refused) == "registration_closed"
    admin = new_admin(server)  # `parley user create` works whatever the setting
    assert me(server, admin.token).status_code == 200


# ---------- administrators and users ----------


def test_admin_lists_users_without_secrets(scripted_server: ServerProcess) -> None:
    admin = new_admin(scripted_server)
    user = new_user(scripted_server)
    with admin.http() as client:
        response = client.get("/api/admin/users")
    assert response.status_code == 200
    rows = {row["username"]: row for row in response.json()}
    assert rows[user.username]["is_admin"] is False
    assert rows[user.username]["disabled"] is False
    assert rows[admin.username]["is_admin"] is True
    assert "password_hash" not in response.text and "token_version" not in response.text


def test_admin_routes_are_for_administrators_only(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    with user.http() as client:
        listed = client.get("/api/admin/users")
        patched = client.patch(f"/api/admin/users/{user_id(user)}", json={"is_admin": True})
    assert listed.status_code == 403 and error_code(listed) == "admin_required"
    assert patched.status_code == 403 and error_code(patched) == "admin_required"


def test_patching_an_unknown_user_is_404_and_a_bad_body_422(scripted_server: ServerProcess) -> None:
    admin = new_admin(scripted_server)
    missing = patch_user(admin, "no-such-user", disabled=True)
    assert missing.status_code == 404 and error_code(missing) == "user_not_found"
    assert patch_user(admin, user_id(admin), disabled="maybe").status_code == 422
    assert patch_user(admin, user_id(admin), token_version=0).status_code == 422


async def test_disabling_a_user_stops_tokens_keys_login_and_sockets_at_once(
    scripted_server: ServerProcess,
) -> None:
    admin = new_admin(scripted_server)
    user = new_user(scripted_server)
    target = user_id(user)
    key = new_key(user)["key"]
    conversation_id = user.new_conversation()
    token_socket, _ = await ChatSocket.open(user, conversation_id)
    key_socket, _ = await ChatSocket.open(user, conversation_id, token=key)

    response = patch_user(admin, target, disabled=True)
    assert response.status_code == 200
    assert response.json()["disabled"] is True
    assert await closed_code(token_socket) == 4401
    assert await closed_code(key_socket) == 4401
    assert me(scripted_server, user.token).status_code == 401
    assert me(scripted_server, key).status_code == 401
    assert await refusal_code(user, conversation_id, token=key) == 1008
    with httpx.Client(base_url=scripted_server.base_url) as client:
        refused = login(client, user.username)
        assert refused.status_code == 403 and error_code(refused) == "account_disabled"
        # The wrong password learns nothing more than for anyone else.
        wrong = login(client, user.username, "not the password")
        assert wrong.status_code == 401 and error_code(wrong) == "invalid_credentials"

    # Enabled again: a fresh login works, the token from before stays revoked; the key works.
    assert patch_user(admin, target, disabled=False).json()["disabled"] is False
    assert me(scripted_server, user.token).status_code == 401
    assert me(scripted_server, key).status_code == 200
    with httpx.Client(base_url=scripted_server.base_url) as client:
        assert login(client, user.username).status_code == 200


def test_the_last_enabled_administrator_cannot_be_disabled_or_demoted(
    server_factory: ServerFactory,
) -> None:
    server = server_factory(model="scripted").start()
    admin = new_admin(server)
    for change in ({"disabled": True}, {"is_admin": False}):
        refused = patch_user(admin, user_id(admin), **change)
        assert refused.status_code == 409 and error_code(refused) == "last_admin"
    # With a second administrator, the first may step down.
    other = new_user(server)
    assert patch_user(admin, user_id(other), is_admin=True).json()["is_admin"] is True
    assert patch_user(admin, user_id(admin), is_admin=False).json()["is_admin"] is False
    with other.http() as client:
        assert client.get("/api/admin/users").status_code == 200


async def test_the_cli_lists_and_disables_users_and_their_sockets_close(
    server_factory: ServerFactory,
) -> None:
    server = server_factory(model="scripted", credential_check_interval_s="0.5").start()
    user = new_user(server)
    socket, _ = await ChatSocket.open(user, user.new_conversation())

    listed = run_cli(server, "list")
    assert listed.returncode == 0, listed.stderr
    assert user.username in listed.stdout

    disabled = run_cli(server, "update", user.username, "--disabled")
    assert disabled.returncode == 0, disabled.stderr
    assert "disabled" in disabled.stdout
    # Another process changed the database: the server finds out at the next check.
    assert await closed_code(socket, timeout_s=10) == 4401
    assert me(server, user.token).status_code == 401

    assert run_cli(server, "update", user.username, "--no-disabled", "--admin").returncode == 0
    with httpx.Client(base_url=server.base_url) as client:
        token = login(client, user.username).json()["access_token"]
    assert me(server, token).json()["is_admin"] is True
    missing = run_cli(server, "update", "nobody-by-that-name", "--disabled")
    assert missing.returncode == 1 and "no user" in missing.stderr


def test_the_cli_refuses_to_disable_the_last_administrator(server_factory: ServerFactory) -> None:
    server = server_factory(model="scripted")  # the CLI needs no running server
    admin_name = unique_username("admin")
    command = ["create", admin_name, "--admin", "--password-stdin"]
    created = subprocess.run(
        [sys.executable, "-m", "parley", "user", *command],
        input=f"{PASSWORD}\n",
        env=server.env,
        text=True,
        capture_output=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr
    refused = run_cli(server, "update", admin_name, "--disabled")
    assert refused.returncode == 1 and "administrator" in refused.stderr


# ---------- API keys ----------


def test_an_api_key_cannot_manage_keys(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    key = new_key(user)
    headers = bearer(key["key"])
    with httpx.Client(base_url=scripted_server.base_url, headers=headers) as client:
        answers = [
            client.post("/api/keys", json={"name": "more"}),
            client.get("/api/keys"),
            client.delete(f"/api/keys/{key['id']}"),
        ]
        # The key still does everything else.
        assert client.get("/api/auth/me").status_code == 200
    for answer in answers:
        assert answer.status_code == 403, answer.text
        assert error_code(answer) == "api_key_not_allowed"
    assert me(scripted_server, key["key"]).status_code == 200


def test_an_administrators_api_key_cannot_administer(scripted_server: ServerProcess) -> None:
    """A leaked script key of an administrator mints no administrator, loads no model."""
    admin = new_admin(scripted_server)
    target = new_user(scripted_server)
    key = new_key(admin)
    with httpx.Client(base_url=scripted_server.base_url, headers=bearer(key["key"])) as client:
        answers = [
            client.patch(f"/api/admin/users/{user_id(target)}", json={"is_admin": True}),
            client.get("/api/admin/users"),
            client.post("/api/models/scripted/unload"),
            client.post("/api/v1/model/load", json={}),
        ]
        assert client.get("/api/auth/me").json()["is_admin"] is True
    for answer in answers:
        assert answer.status_code == 403, answer.text
        assert error_code(answer) == "api_key_not_allowed"
    with target.http() as client:
        assert client.get("/api/auth/me").json()["is_admin"] is False
    # The administrator's login token still does it.
    assert patch_user(admin, user_id(target), is_admin=True).status_code == 200


def test_a_key_with_an_expiry_in_the_past_or_without_a_zone_is_422(
    scripted_server: ServerProcess,
) -> None:
    user = new_user(scripted_server)
    with user.http() as client:
        past = client.post("/api/keys", json={"name": "old", "expires_at": "2020-01-01T00:00:00Z"})
        naive = client.post("/api/keys", json={"name": "tz", "expires_at": "2099-01-01T00:00:00"})
    assert past.status_code == 422
    assert naive.status_code == 422


async def test_an_expiring_key_stops_at_its_expiry_and_so_does_its_socket(
    scripted_server: ServerProcess,
) -> None:
    user = new_user(scripted_server)
    expires_at = datetime.now(UTC) + timedelta(seconds=3)
    key = new_key(user, expires_at=expires_at.isoformat())
    assert abs(datetime.fromisoformat(key["expires_at"]) - expires_at) < timedelta(seconds=1)
    with user.http() as client:
        [listed] = client.get("/api/keys").json()
    assert listed["expires_at"] == key["expires_at"]
    assert me(scripted_server, key["key"]).status_code == 200
    socket, ready = await ChatSocket.open(user, user.new_conversation(), token=key["key"])
    assert ready["type"] == "ready"
    started = time.monotonic()
    assert await closed_code(socket) == 4401
    assert time.monotonic() - started < 10
    assert me(scripted_server, key["key"]).status_code == 401


async def test_deleting_a_key_closes_the_sockets_it_opened_and_no_others(
    scripted_server: ServerProcess,
) -> None:
    user = new_user(scripted_server)
    key = new_key(user)
    conversation_id = user.new_conversation()
    key_socket, _ = await ChatSocket.open(user, conversation_id, token=key["key"])
    token_socket, _ = await ChatSocket.open(user, conversation_id)
    with user.http() as client:
        assert client.delete(f"/api/keys/{key['id']}").status_code == 204
    assert await closed_code(key_socket) == 4401
    await token_socket.send({"type": "ping"})
    assert await token_socket.next() == {"type": "pong"}
    await token_socket.close()


# ---------- tokens ----------


async def test_a_token_socket_closes_when_the_token_expires(
    scripted_server: ServerProcess,
) -> None:
    user = new_user(scripted_server)
    secret = (scripted_server.data_dir / "secret_key").read_text().strip()
    now = datetime.now(UTC)
    short = jwt.encode(
        {"sub": user_id(user), "iat": now, "exp": now + timedelta(seconds=3), "ver": 0},
        secret,
        algorithm="HS256",
    )
    socket, ready = await ChatSocket.open(user, user.new_conversation(), token=short)
    assert ready["type"] == "ready"
    await socket.send({"type": "ping"})
    assert await socket.next() == {"type": "pong"}
    started = time.monotonic()
    assert await closed_code(socket) == 4401
    assert time.monotonic() - started < 10
