"""PARLEY_TOOLS_FILE: the MCP servers the administrator connects, read and checked at start-up.

A JSON list of `{"id", "transport": "stdio", "command": [...], "env"?, "allow"?}` or
`{"id", "transport": "http", "url", "headers"?, "allow"?}`. Only this file names commands to
run: no request can add one. `allow` lists the usernames that may use the server's tools
(administrators are not exempt); without it, every user may.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

# Words of letters and digits joined by single "-" or "_": a server id never holds "__" nor
# ends in "_", so "<server>__<tool>", the name a model calls, splits one way only.
SERVER_ID_PATTERN = r"^[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*$"
SERVER_ID_MAX = 32


class _ServerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(max_length=SERVER_ID_MAX, pattern=SERVER_ID_PATTERN)
    # The usernames that may use this server's tools; None: everyone.
    allow: frozenset[str] | None = None

    def allows(self, username: str) -> bool:
        return self.allow is None or username in self.allow


class StdioServer(_ServerEntry):
    """A server Parley runs as a child process and talks to over its stdin and stdout."""

    transport: Literal["stdio"]
    # The program and its arguments, run without a shell.
    command: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    # Added to a minimal environment (PATH, HOME, ...): the server sees none of Parley's secrets.
    env: dict[str, str] = Field(default_factory=dict)


class HttpServer(_ServerEntry):
    """A server that listens on its own, reached over MCP's streamable HTTP."""

    transport: Literal["http"]
    url: str = Field(pattern=r"^https?://\S+$")
    headers: dict[str, str] = Field(default_factory=dict)


ServerEntry = Annotated[StdioServer | HttpServer, Field(discriminator="transport")]
_entry_adapter: TypeAdapter[StdioServer | HttpServer] = TypeAdapter(ServerEntry)


def _problems(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'entry'}: {problem['msg']}"
        for problem in error.errors(include_url=False)
    )


def read_tools_file(path: Path) -> list[StdioServer | HttpServer]:
    """The servers the file lists; a ValueError naming the file and the entry otherwise."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the tools file: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from exc
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a JSON list of MCP servers")
    servers: list[StdioServer | HttpServer] = []
    for number, entry in enumerate(entries, start=1):
        name = entry.get("id") if isinstance(entry, dict) else None
        where = f"{path}: server {number}" + (f" ({name!r})" if isinstance(name, str) else "")
        try:
            servers.append(_entry_adapter.validate_python(entry))
        except ValidationError as exc:
            raise ValueError(f"{where}: {_problems(exc)}") from exc
    ids = [server.id for server in servers]
    repeated = sorted({server_id for server_id in ids if ids.count(server_id) > 1})
    if repeated:
        raise ValueError(f"{path}: server ids must be unique; repeated: {repeated}")
    return servers
