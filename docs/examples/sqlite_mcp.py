"""An MCP server that answers questions by querying a SQLite database, read-only.

    python sqlite_mcp.py                       # the sample shop (sample_shop.sql), in memory
    python sqlite_mcp.py --database shop.db    # your own database file, opened read-only

It speaks MCP over stdio, so Parley runs it from PARLEY_TOOLS_FILE (see sqlite_tools.json);
`--port N` serves streamable HTTP on 127.0.0.1:N instead. Tools: `describe` (the tables and
their columns) and `query` (one SELECT; at most MAX_ROWS rows come back). Needs the `mcp`
package, which Parley's own environment has.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

SAMPLE = Path(__file__).with_name("sample_shop.sql")
MAX_ROWS = 200
# A query running longer than this is stopped (SQLite checks every PROGRESS_STEPS steps).
MAX_QUERY_S = 5.0
PROGRESS_STEPS = 10_000

# What a query may do: read tables and call functions; no writes, no ATTACH, no PRAGMA.
READ_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    sqlite3.SQLITE_RECURSIVE,
}

server = MCPServer("sqlite", log_level="WARNING")
database: sqlite3.Connection


def read_only(action: int, *_: object) -> int:
    return sqlite3.SQLITE_OK if action in READ_ACTIONS else sqlite3.SQLITE_DENY


def open_database(path: Path | None) -> sqlite3.Connection:
    if path is None:
        connection = sqlite3.connect(":memory:", check_same_thread=False)
        connection.executescript(SAMPLE.read_text(encoding="utf-8"))
    else:
        connection = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
        )
    # Whatever the model writes, nothing changes: anything but reading is refused.
    connection.execute("PRAGMA query_only = ON")
    connection.set_authorizer(read_only)
    return connection


@server.tool()
def describe() -> str:
    """The database's tables, each with its columns and their types, as SQL."""
    rows = database.execute(
        "SELECT sql FROM sqlite_schema WHERE type = 'table' AND sql IS NOT NULL ORDER BY name"
    ).fetchall()
    return "\n".join(f"{sql};" for (sql,) in rows)


@server.tool()
def query(sql: str) -> str:
    """Run one read-only SQL query (SQLite dialect) and get its rows as JSON: {"columns":
    [...], "rows": [[...], ...], "truncated": bool}. Call `describe` first for the tables."""
    deadline = time.monotonic() + MAX_QUERY_S
    database.set_progress_handler(lambda: time.monotonic() > deadline, PROGRESS_STEPS)
    try:
        cursor = database.execute(sql)
        rows = cursor.fetchmany(MAX_ROWS + 1)
    except sqlite3.Error as exc:
        raise ToolError(f"SQLite: {exc}") from exc
    finally:
        database.set_progress_handler(None, 0)
    columns = [column[0] for column in cursor.description or ()]
    return json.dumps(
        {"columns": columns, "rows": rows[:MAX_ROWS], "truncated": len(rows) > MAX_ROWS},
        ensure_ascii=False,
    )


def main() -> None:
    global database
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", type=Path, help="a SQLite file (default: the sample)")
    parser.add_argument("--port", type=int, help="serve streamable HTTP on 127.0.0.1:PORT")
    args = parser.parse_args()
    database = open_database(args.database)
    if args.port is None:
        server.run()
    else:
        server.run("streamable-http", host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
