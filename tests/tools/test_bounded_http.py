"""Replies from an HTTP MCP server read within a byte limit: SSE events split anywhere passed on
whole, a message past the limit cut where it passes it and nothing more read, a server that
never stops sending dropped, and a real server's 20 MB result (as an SSE event and as a JSON
body) read cut, in bounded memory, with the server usable after."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator

import httpx2
import mcp_types as types
import pytest

from parley.tools.bounded_http import BoundedReply, ReplyNotRead, bounded_http
from parley.tools.config import ToolsConfig
from parley.tools.connection import ToolServer
from parley.tools.results import CUT_META_KEY, CUT_PAST_META_KEY
from parley.tools.servers_file import HttpServer
from tests.conftest import mcp_http_server
from tests.integration.test_tools_chat import MCP_SERVER
from tests.tools.helpers import READY_TIMEOUT_S, check_a_huge_result_is_cut, ready_tool_server

LIMIT = 1024
URL = "http://127.0.0.1:9/mcp"
CALL = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "flood"}}


class Chunks(httpx2.AsyncByteStream):
    """A reply's body as it comes off the wire, in the chunks given; counts what was read."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.read = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            assert not self.closed
            self.read += 1
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


def reply(chunks: Chunks, content_type: str, **headers: str) -> BoundedReply:
    response = httpx2.Response(
        200,
        headers={"content-type": content_type, **headers},
        stream=chunks,
        request=httpx2.Request("POST", URL, json=CALL),
    )
    return BoundedReply(response, LIMIT)


async def read(body: BoundedReply) -> list[bytes]:
    return [part async for part in body]


def result_of(data: bytes) -> types.CallToolResult:
    message = types.JSONRPCResponse.model_validate_json(data)
    assert message.id == 7
    return types.CallToolResult.model_validate(message.result)


def endless(beginning: bytes) -> Iterator[bytes]:
    """A message that never ends (after the first 1,000 chunks the test has failed anyway)."""
    yield beginning
    for _ in range(1000):
        yield b"x" * 100


async def test_events_split_anywhere_are_passed_on_whole() -> None:
    events = [
        b'data: {"a":1}\n\n',
        b'event: message\r\ndata: {"b":\r\ndata: 2}\r\n\r\n',
        b'id: 3\rdata: {"c":3}\r\r',
        b": a comment\ndata: " + b"y" * (LIMIT - 20) + b"\n\n",  # exactly at the limit
    ]
    stream = b"".join(events)
    assert await read(reply(Chunks(iter([stream])), "text/event-stream")) == events
    for size in (1, 2, 3, 7, 100):
        chunks = Chunks(stream[i : i + size] for i in range(0, len(stream), size))
        parts = await read(reply(chunks, "text/event-stream"))
        # Split after a CR, a CRLF's LF is passed on as a blank line of its own.
        assert b"".join(parts) == stream and len(parts) <= len(events) + 1
        assert not chunks.closed


async def test_an_event_past_the_limit_is_its_beginning_cut_and_nothing_more_is_read() -> None:
    first = b'data: {"jsonrpc":"2.0","method":"notifications/progress","params":{}}\n\n'
    beginning = b'data: {"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"'
    chunks = Chunks(endless(first + beginning))
    parts = await read(reply(chunks, "text/event-stream"))
    assert chunks.closed and chunks.read < LIMIT // 100 + 3
    assert parts[0] == first
    stand_in = parts[1]
    assert stand_in.startswith(b"event: message\ndata: ") and stand_in.endswith(b"\n\n")
    result = result_of(stand_in.removeprefix(b"event: message\ndata: "))
    assert result.is_error and result.meta == {CUT_PAST_META_KEY: LIMIT}
    text = result.content[0]
    assert isinstance(text, types.TextContent) and set(text.text) == {"x"}
    assert LIMIT - 200 < len(text.text) < LIMIT


async def test_a_json_body_past_the_limit_is_its_beginning_cut_with_its_size() -> None:
    # No id in the beginning: the reply answers the request it came to.
    beginning = b'{"jsonrpc":"2.0","result":{"content":[{"type":"text","text":"'
    chunks = Chunks(endless(beginning))
    parts = await read(reply(chunks, "application/json", **{"content-length": "5000000"}))
    assert chunks.closed and chunks.read < LIMIT // 100 + 3
    (data,) = parts
    result = result_of(data)
    assert result.is_error and result.meta == {CUT_META_KEY: 5_000_000}


async def test_a_message_past_the_limit_that_answers_no_request_ends_the_reply() -> None:
    notification = b'data: {"jsonrpc":"2.0","method":"notifications/message","params":"'
    chunks = Chunks(endless(notification))
    with pytest.raises(ReplyNotRead, match="passed the 1,024-byte limit and answers no request"):
        await read(reply(chunks, "text/event-stream"))
    assert chunks.closed


async def test_a_compressed_reply_is_not_read() -> None:
    chunks = Chunks(endless(b"\x1f\x8b"))
    with pytest.raises(ReplyNotRead, match=r"compressed its reply \(gzip\)"):
        await read(reply(chunks, "application/json", **{"content-encoding": "gzip"}))
    assert chunks.closed and chunks.read == 0


@pytest.mark.parametrize("content_type", ["application/json", "text/event-stream"])
async def test_a_server_that_never_stops_sending_is_dropped(content_type: str) -> None:
    """A raw HTTP server on 127.0.0.1 answers with a chunked message that never ends: the
    client reads a little past the limit, drops the connection, and the server's writes fail."""
    prefix = b"data: " if content_type == "text/event-stream" else b""
    beginning = prefix + b'{"jsonrpc":"2.0","id":7,"result":{"content":[{"text":"'
    piece = b"x" * (64 << 10)
    sent = 0
    dropped = asyncio.Event()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length: (\d+)", head)
        await reader.readexactly(int(length.group(1)) if length else 0)
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: " + content_type.encode() + b"\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        try:
            for data in [beginning, *([piece] * 4000)]:  # 250 MB, far past what buffers hold
                writer.write(b"%x\r\n%s\r\n" % (len(data), data))
                await writer.drain()
                sent += len(data)
        except ConnectionError:
            dropped.set()
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with bounded_http({}, 64 << 10) as http:
            response = await asyncio.wait_for(
                http.post(f"http://127.0.0.1:{port}/mcp", json=CALL), 20
            )
            data = response.content.removeprefix(b"event: message\ndata: ").rstrip(b"\n")
            assert result_of(data).meta == {CUT_PAST_META_KEY: 64 << 10}
        await asyncio.wait_for(dropped.wait(), 20)
        assert sent < 32 << 20, f"the server sent {sent:,} bytes"
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture(params=["sse", "json"])
def reply_kind(request: pytest.FixtureRequest) -> str:
    """How the server replies: an SSE stream, or (`--json`) a JSON body."""
    return str(request.param)


@pytest.fixture
def http_mcp(reply_kind: str) -> Iterator[str]:
    """tests/tools/mcp_server.py over streamable HTTP, its URL."""
    with mcp_http_server(MCP_SERVER, *(["--json"] if reply_kind == "json" else [])) as url:
        yield url


@pytest.fixture
async def http_server(http_mcp: str) -> AsyncIterator[ToolServer]:
    entry = HttpServer(id="web", transport="http", url=http_mcp)
    config = ToolsConfig(connect_timeout_s=READY_TIMEOUT_S, message_max_bytes=64 << 10)
    async with ready_tool_server(entry, config) as server:
        yield server


async def test_a_huge_result_is_read_cut_in_bounded_memory(
    http_server: ToolServer, reply_kind: str
) -> None:
    # An event's size is never known; a JSON body's is, from its Content-Length.
    cut_from = {"sse": r"a message of over 65,536 bytes", "json": r"a 20,97\d,\d{3}-byte message"}
    await check_a_huge_result_is_cut(http_server, 20, cut_from[reply_kind], max_peak_bytes=4 << 20)
