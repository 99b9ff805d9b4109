"""The chat layer's refusals: each a ParleyError, its code and kind, answered by every
transport in one place (api/errors.py for HTTP, realtime/ for socket error frames)."""

from __future__ import annotations

from collections.abc import Sequence

from parley.protocol import ErrorCode, ErrorKind, ParleyError


class ConversationNotFound(ParleyError):
    """Another user's conversation answers exactly like a missing one."""

    default_code = "conversation_not_found"
    default_kind = "not_found"

    def __init__(self, conversation_id: str) -> None:
        super().__init__("No such conversation.")
        self.conversation_id = conversation_id


class UnknownMessage(ParleyError):
    """A message id that is not one of the conversation's."""

    default_code = "unknown_message"
    default_kind = "invalid"


class ModelsBusy(ParleyError):
    """No room to load a model: every loaded one is answering (none is cut for it)."""

    default_code = "model_unavailable"
    default_kind = "busy"


_REFUSAL_KINDS: dict[str, ErrorKind] = {"busy": "busy", "rate_limited": "rate_limited"}


class ChatRefused(ParleyError):
    """A client request the service will not carry out; answered to that client alone."""

    default_kind = "invalid"

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message, code=code, kind=_REFUSAL_KINDS.get(code))
        self.code: ErrorCode = code


class ToolNotAllowed(ParleyError):
    """A conversation picked tools of a server whose `allow` list leaves its owner out (picked
    before the list changed, or brought in by an import)."""

    default_code = "tool_not_allowed"
    default_kind = "forbidden"

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(
            f"You may not use {', '.join(repr(name) for name in names)}: remove "
            "it from the conversation's tools (PATCH its `tools`) to send."
        )


class UnknownTool(ParleyError):
    """A conversation picking tools that no configured MCP server lists."""

    default_code = "unknown_tool"
    default_kind = "invalid"

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(
            f"No such tool: {', '.join(repr(name) for name in names)}. Pick tools as "
            'GET /api/tools lists them, "<server>.<name>", from servers that are ready.'
        )
