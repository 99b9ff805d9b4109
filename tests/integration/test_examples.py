"""The documented example scripts run as written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult, TextContent

from tests.conftest import REPO, ServerFactory, ServerProcess
from tests.integration.test_tool_servers import in_state, wait_for
from tests.integration.test_tools_chat import call, of_type, tool_conversation
from tests.integration.ws import ChatSocket, new_user


def test_ws_chat_example_streams_an_answer(scripted_server: ServerProcess) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "docs/examples/ws_chat.py"),
            "--url",
            scripted_server.base_url,
            "Is this example alive?",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "You said: Is this example alive?" in result.stdout
    assert "[stop;" in result.stdout


SQLITE_MCP = REPO / "docs/examples/sqlite_mcp.py"


def shipped_entry() -> dict[str, Any]:
    """docs/examples/sqlite_tools.json's entry, run from this checkout with this Python."""
    (entry,) = json.loads((REPO / "docs/examples/sqlite_tools.json").read_text())
    assert Path(entry["command"][1]).name == SQLITE_MCP.name
    return {**entry, "command": [sys.executable, str(SQLITE_MCP)]}


async def test_sqlite_example_answers_queries_and_refuses_writes() -> None:
    params = StdioServerParameters(command=sys.executable, args=[str(SQLITE_MCP)])
    async with Client(stdio_client(params)) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names == {"describe", "query"}
        schema = await client.call_tool("describe", {})
        assert "CREATE TABLE orders" in text(schema)
        result = await client.call_tool(
            "query",
            {
                "sql": "SELECT c.name, SUM(o.quantity * p.price_cents) AS spent FROM orders o "
                "JOIN customers c ON c.id = o.customer_id JOIN products p ON p.id = "
                "o.product_id GROUP BY c.id ORDER BY spent DESC LIMIT 1"
            },
        )
        assert not result.is_error
        assert json.loads(text(result)) == {
            "columns": ["name", "spent"],
            "rows": [["Grace Hopper", 13700]],
            "truncated": False,
        }
        for statement in (
            "DELETE FROM orders",
            "ATTACH DATABASE 'elsewhere.db' AS other",
            "PRAGMA query_only = OFF",
        ):
            refused = await client.call_tool("query", {"sql": statement})
            assert refused.is_error, statement
        bad = await client.call_tool("query", {"sql": "SELECT nope FROM nowhere"})
        assert bad.is_error and "no such" in text(bad)
        many = await client.call_tool(
            "query",
            {
                "sql": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                "WHERE i < 1000) SELECT i FROM n"
            },
        )
        assert json.loads(text(many))["truncated"] is True
        rows = await client.call_tool("query", {"sql": "SELECT COUNT(*) FROM orders"})
        assert json.loads(text(rows))["rows"] == [[8]]


def text(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def test_sqlite_example_from_its_tools_file_entry_answers_in_a_chat(
    server_factory: ServerFactory, tmp_path: Path
) -> None:
    tools_file = tmp_path / "tools.json"
    tools_file.write_text(json.dumps([shipped_entry()]))
    server = server_factory(
        model="scripted", scripted_token_delay_s="0.01", tools_file=str(tools_file)
    ).start()
    user = new_user(server)
    listing = wait_for(user, in_state("shop", "ready"))
    assert {t["name"] for t in listing["tools"]} == {"describe", "query"}
    conversation_id = tool_conversation(user, "shop.query")
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say(call("shop__query", sql="SELECT name FROM products WHERE price_cents > 3000"))
    frames = await socket.until("end")
    await socket.close()
    (result,) = of_type(frames, "tool_result")
    assert result["is_error"] is False
    assert json.loads(result["content"])["rows"] == [["Desk lamp"], ["Headphones"]]
