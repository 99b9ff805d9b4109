"""Helpers for the compatible-API tests: accounts, tokens and keys on a real server."""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from conftest import ServerProcess

PASSWORD = "correct horse battery"


def register(server: ServerProcess, prefix: str = "user") -> tuple[str, str]:
    """A new user on the server: (username, access token)."""
    username = f"{prefix}_{uuid.uuid4().hex[:10]}"
    created = httpx.post(
        f"{server.base_url}/api/auth/register", json={"username": username, "password": PASSWORD}
    )
    assert created.status_code == 201, created.text
    return username, login(server, username)


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
