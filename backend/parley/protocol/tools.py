"""What `GET /api/tools` shows: the tools of the MCP servers the administrator connected."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

ToolServerState = Literal["starting", "ready", "failed"]


class ToolPublic(BaseModel):
    # The MCP server's id from PARLEY_TOOLS_FILE; a conversation names the tool "<server>.<name>".
    server: str
    name: str
    description: str
    input_schema: dict[str, Any]


class ToolServerStatus(BaseModel):
    id: str
    state: ToolServerState
    # Why it failed (null unless `failed`).
    error: str | None = None


class ToolsPublic(BaseModel):
    # Only the tools of servers that are `ready`.
    tools: list[ToolPublic]
    servers: list[ToolServerStatus]
