"""The MCP servers of PARLEY_TOOLS_FILE, each real: the SDK's test server over stdio and over
streamable HTTP on 127.0.0.1, one that exits at start, one that never answers, one that
cannot be reached, one that fails until it is let start, and one whose tool kills it. Each
shows its state in GET /api/tools; a failure harms no other; failed servers are retried."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess, free_port, mcp_http_server
from tests.integration.test_tools_chat import MCP_SERVER, call, of_type, tool_conversation
from tests.integration.ws import ChatSocket, ChatUser, new_admin, new_user

# Long enough for a real server to start on a busy machine (importing the SDK alone can take
# seconds), short enough to see the silent one fail.
CONNECT_TIMEOUT_S = 20
BROKEN_REASON = "exited at start on purpose"
FLAKY_REASON = "not allowed to start yet"
# Fails (saying why on stderr) until the file named by its first argument exists.
FLAKY = (
    "import os, runpy, sys\n"
    "if not os.path.exists(sys.argv[1]): sys.exit({reason!r})\n"
    "sys.argv = [sys.argv[2]]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


def stdio(server_id: str, *command: str) -> dict[str, Any]:
    return {"id": server_id, "transport": "stdio", "command": [sys.executable, *command]}


@pytest.fixture(scope="module")
def http_mcp() -> Iterator[str]:
    """tests/tools/mcp_server.py over streamable HTTP, its URL."""
    with mcp_http_server(MCP_SERVER) as url:
        yield url


@pytest.fixture(scope="module")
def servers_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tool-servers")


@pytest.fixture(scope="module")
def tools_server(servers_dir: Path, http_mcp: str) -> Iterator[ServerProcess]:
    flaky = servers_dir / "flaky.py"
    flaky.write_text(FLAKY.format(reason=FLAKY_REASON))
    entries = [
        stdio("local", str(MCP_SERVER)),
        {"id": "web", "transport": "http", "url": http_mcp},
        stdio("broken", "-c", f"import sys; sys.exit({BROKEN_REASON!r})"),
        stdio("silent", "-c", "import time; time.sleep(3600)"),
        {"id": "nowhere", "transport": "http", "url": f"http://127.0.0.1:{free_port()}/mcp"},
        stdio("flaky", str(flaky), str(servers_dir / "allowed"), str(MCP_SERVER)),
        stdio("crashy", str(MCP_SERVER)),
    ]
    tools_file = servers_dir / "tools.json"
    tools_file.write_text(json.dumps(entries))
    server = ServerProcess(
        servers_dir / "data",
        model="scripted",
        scripted_token_delay_s="0.01",
        tools_file=str(tools_file),
        tool_connect_timeout_s=str(CONNECT_TIMEOUT_S),
        # Failed servers stay failed long enough to be seen so, and come back soon.
        tool_retry_initial_s="3",
        tool_retry_max_s="3",
        tool_timeout_s="10",
        login_failures_per_address="100000",
    ).start()
    yield server
    server.stop()


Listing = dict[str, Any]


def wait_for(user: ChatUser, seen: Callable[[Listing], bool], timeout_s: float = 90) -> Listing:
    """The first GET /api/tools listing for which `seen` holds (bounded in time)."""
    deadline = time.monotonic() + timeout_s
    with user.http() as client:
        while True:
            listing: Listing = client.get("/api/tools").raise_for_status().json()
            if seen(listing):
                return listing
            if time.monotonic() > deadline:
                raise AssertionError(f"never seen; last listing: {listing}")
            time.sleep(0.05)


def server_state(listing: Listing, server_id: str) -> dict[str, Any]:
    return next(s for s in listing["servers"] if s["id"] == server_id)


def in_state(server_id: str, state: str) -> Callable[[Listing], bool]:
    return lambda listing: server_state(listing, server_id)["state"] == state


def test_each_server_shows_its_state_and_a_failure_harms_no_other(
    tools_server: ServerProcess,
) -> None:
    # An administrator: users are not shown why a server failed.
    user = new_admin(tools_server)
    listing = wait_for(
        user, lambda lst: in_state("local", "ready")(lst) and in_state("web", "ready")(lst)
    )
    assert [s["id"] for s in listing["servers"]] == [
        "local",
        "web",
        "broken",
        "silent",
        "nowhere",
        "flaky",
        "crashy",
    ]
    names = {(tool["server"], tool["name"]) for tool in listing["tools"]}
    for server_id in ("local", "web"):
        assert {(server_id, name) for name in ("add", "echo", "fail", "hang", "crash")} <= names
    assert not {server for server, _ in names} & {"broken", "silent", "nowhere"}
    add = next(t for t in listing["tools"] if t["server"] == "web" and t["name"] == "add")
    assert add["description"] == "Add two integers."
    assert add["input_schema"]["properties"].keys() == {"a", "b"}

    broken = server_state(wait_for(user, in_state("broken", "failed")), "broken")
    assert BROKEN_REASON in broken["error"]
    silent = server_state(wait_for(user, in_state("silent", "failed")), "silent")
    assert silent["error"] == "no answer in time"
    nowhere = server_state(wait_for(user, in_state("nowhere", "failed")), "nowhere")
    assert nowhere["error"]
    # Failed servers are retried: each is seen starting again, and failing again.
    wait_for(user, in_state("broken", "starting"))
    wait_for(user, in_state("broken", "failed"))
    assert all(
        server_state(wait_for(user, in_state(s, "ready")), s)["error"] is None
        for s in ("local", "web")
    )


def test_a_failing_server_is_retried_until_it_starts(
    tools_server: ServerProcess, servers_dir: Path
) -> None:
    user = new_admin(tools_server)
    flaky = server_state(wait_for(user, in_state("flaky", "failed")), "flaky")
    assert FLAKY_REASON in flaky["error"]
    (servers_dir / "allowed").touch()
    listing = wait_for(user, in_state("flaky", "ready"))
    assert server_state(listing, "flaky")["error"] is None
    assert {t["name"] for t in listing["tools"] if t["server"] == "flaky"} >= {"add", "echo"}


async def test_http_tools_run_in_a_chat(tools_server: ServerProcess) -> None:
    user = new_user(tools_server)
    wait_for(user, in_state("web", "ready"))
    conversation_id = tool_conversation(user, "web.add")
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say(call("web__add", a=20, b=22))
    frames = await socket.until("end")
    await socket.close()
    (result,) = of_type(frames, "tool_result")
    assert result["content"] == "42" and result["is_error"] is False


async def test_a_server_that_dies_in_a_call_is_an_error_and_comes_back(
    tools_server: ServerProcess,
) -> None:
    user = new_user(tools_server)
    admin = new_admin(tools_server)  # sees why it failed; made now, as it fails soon after
    wait_for(user, in_state("crashy", "ready"))
    conversation_id = tool_conversation(user, "crashy.crash", "crashy.add")
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say(call("crashy__crash"))
    frames = await socket.until("end")
    (died,) = of_type(frames, "tool_result")
    assert died["is_error"] is True and died["content"].startswith("The call failed")
    assert frames[-1]["finish_reason"] == "stop"
    # Its process is gone: failed, with its last words, then connected again (a fresh
    # process) and answering.
    dead = server_state(wait_for(admin, in_state("crashy", "failed")), "crashy")
    assert "crashing on purpose" in dead["error"]
    wait_for(user, in_state("crashy", "ready"))
    await socket.say(call("crashy__add", a=2, b=2))
    frames = await socket.until("end")
    await socket.close()
    (result,) = of_type(frames, "tool_result")
    assert result["content"] == "4" and result["is_error"] is False
    with user.http() as client:
        assert server_state(client.get("/api/tools").json(), "local")["state"] == "ready"


def test_a_bad_tools_file_stops_the_server_at_start_saying_why(tmp_path: Path) -> None:
    tools_file = tmp_path / "tools.json"
    tools_file.write_text(json.dumps([{"id": "a__b", "transport": "stdio", "command": ["x"]}]))
    server = ServerProcess(tmp_path / "data", model="scripted", tools_file=str(tools_file))
    with pytest.raises(RuntimeError, match="server exited early"):
        server.start()
    assert f"{tools_file}: server 1 ('a__b'): stdio.id" in server.log()
