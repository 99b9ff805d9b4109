"""Limits that hold for every transport: the socket, /api and /api/v1, and /v1.

Plain functions of their inputs, so a test can call them without a server; each refusal says
which limit and its value, and carries the code the transports answer with.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from parley.engine.base import ChatTurn
from parley.protocol import ToolSpec

RefusalCode = Literal["too_long", "too_many_messages", "too_large", "invalid_value"]


@dataclass(frozen=True, slots=True)
class Refusal:
    code: RefusalCode
    message: str
    # Too much to read (HTTP 413) rather than a value to correct (422).
    too_large: bool = False


@dataclass(frozen=True, slots=True)
class MessageLimits:
    max_message_chars: int
    # A stateless request (/v1, /api/v1) carries its whole history: these bound its size.
    max_request_messages: int = 1_000
    max_request_chars: int = 500_000
    max_system_prompt_chars: int = 16_000
    max_stop_sequences: int = 4
    max_stop_chars: int = 100

    def overlong(self, texts: Iterable[str]) -> str | None:
        """Why the texts are refused (`too_long`), or None when every one fits."""
        if any(len(text) > self.max_message_chars for text in texts):
            return f"Messages are limited to {self.max_message_chars} characters."
        return None

    def check_request(
        self,
        turns: Sequence[ChatTurn],
        system_prompt: str,
        stop: Sequence[str] = (),
        tools: Sequence[ToolSpec] = (),
    ) -> Refusal | None:
        """Why a stateless request is refused, or None; looks at counts and lengths only, so
        it costs nothing next to what it protects (rendering and tokenizing the history).
        Calls' arguments and the offered tools count among the characters."""
        if len(turns) > self.max_request_messages:
            return Refusal(
                "too_many_messages",
                f"A request may carry at most {self.max_request_messages} messages; "
                f"this one has {len(turns)}.",
                too_large=True,
            )
        total = (
            len(system_prompt)
            + sum(_turn_chars(turn) for turn in turns)
            + sum(_tool_chars(tool) for tool in tools)
        )
        if total > self.max_request_chars:
            return Refusal(
                "too_large",
                f"A request's messages may hold at most {self.max_request_chars} characters "
                f"together; these hold {total}.",
                too_large=True,
            )
        if len(system_prompt) > self.max_system_prompt_chars:
            return Refusal(
                "too_long",
                f"The system prompt is limited to {self.max_system_prompt_chars} characters.",
            )
        if (refusal := self.overlong(turn.content for turn in turns)) is not None:
            return Refusal("too_long", refusal)
        if len(stop) > self.max_stop_sequences:
            return Refusal(
                "invalid_value", f"stop takes at most {self.max_stop_sequences} strings."
            )
        if any(len(sequence) > self.max_stop_chars for sequence in stop):
            return Refusal(
                "invalid_value",
                f"Each stop string is limited to {self.max_stop_chars} characters.",
            )
        return None


def _turn_chars(turn: ChatTurn) -> int:
    return len(turn.content) + sum(len(call.name) + len(call.arguments) for call in turn.tool_calls)


def _tool_chars(tool: ToolSpec) -> int:
    return len(tool.name) + len(tool.description) + len(json.dumps(tool.parameters))
