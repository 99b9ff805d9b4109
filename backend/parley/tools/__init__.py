"""Tools: the MCP servers the administrator lists in PARLEY_TOOLS_FILE, kept connected, and
the calls runs make to them. A layer beside engine/, below chat/: it imports only protocol/.

servers_file: the file and its checks; names: a tool's names ("<server>.<tool>" and the
function name a model calls); connection: one server and its task; results: a call's outcome
as text; registry: all of them, for the API and for runs.
"""

from parley.tools.config import ToolsConfig
from parley.tools.names import called_name, function_name, qualified_name
from parley.tools.registry import NO_TOOLS, ToolCaller, ToolOffer, ToolRegistry
from parley.tools.results import ToolOutcome

__all__ = [
    "NO_TOOLS",
    "ToolCaller",
    "ToolOffer",
    "ToolOutcome",
    "ToolRegistry",
    "ToolsConfig",
    "called_name",
    "function_name",
    "qualified_name",
]
