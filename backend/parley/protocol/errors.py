"""The one base of every error Parley shows a user: a code, a message safe to show, a kind.

Transports translate the kind, each in one place: api/errors.py to an HTTP status,
realtime/socket.py to a socket error frame.
"""

from __future__ import annotations

from typing import ClassVar, Literal

# The codes of a socket's error frames (shared/CONTRACT.md).
ErrorCode = Literal[
    "bad_request",
    "too_long",
    "rate_limited",
    "busy",
    "no_active_run",
    "model_unavailable",
    "generation_failed",
    "interrupted",
    "internal_error",
]

# What went wrong, in the terms a transport translates (an HTTP status, a socket code).
ErrorKind = Literal[
    "invalid",
    # The request's form is wrong (a function's schema, a tool result for no call): HTTP 400.
    "malformed",
    "too_large",
    "not_found",
    "busy",
    "rate_limited",
    "unavailable",
    "failed",
    "internal",
]


class ParleyError(Exception):
    """`code` names the error for clients; `kind` says how a transport answers it;
    `retry_after_s`, where set, is how long the client should wait before trying again;
    `param`, where set, names the request's field at fault (`tools[0].function.name`)."""

    default_code: ClassVar[str] = "internal_error"
    default_kind: ClassVar[ErrorKind] = "internal"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        kind: ErrorKind | None = None,
        retry_after_s: int | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code: str = code or self.default_code
        self.kind: ErrorKind = kind or self.default_kind
        self.retry_after_s = retry_after_s
        self.param = param


class ModelUnavailable(ParleyError):
    """A model that is not known (`unknown_model`) or cannot load (`model_failed`)."""

    default_code = "model_failed"
    default_kind = "unavailable"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        kind: ErrorKind = "not_found" if code == "unknown_model" else "unavailable"
        super().__init__(message, code=code, kind=kind)
