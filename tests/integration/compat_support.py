"""Helpers for the compatible-API tests: accounts, tokens and keys on a real server."""

from __future__ import annotations

import httpx
import openai
from openai.types.chat import ChatCompletionToolParam

from tests.conftest import ServerProcess
from tests.helpers import PASSWORD, bearer, new_account
from tests.integration.ws import new_admin

__all__ = [
    "PASSWORD",
    "TIME",
    "WEATHER",
    "bearer",
    "create_admin",
    "create_key",
    "register",
    "sdk_as_new_user",
]

# Two functions for the tool tests; the scripted engine calls them from `[[call ...]]` markers.
WEATHER: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city now.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
TIME: ChatCompletionToolParam = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}


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


def sdk_as_new_user(server: ServerProcess) -> openai.OpenAI:
    """The openai SDK on the server's /v1 with a new user's API key (`.api_key` holds it)."""
    _, token = register(server)
    key = create_key(server, token)["key"]
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key, max_retries=0)
