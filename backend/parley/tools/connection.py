"""One MCP server, kept connected by a task of its own.

The task connects (running the command, or reaching the URL), lists the tools, and then lists
them again every `check_interval_s`; a server that cannot be reached, dies or stops answering
is `failed` with the reason, and is connected again after a wait that doubles up to
`retry_max_s`. Nothing that happens to one server touches another, or a run: a call to a
server that is not ready is an error the model is told about.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from typing import Any, TextIO

from mcp import Client, StdioServerParameters
from mcp.client import Transport
from mcp.shared.exceptions import MCPError
from mcp.types import Tool

from parley.protocol import ToolServerState
from parley.tools.bounded_http import bounded_http_client
from parley.tools.bounded_stdio import bounded_stdio_client
from parley.tools.config import ToolsConfig
from parley.tools.results import ToolOutcome, cut, read_cut_from, result_text
from parley.tools.servers_file import HttpServer, StdioServer

log = logging.getLogger(__name__)

# The most tool pages read from one server (a server whose pages never end cannot hang it).
MAX_TOOL_PAGES = 20
# The lines of a stdio server's stderr quoted in its error.
STDERR_TAIL_LINES = 3
# How long a failed server's last stderr lines are waited for.
STDERR_DRAIN_S = 1.0


def describe(error: BaseException) -> str:
    """A short reason for a failure: the first leaf of an exception group, in words."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    if isinstance(error, MCPError):
        return error.message
    if isinstance(error, TimeoutError):
        return "no answer in time"
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}" + (f": {error.filename}" if error.filename else "")
    return str(error) or type(error).__name__


class ToolServer:
    def __init__(self, entry: StdioServer | HttpServer, config: ToolsConfig) -> None:
        self.entry = entry
        self._config = config
        self.state: ToolServerState = "starting"
        self.error: str | None = None
        # The tools of the last listing, by name; empty until the server was first ready.
        self.tools: dict[str, Tool] = {}
        self._client: Client | None = None
        self._task: asyncio.Task[None] | None = None
        # Set when a call failed in a way that may mean the server is gone: check it now.
        self._check_now = asyncio.Event()

    @property
    def id(self) -> str:
        return self.entry.id

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name=f"tool-server-{self.id}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # ---------- calls ----------

    async def call(self, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        """Run one call within the timeout; every failure is an outcome, never an exception
        (a cancelled caller's CancelledError excepted)."""
        client = self._client
        if client is None:
            # Not why: the reason may quote the server's stderr, for administrators only.
            return ToolOutcome(f"The tool server {self.id!r} is not ready.", is_error=True)
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._config.call_timeout_s):
                result = await client.call_tool(tool, arguments)
        except TimeoutError:
            content = f"The call timed out after {self._config.call_timeout_s:g} s."
            return ToolOutcome(content, is_error=True, duration_ms=_since(started))
        # A tool server may fail in any way; the model is told and the run goes on.
        except Exception as exc:
            self._check_now.set()
            content = f"The call failed: {describe(exc)}"
            return ToolOutcome(content, is_error=True, duration_ms=_since(started))
        return ToolOutcome(
            cut(result_text(result), self._config.result_max_chars, read_cut_from(result)),
            is_error=result.is_error,
            duration_ms=_since(started),
        )

    # ---------- the connection's life ----------

    async def _supervise(self) -> None:
        delay = self._config.retry_initial_s
        while True:
            self.state, self.error = "starting", None
            stderr = StderrTail(self.id) if isinstance(self.entry, StdioServer) else None
            try:
                await self._serve(stderr)
            except Exception as exc:  # whatever ended it, it is retried
                reason = describe(exc)
                if stderr is not None:
                    reason = await stderr.explained(reason)
                self.state, self.error = "failed", reason
                log.warning("tool server %s failed: %s", self.id, reason)
            finally:
                if stderr is not None:
                    stderr.close()
            if self.tools:  # it was ready: a fresh failure waits the shortest time again
                delay = self._config.retry_initial_s
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._config.retry_max_s)

    async def _serve(self, stderr: StderrTail | None) -> None:
        async with contextlib.AsyncExitStack() as held:
            async with asyncio.timeout(self._config.connect_timeout_s):
                client = await held.enter_async_context(Client(self._transport(stderr)))
                self.tools = await self._list(client)
            self._client, self.state, self.error = client, "ready", None
            log.info("tool server %s ready with %d tool(s)", self.id, len(self.tools))
            try:
                while True:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._check_now.wait(), self._config.check_interval_s
                        )
                    self._check_now.clear()
                    async with asyncio.timeout(self._config.connect_timeout_s):
                        self.tools = await self._list(client)
            finally:
                self._client = None

    def _transport(self, stderr: StderrTail | None) -> Transport:
        entry = self.entry
        if isinstance(entry, StdioServer):
            assert stderr is not None
            program, *args = entry.command
            params = StdioServerParameters(command=program, args=args, env=entry.env or None)
            return bounded_stdio_client(
                params, self._config.message_max_bytes, errlog=stderr.start()
            )
        return bounded_http_client(entry.url, entry.headers, self._config.message_max_bytes)

    @staticmethod
    async def _list(client: Client) -> dict[str, Tool]:
        tools: dict[str, Tool] = {}
        cursor: str | None = None
        for _ in range(MAX_TOOL_PAGES):
            page = await client.list_tools(cursor=cursor, cache_mode="refresh")
            tools.update((tool.name, tool) for tool in page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        return tools


def _since(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


class StderrTail:
    """A stdio server's stderr, read through a pipe: each line logged, the last few kept to
    say why the server failed."""

    def __init__(self, server_id: str) -> None:
        self._server_id = server_id
        read_fd, write_fd = os.pipe()
        self._read_end = os.fdopen(read_fd, "rb", buffering=0)
        self._write_end: TextIO = os.fdopen(write_fd, "w")
        self.lines: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._pump: asyncio.Task[None] | None = None

    def start(self) -> TextIO:
        """The file the server's stderr goes to; its lines are read from now on."""
        self._pump = asyncio.create_task(self._read())
        return self._write_end

    async def _read(self) -> None:
        reader = asyncio.StreamReader()
        transport, _ = await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), self._read_end
        )
        try:
            while line := await reader.readline():
                text = line.decode(errors="replace").rstrip()
                if text:
                    self.lines.append(text)
                    log.info("tool server %s: %s", self._server_id, text)
        finally:
            transport.close()

    async def explained(self, reason: str) -> str:
        """The reason, with the server's last words (read to the end once it is gone)."""
        self._write_end.close()
        if self._pump is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._pump), STDERR_DRAIN_S)
        return f"{reason} (stderr: {' | '.join(self.lines)})" if self.lines else reason

    def close(self) -> None:
        self._write_end.close()
        if self._pump is not None:
            self._pump.cancel()
        else:
            self._read_end.close()
