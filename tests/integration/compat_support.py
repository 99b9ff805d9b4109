"""Helpers for the compatible-API tests: accounts, tokens and keys on a real server."""

from __future__ import annotations

import subprocess
import sys

import httpx

from tests.conftest import ServerProcess
from tests.helpers import PASSWORD, bearer, login, new_account, unique_username

__all__ = ["PASSWORD", "bearer", "create_admin", "create_key", "register"]


def register(server: ServerProcess) -> tuple[str, str]:
    """A new user on the server: (username, access token)."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        account = new_account(client)
    return account.username, account.token


def create_admin(server: ServerProcess) -> str:
    """An administrator made with `parley user create --admin`; returns a token."""
    username = unique_username("admin")
    subprocess.run(
        [sys.executable, "-m", "parley", "user", "create", username, "--admin", "--password-stdin"],
        input=PASSWORD + "\n",
        text=True,
        env=server.env,
        check=True,
        capture_output=True,
    )
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        answer = login(client, username)
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def create_key(server: ServerProcess, token: str, name: str = "script") -> dict[str, str]:
    answer = httpx.post(f"{server.base_url}/api/keys", json={"name": name}, headers=bearer(token))
    assert answer.status_code == 201, answer.text
    body: dict[str, str] = answer.json()
    return body
