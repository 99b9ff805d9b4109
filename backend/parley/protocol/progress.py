"""One vocabulary for an answer's progress, from the engine up to every transport.

An engine yields these; WebSocket runs and the stateless completions read them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FinishReason = Literal["stop", "length", "cancelled"]
Role = Literal["system", "user", "assistant"]
Channel = Literal["thinking", "answer"]


@dataclass(frozen=True, slots=True)
class ChatTurn:
    role: Role
    content: str


# Tokens read and made; also an answer's `usage` on the wire (a docstring would enter the schema).
@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class Queued:
    """Waiting for a free slot in the batch; position 1 is next in line."""

    position: int


@dataclass(frozen=True, slots=True)
class Prefilling:
    """The prompt is being read; no token yet."""

    prompt_tokens: int


@dataclass(frozen=True, slots=True)
class Piece:
    channel: Channel
    text: str


@dataclass(frozen=True, slots=True)
class Pieces:
    """The text of new tokens, already split into thinking and answer. It may hold no piece
    (a tag still undecided, a character cut); `completion_tokens` is the running count."""

    pieces: tuple[Piece, ...]
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class Finished:
    finish_reason: FinishReason
    usage: Usage


AnswerProgress = Queued | Prefilling | Pieces | Finished
