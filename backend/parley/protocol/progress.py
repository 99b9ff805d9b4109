"""One vocabulary for an answer's progress, from the engine up to every transport.

An engine yields these; WebSocket runs and the stateless completions read them as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

# "tool_calls": the answer stopped to call tools (the chat service runs them and goes on; a
# `/v1` caller runs them itself).
FinishReason = Literal["stop", "length", "cancelled", "tool_calls"]
Role = Literal["system", "user", "assistant", "tool"]
# Which text of an answer a piece belongs to; not a conversation's event channel
# (chat/live/channels.py).
TextChannel = Literal["thinking", "answer"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A call the model asked for. `name` as offered to the model; `arguments` is JSON text,
    kept as the model wrote it (the tool's server judges it)."""

    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A function offered to the model: `parameters` is its arguments' JSON Schema."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ForcedTool:
    """`tool_choice` naming one function: the model must call it."""

    name: str


ToolChoice = Literal["auto", "none", "required"] | ForcedTool


@dataclass(frozen=True, slots=True)
class JsonOutput:
    """`response_format` asking for JSON: any object (`json_object`), or with `schema` a value
    valid against it (`json_schema`). Engines that can constrain decoding make the answer
    parse; every engine's answer is checked."""

    schema: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ChatTurn:
    role: Role
    content: str
    # An assistant turn's calls (its content is the text before them).
    tool_calls: tuple[ToolCall, ...] = ()
    # A "tool" turn: the call whose result `content` is.
    tool_call_id: str | None = None


# Tokens read and made; also an answer's `usage` on the wire (a docstring would enter the schema).
# `cached_tokens`: of the prompt tokens, those the engine did not read again (kept from an
# earlier turn or copied from a request with the same start); 0 where it cannot tell.
@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0

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
    channel: TextChannel
    text: str


@dataclass(frozen=True, slots=True)
class TopLogprob:
    """One of the likeliest tokens at a step of the answer: its own text (a cut UTF-8
    character decodes to U+FFFD), its bytes, and its log probability."""

    token: str
    token_bytes: bytes
    logprob: float


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """A generated token's log probability under the model's distribution (before any
    sampler changed it), with the `top` likeliest tokens at its step, most likely first.
    `token` is the text the token added to the answer: a character cut across tokens comes
    whole with its last token (the others add ""), and a token a stop string cut adds what
    came before the cut; `token_bytes` are the token's own bytes."""

    token: str
    token_bytes: bytes
    logprob: float
    top: tuple[TopLogprob, ...] = ()


@dataclass(frozen=True, slots=True)
class Pieces:
    """The text of new tokens, already split into thinking and answer. It may hold no piece
    (a tag still undecided, a character cut); `completion_tokens` is the running count.
    `logprobs`: where the request asked for them, those of the tokens whose text came out
    in this event or was held back since (thinking and tool-call markup included)."""

    pieces: tuple[Piece, ...]
    completion_tokens: int
    logprobs: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True, slots=True)
class Finished:
    finish_reason: FinishReason
    usage: Usage


@dataclass(frozen=True, slots=True)
class ToolCallMade:
    """A whole call parsed from the answer (or received from a remote engine). `index` counts
    the answer's calls from 0. The answer then ends with `Finished("tool_calls")`."""

    call: ToolCall
    index: int


AnswerProgress = Queued | Prefilling | Pieces | ToolCallMade | Finished
