"""Helpers for the compatible-API tests: accounts, tokens and keys on a real server."""

from __future__ import annotations

import httpx

from tests.conftest import ServerProcess
from tests.helpers import PASSWORD, bearer, new_account
from tests.integration.ws import new_admin

__all__ = ["PASSWORD", "bearer", "create_admin", "create_key", "register"]


def register(server: ServerProcess) -> tuple[str, str]:
    """A new user on the server: (username, access token)."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        account = new_account(client)
    return account.username, account.token


def create_admin(server: ServerProcess) -> str:
    """An administrator made with `parley user create --admin`; returns a token."""
    return new_admin(server).token


def create_key(server: ServerProcess, token: str, name: str = "script") -> dict[str, str]:
    answer = httpx.post(f"{server.base_url}/api/keys", json={"name": name}, headers=bearer(token))
    assert answer.status_code == 201, answer.text
    body: dict[str, str] = answer.json()
    return body
