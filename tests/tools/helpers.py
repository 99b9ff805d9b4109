"""What the transport tests share: a tool server started and ready, and the check that a huge
result is read cut, in bounded memory, with the server still answering after it."""

from __future__ import annotations

import asyncio
import json
import re
import time
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from parley.tools.config import ToolsConfig
from parley.tools.connection import ToolServer
from parley.tools.servers_file import HttpServer, StdioServer

# Long enough for the SDK to import and start on a busy machine.
READY_TIMEOUT_S = 30


@asynccontextmanager
async def ready_tool_server(
    entry: StdioServer | HttpServer, config: ToolsConfig
) -> AsyncIterator[ToolServer]:
    """`entry` connected and its tools listed; closed on leaving."""
    server = ToolServer(entry, config)
    server.start()
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while server.state != "ready":
            assert server.state != "failed", server.error
            assert time.monotonic() < deadline, "the server never became ready"
            await asyncio.sleep(0.05)
        yield server
    finally:
        await server.close()


async def check_a_huge_result_is_cut(
    server: ToolServer, megabytes: int, cut_from: str, max_peak_bytes: int
) -> None:
    """`flood` of `megabytes` comes back as an error result: its first 20,000 characters and a
    note saying what they were cut from (`cut_from`, a pattern), read within `max_peak_bytes`
    of Python memory; the server's other tools answer after it."""
    tracemalloc.start()
    try:
        outcome = await server.call("flood", {"megabytes": megabytes})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert outcome.is_error
    assert outcome.content.startswith("x" * 20_000)
    note = outcome.content[20_000:]
    assert re.fullmatch(rf"\n\[Note: .* first 20,000 characters of {cut_from}\.]", note), note
    assert peak < max_peak_bytes, f"peak {peak:,} bytes"
    echo = await server.call("echo", {"text": "still here"})
    assert echo.content == "still here" and not echo.is_error
    assert json.loads((await server.call("add", {"a": 2, "b": 3})).content) == 5
