"""Every MCP server of the tools file, and the tools they offer: what `GET /api/tools` shows,
what a conversation may pick, what a run offers the model and how its calls are run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from parley.protocol import ToolPublic, ToolServerStatus, ToolSpec, ToolsPublic
from parley.tools.config import ToolsConfig
from parley.tools.connection import ToolServer
from parley.tools.names import function_name, qualified_name, split_qualified
from parley.tools.results import ToolOutcome
from parley.tools.servers_file import read_tools_file


@dataclass(frozen=True, slots=True)
class ToolCaller:
    """Who asks for tools: the servers' `allow` lists name users; an administrator also sees
    why a server failed (its error may quote the server's stderr)."""

    username: str
    is_admin: bool = False


@dataclass(frozen=True, slots=True)
class ToolOffer:
    """The tools one generation offers: their specs under the function names the model calls,
    and each function name's "<server>.<tool>"."""

    specs: tuple[ToolSpec, ...]
    qualified: dict[str, str]
    # Picked, but not offered now: their server is not ready, or no longer lists them.
    unavailable: tuple[str, ...] = ()


NO_TOOLS = ToolOffer(specs=(), qualified={})


class ToolRegistry:
    def __init__(self, config: ToolsConfig) -> None:
        entries = read_tools_file(config.tools_file) if config.tools_file is not None else []
        self._servers = {entry.id: ToolServer(entry, config) for entry in entries}

    def start(self) -> None:
        for server in self._servers.values():
            server.start()

    async def close(self) -> None:
        await asyncio.gather(*(server.close() for server in self._servers.values()))

    def public(self, caller: ToolCaller) -> ToolsPublic:
        """The servers `caller` may use, and the tools of those that are ready; why one
        failed for administrators only (others see that it is `failed`)."""
        usable = [
            server for server in self._servers.values() if server.entry.allows(caller.username)
        ]
        return ToolsPublic(
            tools=[
                ToolPublic(
                    server=server.id,
                    name=tool.name,
                    description=tool.description or "",
                    input_schema=tool.input_schema,
                )
                for server in usable
                if server.state == "ready"
                for tool in server.tools.values()
            ],
            servers=[
                ToolServerStatus(
                    id=server.id,
                    state=server.state,
                    error=server.error if caller.is_admin else None,
                )
                for server in usable
            ],
        )

    def unknown(self, names: Iterable[str], username: str) -> list[str]:
        """The names that are no tool of a server `username` may use, as last listed."""
        return [
            name
            for name in names
            if (known := self._known(name)) is None or not known[0].entry.allows(username)
        ]

    def not_allowed(self, names: Iterable[str], username: str) -> list[str]:
        """The names of tools of a server `username` may not use (whether listed now or not:
        a server that restarts does not make a picked tool unusable, a permission does)."""
        return [
            name
            for name in names
            if (parts := split_qualified(name)) is not None
            and (server := self._servers.get(parts[0])) is not None
            and not server.entry.allows(username)
        ]

    def _known(self, name: str) -> tuple[ToolServer, str] | None:
        parts = split_qualified(name)
        if parts is None:
            return None
        server = self._servers.get(parts[0])
        if server is None or parts[1] not in server.tools:
            return None
        return server, parts[1]

    def offer(self, names: Iterable[str]) -> ToolOffer:
        """The picked tools whose server is ready now."""
        specs: list[ToolSpec] = []
        qualified: dict[str, str] = {}
        unavailable: list[str] = []
        for name in dict.fromkeys(names):
            known = self._known(name)
            if known is None or known[0].state != "ready":
                unavailable.append(name)
                continue
            server, tool_name = known
            tool = server.tools[tool_name]
            function = function_name(qualified_name(server.id, tool_name))
            qualified[function] = name
            specs.append(ToolSpec(function, tool.description or "", tool.input_schema))
        return ToolOffer(tuple(specs), qualified, tuple(unavailable))

    async def call(self, name: str, arguments: str) -> ToolOutcome:
        """Run "<server>.<tool>" with `arguments` (JSON text of an object; empty means none)."""
        known = self._known(name)
        if known is None:
            return ToolOutcome(f"There is no tool named {name!r}.", is_error=True)
        try:
            parsed: Any = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            return ToolOutcome(f"The arguments are not valid JSON: {exc}.", is_error=True)
        if not isinstance(parsed, dict):
            return ToolOutcome("The arguments must be a JSON object.", is_error=True)
        server, tool_name = known
        return await server.call(tool_name, parsed)
