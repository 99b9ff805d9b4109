"""A deterministic engine for fast protocol tests: it 'generates' a configured script.

Never the default: it only runs when the configuration names the model `scripted`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass

from parley.engine.base import ChatTurn, EngineError, GenerationRequest, ModelCard
from parley.engine.reasoning import RawProgress, TextDelta, split_thinking
from parley.protocol import AnswerProgress, Finished, FinishReason, Prefilling, Usage

_TOKEN = re.compile(r"\s*\S+|\s+")
_USER_MARK = "<|user|>\n"
_END_MARK = "<|end|>\n"
# A user message containing this makes the run fail after its first tokens (error-path tests).
FAIL_MARKER = "[[fail]]"


def split_tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


@dataclass(frozen=True, slots=True)
class ScriptedConfig:
    thinking: str = "Let me think about that."
    # `{user}` is replaced by the last user message.
    answer: str = "You said: {user}"
    token_delay_s: float = 0.01
    first_token_delay_s: float = 0.0
    context_length: int = 4096


class ScriptedEngine:
    def __init__(self, config: ScriptedConfig | None = None, name: str = "scripted") -> None:
        self._config = config or ScriptedConfig()
        # Its prompt honours enable_thinking=False, as Qwen3's template does.
        self._card = ModelCard(
            name=name, context_length=self._config.context_length, thinking_toggle=True
        )
        self._active: set[str] = set()
        self._cancelled: set[str] = set()

    @property
    def card(self) -> ModelCard:
        return self._card

    def render_prompt(self, turns: Sequence[ChatTurn], *, enable_thinking: bool | None) -> str:
        body = "".join(f"<|{turn.role}|>\n{turn.content}\n{_END_MARK}" for turn in turns)
        opener = "<|assistant|>\n"
        return body + (opener + "<think>\n\n</think>\n\n" if enable_thinking is False else opener)

    def count_tokens(self, text: str) -> int:
        return len(split_tokens(text))

    async def prompt_tokens(
        self, turns: Sequence[ChatTurn], *, enable_thinking: bool | None
    ) -> int:
        return self.count_tokens(self.render_prompt(turns, enable_thinking=enable_thinking))

    def _script(self, prompt: str) -> tuple[str, str]:
        last_user = ""
        if _USER_MARK in prompt:
            last_user = prompt.rsplit(_USER_MARK, 1)[1].split(_END_MARK, 1)[0].strip()
        thinking = self._config.thinking
        if prompt.endswith("</think>\n\n"):
            thinking = ""
        text = f"<think>{thinking}</think>\n\n" if thinking else ""
        return text + self._config.answer.replace("{user}", last_user), last_user

    async def generate(self, request: GenerationRequest) -> AsyncIterator[AnswerProgress]:
        prompt = self.render_prompt(request.turns, enable_thinking=request.enable_thinking)
        raw = self._generate_text(request, prompt)
        async with contextlib.aclosing(split_thinking(raw, self._card, prompt=prompt)) as stream:
            async for event in stream:
                yield event

    async def _generate_text(
        self, request: GenerationRequest, prompt: str
    ) -> AsyncGenerator[RawProgress, None]:
        self._active.add(request.request_id)
        prompt_tokens = self.count_tokens(prompt)
        yield Prefilling(prompt_tokens=prompt_tokens)
        script, last_user = self._script(prompt)
        if self._config.first_token_delay_s:
            await self._sleep(request.request_id, self._config.first_token_delay_s)
        produced = 0
        reason: FinishReason = "stop"
        try:
            for token in split_tokens(script):
                if request.request_id in self._cancelled:
                    reason = "cancelled"
                    break
                if produced >= request.params.max_tokens:
                    reason = "length"
                    break
                if FAIL_MARKER in last_user and produced == 3:
                    raise EngineError("the scripted engine was asked to fail")
                produced += 1
                yield TextDelta(text=token, completion_tokens=produced)
                await self._sleep(request.request_id, self._config.token_delay_s)
            else:
                if request.request_id in self._cancelled:
                    reason = "cancelled"
        finally:
            self._active.discard(request.request_id)
            self._cancelled.discard(request.request_id)
        yield Finished(reason, Usage(prompt_tokens=prompt_tokens, completion_tokens=produced))

    async def _sleep(self, request_id: str, seconds: float) -> None:
        # Sleep in short steps so a cancel lands within one "decode step"; with no delay at
        # all, still let the other runs and the sockets have their turn.
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        remaining = seconds
        while remaining > 0 and request_id not in self._cancelled:
            step = min(remaining, 0.05)
            await asyncio.sleep(step)
            remaining -= step

    async def cancel(self, request_id: str) -> None:
        if request_id in self._active:
            self._cancelled.add(request_id)

    async def close(self) -> None:
        self._cancelled.clear()
