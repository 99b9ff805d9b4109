"""The chat layer's refusals: each a ParleyError, its code and kind, answered by every
transport in one place (api/errors.py for HTTP, realtime/ for socket error frames)."""

from __future__ import annotations

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
