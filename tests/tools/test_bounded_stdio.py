"""Messages from a stdio MCP server read within a byte limit: lines split anywhere, a line
past the limit kept only to it, and a real server's 50 MB result read cut, in bounded memory,
with the server usable after."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import anyio
import mcp_types as types
import pytest
from mcp.shared.message import SessionMessage

from parley.tools.bounded_stdio import bounded_lines
from parley.tools.config import ToolsConfig
from parley.tools.connection import ToolServer
from parley.tools.results import CUT_META_KEY
from parley.tools.servers_file import StdioServer
from tests.integration.test_tools_chat import MCP_SERVER
from tests.tools.helpers import READY_TIMEOUT_S, check_a_huge_result_is_cut, ready_tool_server

LIMIT = 1024


async def read_all(chunks: list[bytes]) -> list[SessionMessage | Exception]:
    sender, receiver = anyio.create_memory_object_stream[bytes](len(chunks))
    async with sender:
        for chunk in chunks:
            sender.send_nowait(chunk)
    return [message async for message in bounded_lines(receiver, LIMIT)]


def response(request_id: int, text: str) -> bytes:
    content = [{"type": "text", "text": text}]
    message = types.JSONRPCResponse(jsonrpc="2.0", id=request_id, result={"content": content})
    return message.model_dump_json(by_alias=True).encode() + b"\n"


async def test_lines_split_across_chunks_are_read_whole() -> None:
    data = response(1, "first") + b"\n" + response(2, "second")
    messages = await read_all([data[i : i + 7] for i in range(0, len(data), 7)])
    assert [m.message.id for m in messages if isinstance(m, SessionMessage)] == [1, 2]
    assert len(messages) == 2


async def test_a_line_past_the_limit_is_its_beginning_cut_and_the_next_is_read() -> None:
    long = response(7, "y" * 5000)
    messages = await read_all([long[:3000], long[3000:] + response(8, "after")])
    cut, after = messages
    assert isinstance(cut, SessionMessage) and isinstance(after, SessionMessage)
    assert isinstance(cut.message, types.JSONRPCResponse) and cut.message.id == 7
    result = types.CallToolResult.model_validate(cut.message.result)
    assert result.meta == {CUT_META_KEY: len(long) - 1}
    text = result.content[0]
    assert isinstance(text, types.TextContent) and set(text.text) == {"y"}
    assert LIMIT - 100 < len(text.text) < LIMIT
    assert after.message.id == 8


async def test_a_line_past_the_limit_that_answers_no_request_or_bad_bytes_is_an_error() -> None:
    notification = b'{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"'
    bool_id = b'{"jsonrpc":"2.0","id":true,"result":{"content":[{"type":"text","text":"'
    messages = await read_all(
        [notification + b"z" * 3000 + b'"}}\n', bool_id + b"z" * 3000 + b"\n", b"\xff\xfe\n"]
    )
    assert len(messages) == 3
    assert all(isinstance(message, Exception) for message in messages)
    assert "passed the 1,024-byte limit" in str(messages[0])


@pytest.fixture
async def stdio_server() -> AsyncIterator[ToolServer]:
    entry = StdioServer(id="local", transport="stdio", command=[sys.executable, str(MCP_SERVER)])
    async with ready_tool_server(entry, ToolsConfig(connect_timeout_s=READY_TIMEOUT_S)) as server:
        yield server


async def test_a_huge_result_is_read_cut_in_bounded_memory(stdio_server: ToolServer) -> None:
    await check_a_huge_result_is_cut(
        stdio_server, 50, r"a 52,42\d,\d{3}-byte message", max_peak_bytes=20 << 20
    )
