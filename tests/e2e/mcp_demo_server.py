"""A small MCP server over stdio for the browser's tools test: `add` answers after a pause (so
the card is seen running, and a reload can happen mid-call), `fail` always raises."""

from __future__ import annotations

import asyncio

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("demo")
# Long enough to see the call running and reload the page while it runs.
ADD_DELAY_S = 1.5


@server.tool()
async def add(a: int, b: int) -> str:
    """Adds two whole numbers."""
    await asyncio.sleep(ADD_DELAY_S)
    return str(a + b)


@server.tool()
def fail(reason: str) -> str:
    """Always fails, with the reason given."""
    raise ToolError(reason)


if __name__ == "__main__":
    server.run("stdio")
