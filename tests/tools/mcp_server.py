"""An MCP server for the tests, written with the official SDK: `python mcp_server.py` serves
stdio, `python mcp_server.py --port N` streamable HTTP on 127.0.0.1:N (each reply an SSE stream,
or with `--json` a JSON body).

Tools: `add` two numbers, `echo` a text, `fail` (a tool error), `hang` (sleeps far past any
test's call timeout), `crash` (the process dies mid-call), `flood` (a text result of as many
megabytes as asked).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import LoggingMessageNotification

server = MCPServer("parley-test", log_level="WARNING")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Say the text back."""
    return text


@server.tool()
def fail(reason: str) -> str:
    """Fail with the reason given."""
    raise ToolError(reason)


@server.tool()
async def hang() -> str:
    """Never answer in time."""
    await asyncio.sleep(3600)
    return "woke up"


@server.tool(structured_output=False)
async def flood(megabytes: int, ctx: Context) -> str:
    """A result far past any limit on what is read."""
    # A notification on the call's own stream first, so that over HTTP the reply is an SSE
    # stream unless `--json` (the SDK sends a reply with none as a JSON body).
    notice = LoggingMessageNotification(params={"level": "info", "data": "flooding"})
    await ctx.session.send_notification(notice, related_request_id=ctx.request_id)
    return "x" * (megabytes << 20)


@server.tool()
def crash() -> str:
    """Die without answering."""
    print("crashing on purpose", file=sys.stderr, flush=True)
    os._exit(3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.port is None:
        server.run()
    else:
        server.run("streamable-http", host="127.0.0.1", port=args.port, json_response=args.json)


if __name__ == "__main__":
    main()
