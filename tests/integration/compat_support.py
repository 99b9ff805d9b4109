"""Helpers for the compatible-API tests: accounts, tokens and keys on a real server."""

from __future__ import annotations

import subprocess
import sys
import uuid

import httpx

from tests.conftest import ServerProcess
from tests.integration.ws import new_user

PASSWORD = "correct horse battery"


def register(server: ServerProcess) -> tuple[str, str]:
    """A new user on the server: (username, access token)."""
    user = new_user(server, PASSWORD)
    return user.username, user.token


def login(server: ServerProcess, username: str) -> str:
    answer = httpx.post(
        f"{server.base_url}/api/auth/login", json={"username": username, "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def create_admin(server: ServerProcess) -> str:
    """An administrator made with `parley user create --admin`; returns a token."""
    username = f"admin_{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [sys.executable, "-m", "parley", "user", "create", username, "--admin", "--password-stdin"],
        input=PASSWORD + "\n",
        text=True,
        env=server.env,
        check=True,
        capture_output=True,
    )
    return login(server, username)


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def create_key(server: ServerProcess, token: str, name: str = "script") -> dict[str, str]:
    answer = httpx.post(f"{server.base_url}/api/keys", json={"name": name}, headers=bearer(token))
    assert answer.status_code == 201, answer.text
    body: dict[str, str] = answer.json()
    return body
