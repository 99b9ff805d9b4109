"""The tools of the MCP servers the administrator connected (PARLEY_TOOLS_FILE)."""

from __future__ import annotations

from fastapi import APIRouter

from parley.api.deps import ChatDep, CurrentUser
from parley.protocol import ToolsPublic
from parley.tools import ToolCaller

router = APIRouter(prefix="/api/tools", tags=["tools"])


@router.get("", response_model=ToolsPublic)
async def list_tools(user: CurrentUser, chat: ChatDep) -> ToolsPublic:
    """The servers the caller may use (each server's `allow` list) with their states, and the
    tools of those that are ready, which a conversation may pick as "<server>.<name>". Why a
    server `failed` is shown to administrators only."""
    return chat.tools(ToolCaller(user.username, user.is_admin))
