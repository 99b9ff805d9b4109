"""What the tools layer is configured with, built from the server's Settings
(`Settings.tools_config()`), so it never sees the rest of the configuration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ToolsConfig:
    # The MCP servers to connect (servers_file.py); None: no tools.
    tools_file: Path | None = None
    # One call's limit; past it the model is told the call timed out.
    call_timeout_s: float = 30.0
    # Connecting and listing the tools, each time a server is (re)started.
    connect_timeout_s: float = 30.0
    # How often a ready server's tools are listed again (which also shows it still answers).
    check_interval_s: float = 30.0
    # The wait before reconnecting a failed server, doubled after each failure up to the most.
    retry_initial_s: float = 1.0
    retry_max_s: float = 60.0
    # A result longer than this reaches the model (and the client) cut, with a note.
    result_max_chars: int = 20_000
    # The most read of one message from a server (a stdio line, an HTTP body or SSE event);
    # past it a result is read cut.
    message_max_bytes: int = 1 << 20
