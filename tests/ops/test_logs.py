"""The server's own log: JSON lines, one per request, socket and run, and no secrets in it."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from tests.conftest import ServerFactory, ServerProcess
from tests.helpers import PASSWORD, new_account
from tests.integration.ws import ChatSocket, ChatUser
from tests.ops.helpers import chat_once

LogLine = dict[str, Any]


def log_lines(server: ServerProcess) -> list[LogLine]:
    """Every complete JSON line of the server's log (the startup banner on stdout is not one;
    the last piece may be a line still being written)."""
    lines = []
    for raw in server.log().split("\n")[:-1]:
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


def wait_for(server: ServerProcess, **fields: object) -> list[LogLine]:
    deadline = time.monotonic() + 10
    while True:
        found = [
            line for line in log_lines(server) if all(line.get(k) == v for k, v in fields.items())
        ]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def new_chat_user(server: ServerProcess, password: str = PASSWORD) -> tuple[ChatUser, str]:
    """A fresh user and their id."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        account = new_account(client, password=password)
    return ChatUser(server, account.username, account.token), account.id


async def test_one_line_per_request_socket_and_run(ops_server: ServerProcess) -> None:
    user, me = new_chat_user(ops_server)
    frames = await chat_once(user, "a message for the log")
    end = frames[-1]
    run_id = next(f["run_id"] for f in frames if f["type"] == "start")

    [run] = wait_for(ops_server, msg="run", run_id=run_id)
    assert run["logger"] == "parley.runs"
    assert run["level"] == "info"
    assert run["user_id"] == me
    assert run["status"] == "complete"
    assert run["finish_reason"] == "stop"
    assert run["completion_tokens"] == end["usage"]["completion_tokens"]
    assert run["prompt_tokens"] == end["usage"]["prompt_tokens"]
    assert run["ttft_ms"] > 0 and run["duration_ms"] >= run["ttft_ms"]
    conversation_id = run["conversation_id"]

    [socket] = wait_for(ops_server, msg="socket", conversation_id=conversation_id)
    assert socket["user_id"] == me
    assert socket["route"] == "/ws/conversations/{conversation_id}"
    assert socket["accepted"] is True
    assert socket["close_code"] in (1000, 1005)

    with user.http() as client:
        client.get(f"/api/conversations/{conversation_id}").raise_for_status()
    [request] = wait_for(ops_server, msg="request", method="GET", conversation_id=conversation_id)
    assert request["logger"] == "parley.access"
    assert request["route"] == "/api/conversations/{conversation_id}"
    assert request["path"] == f"/api/conversations/{conversation_id}"
    assert request["status"] == 200
    assert request["user_id"] == me
    assert request["duration_ms"] >= 0
    # Uvicorn's own access log is replaced, not doubled.
    assert not [line for line in log_lines(ops_server) if line["logger"] == "uvicorn.access"]


async def test_no_password_token_query_or_text_in_the_log(ops_server: ServerProcess) -> None:
    await _assert_no_secrets_logged(ops_server)


async def test_not_even_at_debug_level(server_factory: ServerFactory) -> None:
    server = server_factory(model="scripted", log_level="debug", log_json="true").start()
    await _assert_no_secrets_logged(server)
    assert any(line["level"] == "debug" for line in log_lines(server))


async def _assert_no_secrets_logged(ops_server: ServerProcess) -> None:
    password = "pw-never-logged-71"
    user, _ = new_chat_user(ops_server, password)
    message = "secret-sauce-message-text"
    frames = await chat_once(user, message)
    answer = "".join(f["content"] for f in frames if f["type"] in ("chunk", "thinking"))
    assert message in answer  # the scripted engine echoes it
    httpx.get(f"{ops_server.base_url}/api/v1/health?api_key=query-secret-93", timeout=10)
    # A socket whose URL carries a query string: uvicorn would log it; we must not.
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, f"{conversation_id}?token=ws-query-secret-55")
    await socket.close()
    assert wait_for(ops_server, msg="socket", conversation_id=conversation_id)

    log = ops_server.log()
    for secret in (password, user.token, message, answer, "query-secret-93", "ws-query-secret-55"):
        assert secret not in log, f"{secret!r} was logged"
    assert "api_key" not in log
