"""The tools of the MCP servers the administrator connected (PARLEY_TOOLS_FILE)."""

from __future__ import annotations

from fastapi import APIRouter

from parley.api.deps import ChatDep, CurrentUser
from parley.protocol import ToolsPublic

router = APIRouter(prefix="/api/tools", tags=["tools"])


@router.get("", response_model=ToolsPublic)
async def list_tools(_user: CurrentUser, chat: ChatDep) -> ToolsPublic:
    """Every configured server with its state (`failed` with the reason), and the tools of
    those that are ready, which a conversation may pick as "<server>.<name>"."""
    return chat.tools()
