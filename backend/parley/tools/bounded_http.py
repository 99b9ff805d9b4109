"""The streamable HTTP transport to an MCP server, reading each message within a byte limit.

The SDK reads a JSON reply whole (`response.aread()`), so a server that answers with a 5 GB
body can exhaust Parley. Here every reply is read through `BoundedReply`: a message (a plain
body, or one event of an SSE stream, up to the blank line that ends it) is held only up to the
limit; past it nothing more is read, the connection is dropped, and in the message's place comes
what stands for a cut one (`results.cut_message`): the request it answers gets an error result
made of the text kept, which the model reads cut with a note, as from a stdio server
(bounded_stdio.py). A cut message that answers no request, and a compressed reply, end the reply
with `ReplyNotRead`, which the SDK turns into the failure of the request it was for.

Compressed replies are asked not to be sent and are never read: a few kilobytes of gzip can
inflate to gigabytes whatever count is kept of the bytes received.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx2
from mcp.client._transport import TransportStreams
from mcp.client.streamable_http import streamable_http_client
from mcp.types import RequestId
from pydantic_core import from_json

from parley.tools.results import cut_message

log = logging.getLogger(__name__)

# The SDK's own timeouts: a server may hold a reply's event stream open for long.
TIMEOUT = httpx2.Timeout(30, read=300)
# A blank line, which ends an SSE event: two line ends in a row, a CRLF being one.
EVENT_END = re.compile(rb"(?:\r\n|\r(?!\n)|\n)(?:\r\n|\r|\n)")
# An SSE line that holds (part of) an event's data, and what ends a line.
DATA_LINE = re.compile(rb"data: ?(.*)")
LINE_END = re.compile(rb"\r\n|\r|\n")


class ReplyNotRead(httpx2.SSEError, httpx2.StreamError):
    """A reply read no further: compressed, or holding a message past the limit that answers no
    request. Both of the SDK's kinds, for it reports an SSEError in an event stream (as the
    failure of the request the stream answers) and a StreamError in a JSON body."""


def answered_id(request: httpx2.Request) -> RequestId | None:
    """The id of the JSON-RPC request a reply answers; None when it was none (a GET, a DELETE,
    a notification's POST)."""
    if request.method != "POST":
        return None
    try:
        message = from_json(request.content)
    except ValueError:
        return None
    request_id = message.get("id") if isinstance(message, dict) and "method" in message else None
    return request_id if isinstance(request_id, int | str) else None


def event_data(event: bytes) -> bytes:
    """The data of an SSE event (its `data` lines joined by newlines), or of its beginning."""
    lines = (DATA_LINE.fullmatch(line) for line in LINE_END.split(event))
    return b"\n".join(match.group(1) for match in lines if match)


class BoundedReply(httpx2.AsyncByteStream):
    """A reply's body, passed on a message at a time (an event, or the whole body), each within
    `max_bytes` (memory at most the limit and one chunk); see the module's docstring."""

    def __init__(self, response: httpx2.Response, max_bytes: int) -> None:
        assert isinstance(response.stream, httpx2.AsyncByteStream)  # an AsyncClient's reply
        self._raw = response.stream
        self._request = response.request
        self._max_bytes = max_bytes
        headers = response.headers
        content_type = headers.get("content-type", "").partition(";")[0].strip().lower()
        self._events = content_type == "text/event-stream"
        self._encoding = headers.get("content-encoding", "identity").strip().lower()
        length = headers.get("content-length", "")
        # The body's size, when it says (never an event's): a cut body's note names it.
        self._whole_bytes = int(length) if length.isdigit() and not self._events else None
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._encoding != "identity":
            await self.aclose()
            raise ReplyNotRead(
                f"the tool server compressed its reply ({self._encoding}) though asked not to"
            )
        held = bytearray()
        scanned = 0  # how much of `held` was searched for an event's end
        async for chunk in self._raw:
            held += chunk
            while self._events and (end := EVENT_END.search(held, max(scanned - 2, 0))):
                if end.end() > self._max_bytes:
                    break
                yield bytes(held[: end.end()])
                del held[: end.end()]
                scanned = 0
            if len(held) > self._max_bytes:
                yield await self._cut(bytes(held[: self._max_bytes]))
                return
            scanned = len(held)
        if held:
            yield bytes(held)

    async def _cut(self, beginning: bytes) -> bytes:
        """What stands for the message `beginning` starts, once nothing more is read."""
        await self.aclose()
        log.warning("a tool server's message of over %d bytes was cut", self._max_bytes)
        message = cut_message(
            event_data(beginning) if self._events else beginning,
            self._whole_bytes,
            self._max_bytes,
            answers=answered_id(self._request),
        )
        if isinstance(message, Exception):
            raise ReplyNotRead(str(message)) from message
        data = message.message.model_dump_json(by_alias=True, exclude_unset=True).encode()
        return b"event: message\ndata: " + data + b"\n\n" if self._events else data

    async def aclose(self) -> None:
        # Closing a reply not read to its end drops its connection instead of draining it.
        if not self._closed:
            self._closed = True
            await self._raw.aclose()


def bounded_http(headers: Mapping[str, str], max_message_bytes: int) -> httpx2.AsyncClient:
    """An HTTP client that asks for replies uncompressed and reads each through `BoundedReply`."""

    async def bound(response: httpx2.Response) -> None:
        response.stream = BoundedReply(response, max_message_bytes)

    request_headers = httpx2.Headers(headers)
    request_headers["accept-encoding"] = "identity"
    return httpx2.AsyncClient(
        headers=request_headers, timeout=TIMEOUT, event_hooks={"response": [bound]}
    )


@asynccontextmanager
async def bounded_http_client(
    url: str, headers: Mapping[str, str], max_message_bytes: int
) -> AsyncIterator[TransportStreams]:
    """The SDK's `streamable_http_client` over `bounded_http`."""
    async with (
        bounded_http(headers, max_message_bytes) as http,
        # No limit of the SDK's own on events: it would fail a request where ours cuts it.
        streamable_http_client(url, http_client=http, max_sse_event_size=None) as streams,
    ):
        yield streams
