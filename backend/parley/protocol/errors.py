"""The one base of every error Parley shows a user: a code, a message safe to show, a kind.

Transports map the kind to an HTTP status or a socket error frame, each in one place.
"""

from __future__ import annotations

from typing import ClassVar, Literal

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
