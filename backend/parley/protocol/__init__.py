"""Parley's wire vocabulary: a leaf package every layer may import; it imports no other."""

from parley.protocol.errors import ErrorKind, ParleyError
from parley.protocol.progress import (
    AnswerProgress,
    Channel,
    Finished,
    FinishReason,
    Piece,
    Pieces,
    Prefilling,
    Queued,
    Role,
    Usage,
)

__all__ = [
    "AnswerProgress",
    "Channel",
    "ErrorKind",
    "FinishReason",
    "Finished",
    "ParleyError",
    "Piece",
    "Pieces",
    "Prefilling",
    "Queued",
    "Role",
    "Usage",
]
