"""The stdio transport to an MCP server, reading each message line within a byte limit.

The SDK's `stdio_client` keeps a whole line in memory however long it is (and rebuilds it for
every chunk read), so a server that writes a 500 MB result can exhaust Parley. Here a line is
kept only up to `max_line_bytes`; the rest is read and thrown away up to its newline, and the
request it answers gets an error result made of the text kept (`results.cut_message`), marked so
that the model reads it cut with a note. Spawning and stopping the server are the SDK's own.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TextIO

import anyio
import anyio.lowlevel
from anyio.abc import ByteReceiveStream
from mcp import StdioServerParameters
from mcp.client._transport import TransportStreams
from mcp.client.stdio import (
    _create_platform_compatible_process,
    _drain_stdout,
    _get_executable_command,
    _parse_line,
    _stop_server_process,
    get_default_environment,
)
from mcp.shared.message import SessionMessage

from parley.tools.results import cut_message

log = logging.getLogger(__name__)

# How long messages already accepted may take to reach the server before its stdin closes.
WRITER_FLUSH_S = 0.5


async def bounded_lines(
    stdout: ByteReceiveStream, max_line_bytes: int
) -> AsyncIterator[SessionMessage | Exception]:
    """The messages in the server's stdout, one a line; a line over the limit is kept only
    to the limit (time and memory linear in what is read, memory at most the limit)."""
    line = bytearray()
    whole = 0  # the current line's length, the bytes thrown away included
    while True:
        try:
            chunk = await stdout.receive()
        except anyio.EndOfStream:
            return
        start = 0
        while start < len(chunk):
            end = chunk.find(b"\n", start)
            stop = len(chunk) if end < 0 else end
            room = max_line_bytes - len(line)
            line += chunk[start : min(stop, start + room)] if room > 0 else b""
            whole += stop - start
            if end < 0:
                break
            if whole > max_line_bytes:
                log.warning("a tool server's message of %d bytes was cut", whole)
                yield cut_message(bytes(line), whole, max_line_bytes)
            elif line.strip():
                yield _parse_line(line.decode(errors="replace"))
            line.clear()
            whole = 0
            start = end + 1


@asynccontextmanager
async def bounded_stdio_client(
    server: StdioServerParameters, max_line_bytes: int, errlog: TextIO = sys.stderr
) -> AsyncIterator[TransportStreams]:
    """The SDK's `stdio_client` (the same process, streams and shutdown) with lines read
    by `bounded_lines`."""
    process = await _create_platform_compatible_process(
        command=await _get_executable_command(server.command),
        args=server.args,
        env=get_default_environment() | (server.env or {}),
        errlog=errlog,
        cwd=server.cwd,
    )
    # No awaits until the task group is entered, or a cancellation would leak the process.
    to_session, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, from_session = anyio.create_memory_object_stream[SessionMessage](0)
    writer_done = anyio.Event()

    async def read_stdout() -> None:
        assert process.stdout is not None
        try:
            async with to_session:
                async for message in bounded_lines(process.stdout, max_line_bytes):
                    await to_session.send(message)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, ConnectionError):
            pass  # the session or the pipe is gone: the session sees the stream end
        finally:
            await _drain_stdout(process)

    async def write_stdin() -> None:
        assert process.stdin is not None
        try:
            async with from_session:
                async for session_message in from_session:
                    json = session_message.message.model_dump_json(
                        by_alias=True, exclude_unset=True
                    )
                    await process.stdin.send((json + "\n").encode())
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            await to_session.aclose()  # a request must not wait forever on a dead server
        finally:
            writer_done.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(read_stdout)
        tasks.start_soon(write_stdin)
        try:
            yield read_stream, write_stream
        finally:
            # As the SDK: stop traffic, let accepted messages out, stop the server; shielded
            # (every wait inside is bounded) so a cancelled caller cannot leak the process.
            with anyio.CancelScope(shield=True):
                read_stream.close()
                write_stream.close()
                with anyio.move_on_after(WRITER_FLUSH_S):
                    await writer_done.wait()
                await _stop_server_process(process)
                for stream in (read_stream, write_stream, to_session, from_session):
                    await stream.aclose()
                await anyio.lowlevel.checkpoint()
            tasks.cancel_scope.cancel()
