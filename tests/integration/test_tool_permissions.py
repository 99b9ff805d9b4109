"""Who may use which tool server, against a real server and real MCP servers: a server's
`allow` list keeps its tools from everyone else (listing, picking, sending), and why a server
failed (its stderr, which may hold secrets) is shown to administrators only."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.helpers import PASSWORD, error_code, login, register, unique_username
from tests.integration.test_tool_servers import in_state, server_state, stdio, wait_for
from tests.integration.test_tools_chat import MCP_SERVER, call, of_type, tool_conversation
from tests.integration.ws import ChatSocket, ChatUser, new_admin, new_user

SECRET_STDERR = "token=hunter2-do-not-show"
OWNER = unique_username("owner")


@pytest.fixture(scope="module")
def tools_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("tool-permissions")
    entries: list[dict[str, Any]] = [
        stdio("shared", str(MCP_SERVER)),
        {**stdio("private", str(MCP_SERVER)), "allow": [OWNER]},
        stdio("leaky", "-c", f"import sys; sys.exit({SECRET_STDERR!r})"),
    ]
    tools_file = folder / "tools.json"
    tools_file.write_text(json.dumps(entries))
    server = ServerProcess(
        folder / "data",
        model="scripted",
        scripted_token_delay_s="0.01",
        tools_file=str(tools_file),
        tool_connect_timeout_s="20",
        tool_retry_initial_s="30",
        tool_retry_max_s="30",
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def owner(tools_server: ServerProcess) -> ChatUser:
    """The one user the `private` server's allow list names."""
    with httpx.Client(base_url=tools_server.base_url, timeout=30) as client:
        assert register(client, OWNER).status_code == 201
        token = login(client, OWNER, PASSWORD).json()["access_token"]
    return ChatUser(tools_server, OWNER, token)


def ready(listing: dict[str, Any]) -> bool:
    return all(
        server["state"] == "ready" for server in listing["servers"] if server["id"] != "leaky"
    )


def test_why_a_server_failed_is_for_administrators_only(tools_server: ServerProcess) -> None:
    user = new_user(tools_server)
    seen = server_state(wait_for(user, in_state("leaky", "failed")), "leaky")
    assert seen["error"] is None
    admin = new_admin(tools_server)
    listing = wait_for(admin, in_state("leaky", "failed"))
    assert SECRET_STDERR in server_state(listing, "leaky")["error"]
    # Not to a user in any other place either: the listing holds no trace of it.
    with user.http() as client:
        assert SECRET_STDERR not in client.get("/api/tools").text


def test_a_server_with_an_allow_list_is_listed_and_picked_by_its_users_only(
    tools_server: ServerProcess, owner: ChatUser
) -> None:
    other = new_user(tools_server)
    owned = wait_for(
        owner, lambda listing: in_state("private", "ready")(listing) and ready(listing)
    )
    assert {s["id"] for s in owned["servers"]} == {"shared", "private", "leaky"}
    assert {t["server"] for t in owned["tools"]} == {"shared", "private"}

    listing = wait_for(other, ready)
    assert {s["id"] for s in listing["servers"]} == {"shared", "leaky"}
    assert {t["server"] for t in listing["tools"]} == {"shared"}
    # An administrator is not on the list either.
    admin_listing = wait_for(new_admin(tools_server), ready)
    assert "private" not in {s["id"] for s in admin_listing["servers"]}

    conversation_id = other.new_conversation()
    with other.http() as client:
        picked = client.patch(
            f"/api/conversations/{conversation_id}", json={"tools": ["private.add"]}
        )
    assert picked.status_code == 422 and error_code(picked) == "unknown_tool", picked.text
    tool_conversation(owner, "private.add")


async def test_a_send_with_a_tool_its_user_may_not_use_is_refused(
    tools_server: ServerProcess,
) -> None:
    other = new_user(tools_server)
    wait_for(other, ready)
    conversation_id = tool_conversation(other, "shared.add")
    # As if picked before the allow list named others (or brought in by an import).
    with sqlite3.connect(Path(tools_server.data_dir) / "parley.db") as db:
        db.execute(
            "UPDATE conversations SET tools = ? WHERE id = ?",
            (json.dumps(["shared.add", "private.add"]), conversation_id),
        )
    socket, _ = await ChatSocket.open(other, conversation_id)
    await socket.say(call("private__add", a=1, b=2))
    (refused,) = await socket.until("error", "start")
    assert refused["type"] == "error", refused
    assert "private.add" in refused["message"] and "may not use" in refused["message"]
    await socket.close()
    with other.http() as client:
        answer = client.post(
            "/api/v1/chat", json={"conversation_id": conversation_id, "message": "hi"}
        )
    assert answer.status_code == 403 and error_code(answer) == "tool_not_allowed", answer.text


async def test_its_users_run_its_tools(tools_server: ServerProcess, owner: ChatUser) -> None:
    wait_for(owner, in_state("private", "ready"))
    conversation_id = tool_conversation(owner, "private.add")
    socket, _ = await ChatSocket.open(owner, conversation_id)
    await socket.say(call("private__add", a=20, b=22))
    frames = await socket.until("end")
    await socket.close()
    (result,) = of_type(frames, "tool_result")
    assert result["content"] == "42" and result["is_error"] is False
