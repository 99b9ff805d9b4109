"""The one base of every error Parley shows a user: a code, a message safe to show, a kind.

Transports map the kind to an HTTP status or a socket error frame, each in one place.
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
ErrorKind = Literal["invalid", "not_found", "unavailable", "busy", "failed", "internal"]


class ParleyError(Exception):
    default_code: ClassVar[str] = "internal_error"
    kind: ClassVar[ErrorKind] = "internal"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # An instance may refine its class's code; the kind stays the class's.
        self.code: str = code or self.default_code


class ModelUnavailable(ParleyError):
    """A model that is not known (`unknown_model`) or cannot load (`model_failed`)."""

    default_code = "model_failed"
    kind = "unavailable"
