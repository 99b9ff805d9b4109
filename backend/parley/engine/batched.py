"""What every engine that renders, tokenizes and batches by itself shares (transformers,
llama.cpp): the prompt from the turns (tools offered in the model's own format), one request
through the decode loop as an async stream, the thinking split, the tool-call parsing, cancel
and close. Torch-free."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any, Generic

from parley.engine.base import ChatTurn, EngineError, GenerationRequest, ModelCard
from parley.engine.batch_queue import S
from parley.engine.decode_loop import DecodeLoop
from parley.engine.reasoning import RawProgress, split_thinking
from parley.engine.tool_calls import parse_tool_calls, tool_call_parser
from parley.engine.tool_prompts import (
    TemplateMessage,
    TemplateTools,
    ToolSyntax,
    detect_tool_syntax,
    tool_prompt,
)
from parley.protocol import AnswerProgress, Finished, ToolSpec
from parley.workers import run_cpu


def answer_room(prompt_ids: list[int], context_length: int) -> int:
    """How many new tokens fit after the prompt; EngineError when none do."""
    if not prompt_ids:
        raise EngineError("The prompt is empty.")
    room = context_length - len(prompt_ids)
    if room <= 0:
        raise EngineError(
            f"The prompt has {len(prompt_ids)} tokens; the model reads at most {context_length}."
        )
    return room


class BatchedEngine(ABC, Generic[S]):
    """Subclasses set `_card`, `_loop` and `_sequence_kind` and say how to render and code text."""

    _card: ModelCard
    _loop: DecodeLoop[S]
    _sequence_kind: type[S]

    @property
    def card(self) -> ModelCard:
        return self._card

    @abstractmethod
    def _apply_template(
        self,
        messages: list[TemplateMessage],
        tools: TemplateTools | None,
        *,
        enable_thinking: bool | None,
    ) -> str:
        """The model's own chat template applied to the messages (and tools, when given),
        ending where the reply starts."""

    @property
    @abstractmethod
    def _template_source(self) -> str | None:
        """The chat template's text, to read its tool format from."""

    @functools.cached_property
    def tool_syntax(self) -> ToolSyntax:
        def render(messages: list[TemplateMessage], tools: TemplateTools | None) -> str:
            return self._apply_template(messages, tools, enable_thinking=None)

        return detect_tool_syntax(self._template_source, render)

    def render_request(self, request: GenerationRequest) -> str:
        """The prompt for a request: its turns and tool history, the tools it offers, and the
        opening of the call a "required" or named `tool_choice` makes the model write."""
        prompt = tool_prompt(request, self.tool_syntax)
        rendered = self._apply_template(
            prompt.messages, prompt.tools, enable_thinking=request.enable_thinking
        )
        return rendered + prompt.answer_prefix

    def render_prompt(
        self,
        turns: Sequence[ChatTurn],
        *,
        enable_thinking: bool | None,
        tools: Sequence[ToolSpec] = (),
    ) -> str:
        """The prompt for the turns, offering `tools` (none: no offer)."""
        return self.render_request(
            GenerationRequest("", tuple(turns), enable_thinking=enable_thinking, tools=tuple(tools))
        )

    @abstractmethod
    def _encode(self, text: str) -> list[int]:
        """Token ids of a rendered prompt (its special tokens already written out)."""

    @abstractmethod
    def _decode(self, ids: list[int]) -> str:
        """Text of token ids, special tokens left out; a cut character ends in U+FFFD."""

    def check_request(self, request: GenerationRequest) -> None:
        """Nothing to refuse unless the engine says so (`_sequence_fields` is where it reads
        the request)."""
        self._sequence_fields(request)

    def _sequence_fields(self, request: GenerationRequest) -> dict[str, Any]:
        """Fields of the engine's own sequence kind for this request (its grammar); raises
        ParleyError for what the engine cannot do."""
        return {}

    def count_tokens(self, text: str) -> int:
        return len(self._encode(text))

    async def prompt_tokens(
        self,
        turns: Sequence[ChatTurn],
        *,
        enable_thinking: bool | None,
        tools: Sequence[ToolSpec] = (),
    ) -> int:
        def count() -> int:
            prompt = self.render_prompt(turns, enable_thinking=enable_thinking, tools=tools)
            return self.count_tokens(prompt)

        return await run_cpu(count)

    async def generate(self, request: GenerationRequest) -> AsyncIterator[AnswerProgress]:
        prompt = self.render_request(request)
        raw = self._generate_text(request, self._encode(prompt))
        stream = split_thinking(raw, self._card, prompt=prompt)
        parser = tool_call_parser(request, self.tool_syntax)
        if parser is not None:
            stream = parse_tool_calls(stream, parser, parallel=request.parallel_tool_calls)
        async with contextlib.aclosing(stream):
            async for event in stream:
                yield event

    async def _generate_text(
        self, request: GenerationRequest, prompt_ids: list[int]
    ) -> AsyncGenerator[RawProgress]:
        """The raw text events of one request through the decode loop; closing the stream
        early cancels the request, which frees its slot."""
        room = answer_room(prompt_ids, self._card.context_length)
        params = request.params
        running = asyncio.get_running_loop()
        events: asyncio.Queue[RawProgress | EngineError] = asyncio.Queue()

        def emit(event: RawProgress | EngineError) -> None:
            # A consumer whose loop has closed no longer listens.
            with contextlib.suppress(RuntimeError):
                running.call_soon_threadsafe(events.put_nowait, event)

        self._loop.submit(
            self._sequence_kind.start(
                request.request_id,
                prompt_ids,
                params,
                min(params.max_tokens, room),
                self._decode,
                emit,
                **self._sequence_fields(request),
            )
        )
        finished = False
        try:
            while not finished:
                event = await events.get()
                if isinstance(event, EngineError):
                    finished = True
                    raise event
                finished = isinstance(event, Finished)
                yield event
        finally:
            if not finished:
                self._loop.cancel(request.request_id)

    async def cancel(self, request_id: str) -> None:
        self._loop.cancel(request_id)

    async def close(self) -> None:
        await asyncio.to_thread(self._loop.close)
