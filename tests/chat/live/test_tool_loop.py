"""A run's tool loop in process, on a real MCP server (tests/tools/mcp_server.py over stdio):
the scripted engine calls `[[call <server>__<tool> {JSON}]]` and answers `tool said: <result>`.
The conversation's tools are picked through the REST API (ASGI transport)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from parley.protocol import (
    ChunkFrame,
    EndFrame,
    SendOptions,
    ServerFrame,
    ToolCallFrame,
    ToolResultFrame,
)
from parley.tools import ToolCaller
from tests.in_process import WAIT_S, InProcessApp, frames_until, next_frame, running_app

MCP_SERVER = Path(__file__).resolve().parents[2] / "tools" / "mcp_server.py"
OPTIONS = SendOptions()
T = TypeVar("T")
# Sees every server that allows everyone, and why one failed.
ADMIN = ToolCaller("admin", is_admin=True)


async def tools_ready(app: InProcessApp) -> None:
    """Until the tool server has left `starting` (its state has no event to wait on; bounded)."""
    deadline = time.monotonic() + WAIT_S
    while any(s.state == "starting" for s in app.chat.tools(ADMIN).servers):
        assert time.monotonic() < deadline, app.chat.tools(ADMIN)
        await asyncio.sleep(0.02)
    assert [s.state for s in app.chat.tools(ADMIN).servers] == ["ready"], app.chat.tools(ADMIN)


@pytest.fixture(scope="module")
async def parley(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[InProcessApp]:
    data_dir = tmp_path_factory.mktemp("tool-loop")
    tools_file = data_dir / "tools.json"
    tools_file.write_text(
        json.dumps(
            [{"id": "demo", "transport": "stdio", "command": [sys.executable, str(MCP_SERVER)]}]
        )
    )
    async with running_app(
        data_dir,
        f"sqlite:///{data_dir / 'parley.db'}",
        tools_file=tools_file,
        tool_timeout_s=30.0,
        tool_max_steps=3,
    ) as app:
        await tools_ready(app)
        yield app


def call(function: str, **arguments: Any) -> str:
    return f"[[call {function} {json.dumps(arguments)}]]"


async def run_with_tools(
    parley: InProcessApp, message: str, *tools: str, until: str = "end"
) -> tuple[str, str, list[ServerFrame]]:
    """Send `message` in a new conversation that picked `tools`: (user id, conversation id,
    the frames up to `until`)."""
    user = await parley.new_user()
    conversation_id = await parley.new_conversation(user.id)
    async with parley.client(user.token) as client:
        picked = await client.patch(f"/api/conversations/{conversation_id}", json={"tools": tools})
    assert picked.status_code == 200, picked.text
    connection = await parley.connect(user, conversation_id)
    await next_frame(connection)
    await parley.chat.send(connection, message, "c-1", OPTIONS)
    frames = await frames_until(connection, until, "error")
    if until != "end":
        await parley.chat.stop(connection)
        frames += await frames_until(connection, "end", "error")
    parley.chat.disconnect(connection)
    return user.id, conversation_id, frames


def of(frames: list[ServerFrame], kind: type[T]) -> list[T]:
    return [frame for frame in frames if isinstance(frame, kind)]


async def test_a_call_runs_on_the_server_and_its_result_goes_back_to_the_model(
    parley: InProcessApp,
) -> None:
    user_id, conversation_id, frames = await run_with_tools(
        parley, f"Adding. {call('demo__add', a=2, b=3)}", "demo.add"
    )
    (made,) = of(frames, ToolCallFrame)
    (result,) = of(frames, ToolResultFrame)
    assert made.name == "demo.add" and json.loads(made.arguments) == {"a": 2, "b": 3}
    assert result.call_id == made.call_id and result.content == "5" and not result.is_error
    assert "".join(c.content for c in of(frames, ChunkFrame)) == "Adding.tool said: 5"
    assert isinstance(frames[-1], EndFrame) and frames[-1].finish_reason == "stop"

    answer = (await parley.conversations.conversation_detail(user_id, conversation_id)).messages[-1]
    (record,) = answer.tool_calls
    assert (record.call_id, record.result, record.is_error) == (made.call_id, "5", False)
    assert record.content_offset == len("Adding.")


@pytest.mark.parametrize(
    ("function", "arguments", "result"),
    [
        ("demo__fail", {"reason": "no luck"}, "no luck"),
        ("demo__echo", {"text": "not picked"}, "demo__echo"),
    ],
)
async def test_a_failing_or_unpicked_call_is_an_error_result_and_the_run_goes_on(
    parley: InProcessApp, function: str, arguments: dict[str, Any], result: str
) -> None:
    _, _, frames = await run_with_tools(
        parley, f"Trying. {call(function, **arguments)}", "demo.fail"
    )
    (outcome,) = of(frames, ToolResultFrame)
    assert outcome.is_error and result in outcome.content
    assert isinstance(frames[-1], EndFrame) and frames[-1].finish_reason == "stop"


async def test_stop_during_a_call_cancels_it_and_leaves_its_result_empty(
    parley: InProcessApp,
) -> None:
    user_id, conversation_id, frames = await run_with_tools(
        parley, f"Waiting. {call('demo__hang')}", "demo.hang", until="tool_call"
    )
    assert of(frames, ToolResultFrame) == []
    assert isinstance(frames[-1], EndFrame) and frames[-1].finish_reason == "cancelled"
    answer = (await parley.conversations.conversation_detail(user_id, conversation_id)).messages[-1]
    (record,) = answer.tool_calls
    assert record.result is None and answer.status == "cancelled"
