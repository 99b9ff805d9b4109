"""What every engine that renders, tokenizes and batches by itself shares (transformers,
llama.cpp): the prompt from the turns (tools offered in the model's own format), one request
through the decode loop as an async stream, the thinking split, the tool-call parsing, cancel
and close. Torch-free."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any, Generic

from parley.engine.base import ChatTurn, EngineError, GenerationRequest, ModelCard
from parley.engine.batch_queue import S
from parley.engine.decode_loop import DecodeLoop
from parley.engine.prompt_text import (
    RenderedPrompt,
    encode_prompt,
    render_literally,
)
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
    """Subclasses set `_card`, `_loops`, `_sequence_kind` and `_specials` (their tokenizer's
    `special_texts_pattern`) and say how to render and code text."""

    _card: ModelCard
    # The model's decode loops; a request runs in the one `_loop_for` names.
    _loops: Sequence[DecodeLoop[S]]
    _sequence_kind: type[S]
    _specials: re.Pattern[str] | None

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

    def render_request(self, request: GenerationRequest) -> RenderedPrompt:
        """The prompt for a request: its turns and tool history, the tools it offers, and the
        opening of the call a "required" or named `tool_choice` makes the model write. Special
        tokens' texts in what the request says are marked to be read as plain text."""
        prompt = tool_prompt(request, self.tool_syntax)

        def render(messages: list[TemplateMessage], tools: TemplateTools | None) -> str:
            return self._apply_template(messages, tools, enable_thinking=request.enable_thinking)

        rendered = render_literally(self._specials, render, prompt.messages, prompt.tools)
        return rendered.followed_by(prompt.answer_prefix)

    def render_prompt(
        self,
        turns: Sequence[ChatTurn],
        *,
        enable_thinking: bool | None,
        tools: Sequence[ToolSpec] = (),
    ) -> RenderedPrompt:
        """The prompt for the turns, offering `tools` (none: no offer)."""
        return self.render_request(
            GenerationRequest("", tuple(turns), enable_thinking=enable_thinking, tools=tuple(tools))
        )

    @abstractmethod
    def _tokenize(self, text: str, parse_special: bool) -> list[int]:
        """Token ids of text, special tokens' texts read as such or as plain text."""

    def _encode(self, prompt: RenderedPrompt) -> list[int]:
        """Token ids of a rendered prompt: special tokens only where the template wrote them."""
        return encode_prompt(prompt, self._tokenize)

    @abstractmethod
    def _decode(self, ids: list[int]) -> str:
        """Text of token ids, special tokens left out; a cut character ends in U+FFFD."""

    @abstractmethod
    def _token_bytes(self, token: int) -> bytes:
        """The bytes one token id stands for, to spell out log probabilities."""

    def check_request(self, request: GenerationRequest) -> None:
        """Nothing to refuse unless the engine says so (`_sequence_fields` is where it reads
        the request)."""
        self._sequence_fields(request)

    def _sequence_fields(self, request: GenerationRequest) -> dict[str, Any]:
        """Fields of the engine's own sequence kind for this request (its grammar); raises
        ParleyError for what the engine cannot do."""
        return {}

    def count_tokens(self, prompt: RenderedPrompt) -> int:
        return len(self._encode(prompt))

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
        stream = split_thinking(raw, self._card, prompt=prompt.text)
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

        sequence = self._sequence_kind.start(
            request.request_id,
            prompt_ids,
            params,
            min(params.max_tokens, room),
            self._decode,
            emit,
            token_bytes=self._token_bytes,
            **self._sequence_fields(request),
        )
        loop = self._loop_for(sequence.kv_tokens)
        loop.submit(sequence)
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
                loop.cancel(request.request_id)

    def _loop_for(self, kv_tokens: int) -> DecodeLoop[S]:
        """The loop a request that may need `kv_tokens` of KV runs in."""
        return self._loops[0]

    async def cancel(self, request_id: str) -> None:
        for loop in self._loops:
            loop.cancel(request_id)

    async def close(self) -> None:
        for loop in self._loops:
            await asyncio.to_thread(loop.close)
