"""Tool calls in chat runs over the real WebSocket: the scripted engine calls the tools of a
real MCP server (tests/tools/mcp_server.py over stdio) when the user writes
`[[call <server>__<tool> {JSON}]]`, and answers `tool said: <result>` once the result is in."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.integration.ws import ChatSocket, ChatUser, Frame, new_user, seqs, text_of

MCP_SERVER = Path(__file__).resolve().parents[1] / "tools" / "mcp_server.py"
CALL_TIMEOUT_S = 2
MAX_STEPS = 3
THINKING = "Let me think about that."


def wait_ready(server: ServerProcess, user: ChatUser, timeout_s: float = 60) -> dict[str, Any]:
    """GET /api/tools once every server has left `starting` (bounded)."""
    deadline = time.monotonic() + timeout_s
    with user.http() as client:
        while True:
            listing: dict[str, Any] = client.get("/api/tools").raise_for_status().json()
            if all(s["state"] != "starting" for s in listing["servers"]):
                return listing
            if time.monotonic() > deadline:
                raise AssertionError(f"tool servers still starting: {listing}\n{server.log()}")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def tools_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("tools-chat")
    tools_file = data_dir / "tools.json"
    tools_file.write_text(
        json.dumps(
            [{"id": "demo", "transport": "stdio", "command": [sys.executable, str(MCP_SERVER)]}]
        )
    )
    server = ServerProcess(
        data_dir,
        model="scripted",
        scripted_token_delay_s="0.02",
        status_interval_s="0.5",
        flush_interval_s="0.2",
        tools_file=str(tools_file),
        tool_timeout_s=str(CALL_TIMEOUT_S),
        tool_max_steps=str(MAX_STEPS),
        login_failures_per_address="100000",
    ).start()
    listing = wait_ready(server, new_user(server))
    assert listing["servers"] == [{"id": "demo", "state": "ready", "error": None}], server.log()
    yield server
    server.stop()


def tool_conversation(user: ChatUser, *tools: str) -> str:
    conversation_id = user.new_conversation()
    with user.http() as client:
        response = client.patch(f"/api/conversations/{conversation_id}", json={"tools": tools})
    assert response.status_code == 200, response.text
    assert response.json()["tools"] == list(tools)
    return conversation_id


def call(function: str, **arguments: Any) -> str:
    return f"[[call {function} {json.dumps(arguments)}]]"


def of_type(frames: list[Frame], kind: str) -> list[Frame]:
    return [frame for frame in frames if frame["type"] == kind]


def without_status(frames: list[Frame]) -> list[Frame]:
    return [frame for frame in frames if frame["type"] != "status"]


async def test_a_call_and_its_result_stream_with_seqs_and_are_saved(
    tools_server: ServerProcess,
) -> None:
    user = new_user(tools_server)
    conversation_id = tool_conversation(user, "demo.add", "demo.echo")
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say(f"Adding. {call('demo__add', a=2, b=3)}")
    frames = without_status(await socket.until("end"))
    await socket.close()

    kinds = [frame["type"] for frame in frames]
    assert kinds.index("tool_call") < kinds.index("tool_result") < len(kinds) - 1
    numbered = seqs(frames)
    assert numbered == list(range(numbered[0], numbered[0] + len(numbered)))
    (made,) = of_type(frames, "tool_call")
    (result,) = of_type(frames, "tool_result")
    start = of_type(frames, "start")[0]
    assert made["message_id"] == start["message_id"]
    assert made["name"] == "demo.add"
    assert json.loads(made["arguments"]) == {"a": 2, "b": 3}
    assert result["call_id"] == made["call_id"]
    assert result["content"] == "5" and result["is_error"] is False
    before_call = text_of(frames[: kinds.index("tool_call")], "chunk")
    assert before_call == "Adding."
    assert text_of(frames, "chunk") == "Adding.tool said: 5"
    assert frames[-1]["finish_reason"] == "stop"
    # Each of the two steps thinks; both are kept as the answer's thinking.
    assert text_of(frames, "thinking") == THINKING * 2

    answer = user.conversation(conversation_id)["messages"][-1]
    assert answer["status"] == "complete"
    assert answer["content"] == "Adding.tool said: 5"
    (record,) = answer["tool_calls"]
    assert record["call_id"] == made["call_id"]
    assert record["name"] == "demo.add" and record["arguments"] == made["arguments"]
    assert record["result"] == "5" and record["is_error"] is False
    assert record["content_offset"] == len("Adding.")
    assert record["duration_ms"] == result["duration_ms"] is not None


async def test_a_call_is_saved_while_it_runs_and_replayed_exactly_to_two_sockets(
    tools_server: ServerProcess,
) -> None:
    """A reconnect mid-run with after_seq gets exactly the frames a socket open all along got;
    the running call is already in the stored answer, its result null."""
    user = new_user(tools_server)
    conversation_id = tool_conversation(user, "demo.hang")
    watcher, _ = await ChatSocket.open(user, conversation_id)
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say(f"Waiting. {call('demo__hang')}")
    seen = await socket.until("tool_call")
    await socket.close()

    stored = user.conversation(conversation_id)
    answer = stored["messages"][-1]
    assert answer["status"] == "streaming"
    (running,) = answer["tool_calls"]
    assert running["result"] is None and running["content_offset"] == len("Waiting.")

    after_seq = seqs(seen)[1]  # the `start` frame: every later event is replayed
    socket, ready = await ChatSocket.open(user, conversation_id, after_seq=after_seq)
    assert ready["active_run"] is not None
    replayed = without_status(await socket.until("end"))
    await socket.close()
    live = without_status(await watcher.until("end"))
    await watcher.close()

    assert [f for f in live if f.get("seq", 0) > after_seq] == replayed
    assert of_type(live, "tool_call")[0]["call_id"] == running["call_id"]
    (result,) = of_type(live, "tool_result")
    assert result["is_error"] is True
    assert result["content"] == f"The call timed out after {CALL_TIMEOUT_S} s."
    # The model is told, and the run goes on.
    assert text_of(live, "chunk") == f"Waiting.tool said: {result['content']}"
    assert live[-1]["finish_reason"] == "stop"

    # A replay after the end rebuilds the same frames from the stored answer.
    socket, ready = await ChatSocket.open(user, conversation_id, after_seq=after_seq)
    assert ready["active_run"] is None
    again = [await socket.next() for _ in range(len(replayed))]
    await socket.close()
    assert again == replayed
    answer = user.conversation(conversation_id)["messages"][-1]
    assert answer["tool_calls"][0]["result"] == result["content"]
    assert answer["tool_calls"][0]["is_error"] is True


async def test_stop_during_a_call_cancels_it(tools_server: ServerProcess) -> None:
    user = new_user(tools_server)
    conversation_id = tool_conversation(user, "demo.hang", "demo.add")
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say(call("demo__hang"))
    await socket.until("tool_call")
    await socket.send({"type": "stop"})
    frames = without_status(await socket.until("end"))
    assert of_type(frames, "tool_result") == []
    assert frames[-1]["finish_reason"] == "cancelled"
    answer = user.conversation(conversation_id)["messages"][-1]
    assert answer["status"] == "cancelled"
    (record,) = answer["tool_calls"]
    assert record["result"] is None

    # The server is fine after the cancelled call: the next run's call answers.
    await socket.say(call("demo__add", a=1, b=1))
    frames = await socket.until("end")
    await socket.close()
    assert [f["content"] for f in of_type(frames, "tool_result")] == ["2"]


async def test_a_tool_error_and_an_unknown_tool_are_told_to_the_model(
    tools_server: ServerProcess,
) -> None:
    user = new_user(tools_server)
    conversation_id = tool_conversation(user, "demo.fail")
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say(f"{call('demo__fail', reason='no luck today')} {call('demo__add', a=1, b=2)}")
    frames = without_status(await socket.until("end"))
    await socket.close()
    failed, unknown = of_type(frames, "tool_result")
    assert failed["is_error"] is True and "no luck today" in failed["content"]
    # demo.add exists but this conversation did not pick it.
    assert unknown["is_error"] is True and "demo__add" in unknown["content"]
    assert text_of(frames, "chunk") == f"tool said: {failed['content']}; {unknown['content']}"
    assert frames[-1]["finish_reason"] == "stop"
    answer = user.conversation(conversation_id)["messages"][-1]
    assert [r["is_error"] for r in answer["tool_calls"]] == [True, True]
    assert [r["content_offset"] for r in answer["tool_calls"]] == [0, 0]


async def test_the_step_limit_ends_a_chain_of_calls(tools_server: ServerProcess) -> None:
    """echo's result is itself a call, MAX_STEPS deep: the last step offers no tools, so the
    model answers with the call's text instead of making it."""
    text = "done"
    for _ in range(MAX_STEPS):
        text = call("demo__echo", text=text)
    user = new_user(tools_server)
    conversation_id = tool_conversation(user, "demo.echo")
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say(text)
    frames = without_status(await socket.until("end"))
    await socket.close()
    assert len(of_type(frames, "tool_call")) == MAX_STEPS - 1
    last_result = of_type(frames, "tool_result")[-1]["content"]
    assert last_result.startswith("[[call demo__echo")
    assert text_of(frames, "chunk") == f"tool said: {last_result}"
    assert frames[-1]["finish_reason"] == "stop"


async def test_picking_an_unknown_tool_is_refused(tools_server: ServerProcess) -> None:
    user = new_user(tools_server)
    conversation_id = user.new_conversation()
    with user.http() as client:
        response = client.patch(
            f"/api/conversations/{conversation_id}", json={"tools": ["demo.add", "demo.nope"]}
        )
        assert response.status_code == 422
        assert response.json()["detail"]["code"] == "unknown_tool"
        assert "demo.nope" in response.json()["detail"]["message"]
        assert (
            client.get(f"/api/conversations/{conversation_id}").json()["conversation"]["tools"]
            == []
        )
        missing = client.patch("/api/conversations/nope", json={"tools": ["demo.nope"]})
        assert missing.status_code == 404


def test_tools_need_a_login(tools_server: ServerProcess) -> None:
    assert httpx.get(f"{tools_server.base_url}/api/tools").status_code == 401


async def test_tool_calls_survive_export_and_import_and_replay_in_place(
    tools_server: ServerProcess,
) -> None:
    user = new_user(tools_server)
    conversation_id = tool_conversation(user, "demo.add")
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say(f"Adding. {call('demo__add', a=2, b=3)}")
    await socket.until("end")
    await socket.close()
    original = user.conversation(conversation_id)["messages"][-1]
    with user.http() as client:
        exported = client.get(f"/api/conversations/{conversation_id}/export?format=json")
        markdown = client.get(f"/api/conversations/{conversation_id}/export?format=markdown")
    assert '> 🔧 `demo.add` `{"a": 2, "b": 3}`' in markdown.text
    assert (
        markdown.text.index("Adding.")
        < markdown.text.index("🔧")
        < markdown.text.index("tool said: 5")
    )

    other = new_user(tools_server)
    with other.http() as client:
        imported = client.post(
            "/api/import", files={"file": ("export.json", exported.content, "application/json")}
        )
    assert imported.status_code == 201, imported.text
    (copy_id,) = imported.json()["conversation_ids"]
    copy = other.conversation(copy_id)["messages"][-1]
    assert copy["tool_calls"] == original["tool_calls"]
    socket, _ = await ChatSocket.open(other, copy_id, after_seq=0)
    frames = await socket.until("end")
    await socket.close()
    answer_frames = [f["type"] for f in frames if f["type"] not in ("message", "start", "end")]
    assert answer_frames == ["thinking", "chunk", "tool_call", "tool_result", "chunk"]
    assert text_of(frames, "chunk") == copy["content"] == "Adding.tool said: 5"
    assert of_type(frames, "chunk")[0]["content"] == "Adding."
    assert of_type(frames, "tool_result")[0]["content"] == "5"

    # Calls placed outside their answer's text are refused, and nothing is stored.
    document = exported.json()
    document["conversations"][0]["messages"][-1]["tool_calls"][0]["content_offset"] = 999
    with other.http() as client:
        refused = client.post(
            "/api/import",
            files={"file": ("export.json", json.dumps(document), "application/json")},
        )
        assert refused.status_code == 422
        assert refused.json()["detail"]["code"] == "bad_import"
        assert len(client.get("/api/conversations").json()["items"]) == 1
