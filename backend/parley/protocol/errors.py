"""The one base of every error Parley shows a user: a code, a message safe to show, a kind.

Transports translate the kind, each in one place: api/errors.py to an HTTP status,
realtime/socket.py to a socket error frame (`socket_code`, which a run's error event
carries too). The client (parley.client) raises the same class for what the server answers.
"""

from __future__ import annotations

from typing import ClassVar, Literal, get_args

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
    # Wrong or missing credentials.
    "unauthenticated",
    # Known, and not allowed (a disabled account).
    "forbidden",
    "too_large",
    # A kind of content the server does not read (a file type).
    "unsupported",
    "not_found",
    # The state of things refuses it (a taken username, the last administrator).
    "conflict",
    # Something is in progress (an answer being generated).
    "busy",
    "rate_limited",
    "unavailable",
    "failed",
    "internal",
]

# The HTTP status of each kind: the server answers with it (api/errors.py) and the client
# reads it back (parley.client); several kinds may share one.
HTTP_STATUS: dict[ErrorKind, int] = {
    "invalid": 422,
    "malformed": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "too_large": 413,
    "unsupported": 415,
    "not_found": 404,
    "conflict": 409,
    "busy": 409,
    "rate_limited": 429,
    "unavailable": 503,
    "failed": 502,
    "internal": 500,
}

# Where a socket's error has no code of its own in the contract, its kind's; these never
# reach a socket but get a code all the same.
_KIND_SOCKET_CODES: dict[ErrorKind, ErrorCode] = {
    "invalid": "bad_request",
    "malformed": "bad_request",
    "unauthenticated": "bad_request",
    "forbidden": "bad_request",
    "too_large": "too_long",
    "unsupported": "bad_request",
    "not_found": "bad_request",
    "conflict": "bad_request",
    "busy": "busy",
    "rate_limited": "rate_limited",
    "unavailable": "model_unavailable",
    "failed": "generation_failed",
    "internal": "internal_error",
}
# The codes a socket keeps as they are; a model the server does not know is
# `model_unavailable` there (shared/CONTRACT.md).
_OWN_SOCKET_CODES: dict[str, ErrorCode] = {
    **{code: code for code in get_args(ErrorCode)},
    "unknown_model": "model_unavailable",
}


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


class QuotaExceeded(ParleyError):
    """One user reached a per-user cap (a PARLEY_MAX_*_PER_USER setting): what they hold
    (conversations, keys, stored bytes) is a `conflict` until they delete some; what is open
    at once (sockets) is `rate_limited`."""

    default_kind = "conflict"

    def __init__(self, code: str, what: str, limit: int, setting: str) -> None:
        kind: ErrorKind = "rate_limited" if code == "too_many_sockets" else "conflict"
        super().__init__(
            f"You have reached the limit of {limit:,} {what} (PARLEY_{setting.upper()}).",
            code=code,
            kind=kind,
        )


def socket_code(error: ParleyError) -> ErrorCode:
    """The code of a socket error frame (and of a run's error event) for `error`: its own
    where the contract lists it, else its kind's."""
    return _OWN_SOCKET_CODES.get(error.code) or _KIND_SOCKET_CODES[error.kind]
