"""Split a model's streamed text into thinking and answer at `<think>`/`</think>` style tags.

Tags may arrive cut across deltas, so text that could be the start of a tag is held back until
the next delta decides it. A model that never closes its tag leaves everything as thinking.
Every engine that makes raw text runs its stream through `split_thinking`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from parley.engine.base import EngineError, ModelCard
from parley.protocol import (
    AnswerProgress,
    Finished,
    Piece,
    Pieces,
    Prefilling,
    Queued,
    TextChannel,
    TokenLogprob,
)


@dataclass(frozen=True, slots=True)
class TextDelta:
    """An engine's raw text of new tokens, before the split (may be empty while a multi-byte
    character is cut), and the log probabilities of the tokens it completes (if asked)."""

    text: str
    completion_tokens: int
    logprobs: tuple[TokenLogprob, ...] = ()


RawProgress = Queued | Prefilling | TextDelta | Finished


def partial_tag_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `tag`."""
    for size in range(min(len(text), len(tag) - 1), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


class ReasoningSplitter:
    def __init__(
        self,
        open_tag: str = "<think>",
        close_tag: str = "</think>",
        *,
        start_in_thinking: bool = False,
    ) -> None:
        if not open_tag or not close_tag:
            raise ValueError("thinking tags must not be empty")
        self._open = open_tag
        self._close = close_tag
        self._thinking = start_in_thinking
        # Thinking may only open at the very start of the answer (after whitespace).
        self._may_open = not start_in_thinking
        self._held = ""
        # Newlines right after the closing tag are framing, not the start of the answer.
        self._strip_leading_newlines = False

    @property
    def in_thinking(self) -> bool:
        return self._thinking

    def feed(self, text: str) -> list[Piece]:
        pieces: list[Piece] = []
        buffer = self._held + text
        self._held = ""
        while buffer:
            if self._thinking:
                index = buffer.find(self._close)
                if index >= 0:
                    self._emit(pieces, "thinking", buffer[:index])
                    buffer = buffer[index + len(self._close) :]
                    self._thinking = False
                    self._strip_leading_newlines = True
                    continue
                keep = partial_tag_suffix(buffer, self._close)
                self._emit(pieces, "thinking", buffer[: len(buffer) - keep])
                self._held = buffer[len(buffer) - keep :]
                break
            if self._may_open:
                stripped = buffer.lstrip()
                if stripped.startswith(self._open):
                    buffer = stripped[len(self._open) :]
                    self._thinking = True
                    self._may_open = False
                    continue
                if self._open.startswith(stripped):
                    # Still could become the opening tag (or is only whitespace so far).
                    self._held = buffer
                    break
                self._may_open = False
            self._emit(pieces, "answer", buffer)
            break
        return pieces

    def _emit(self, pieces: list[Piece], channel: TextChannel, text: str) -> None:
        if channel == "answer" and self._strip_leading_newlines:
            text = text.lstrip("\n")
            if text:
                self._strip_leading_newlines = False
        if not text:
            return
        if pieces and pieces[-1].channel == channel:
            pieces[-1] = Piece(channel, pieces[-1].text + text)
        else:
            pieces.append(Piece(channel, text))

    def flush(self) -> list[Piece]:
        """The held-back text at the end of the stream: a cut tag that never completed is text."""
        held, self._held = self._held, ""
        pieces: list[Piece] = []
        if held:
            self._emit(pieces, "thinking" if self._thinking else "answer", held)
        return pieces


async def split_thinking(
    raw: AsyncGenerator[RawProgress, None], card: ModelCard, *, prompt: str
) -> AsyncGenerator[AnswerProgress, None]:
    """An engine's raw stream as `AnswerProgress`. The held-back text comes out before
    `Finished`, or before the `EngineError` is raised again. A prompt that ends with the
    opening tag starts the answer in thinking. Closing this stream closes `raw`."""
    splitter = ReasoningSplitter(
        card.think_open,
        card.think_close,
        start_in_thinking=prompt.rstrip().endswith(card.think_open),
    )
    # The last count that came with text: the held-back tail belongs to those tokens.
    completion_tokens = 0
    # Log probabilities wait with the text the splitter holds, to come out with it.
    logprobs: tuple[TokenLogprob, ...] = ()

    def tail() -> Pieces | None:
        pieces = splitter.flush()
        return Pieces(tuple(pieces), completion_tokens, logprobs) if pieces or logprobs else None

    async with contextlib.aclosing(raw):
        try:
            async for event in raw:
                if isinstance(event, TextDelta):
                    completion_tokens = event.completion_tokens
                    logprobs += event.logprobs
                    pieces = tuple(splitter.feed(event.text))
                    yield Pieces(pieces, completion_tokens, logprobs if pieces else ())
                    if pieces:
                        logprobs = ()
                elif isinstance(event, Finished):
                    if (last := tail()) is not None:
                        yield last
                    yield event
                    return
                else:
                    yield event
        except EngineError:
            if (last := tail()) is not None:
                yield last
            raise
