"""A deterministic engine for fast protocol tests: it 'generates' a configured script.

Never the default: it only runs when the configuration names the model `scripted`.

The script: its configured thinking (none when the prompt turned thinking off), then
- when the last turn is a "tool" turn: `tool said: <contents of the trailing tool turns, joined
  by "; ">`, finishing "stop"; unless tools are offered and those contents hold
  `[[call ...]]` markers (below): then their calls, so a test can chain calls;
- when the request offers tools (`tool_choice` not "none") and the last turn is a user turn
  with `[[call NAME {JSON object}]]` markers: the user text before the first marker, then one
  `ToolCallMade` per marker in order (only the first when `parallel_tool_calls` is off),
  finishing "tool_calls". NAME is not checked against the offered tools, so a test can make a
  call to an unknown tool; a marker whose JSON is not an object is no marker (plain text);
- with tools offered, no markers and `tool_choice` "required" or a named tool: a call to the
  named (or the first offered) tool with arguments `{}`;
- otherwise the configured answer, `{user}` being the last user message.
A user message containing `[[fail]]` makes the run fail after its first tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass

from parley.engine.base import ChatTurn, EngineError, GenerationRequest, ModelCard
from parley.engine.config import ScriptedConfig
from parley.engine.reasoning import RawProgress, TextDelta, split_thinking
from parley.engine.structured import CannotConstrain
from parley.engine.tool_calls import new_call_id
from parley.engine.tool_prompts import offers_tools, template_tool
from parley.protocol import (
    AnswerProgress,
    Finished,
    FinishReason,
    ForcedTool,
    Prefilling,
    ToolCall,
    ToolCallMade,
    ToolSpec,
    Usage,
)

_TOKEN = re.compile(r"\s*\S+|\s+")
_END_MARK = "<|end|>\n"
# A user message containing this makes the run fail after its first tokens (error-path tests).
FAIL_MARKER = "[[fail]]"
_CALL_OPEN = re.compile(r"\[\[call\s+([^\s\]]+)\s+")
_CALL_CLOSE = re.compile(r"\s*\]\]")
_JSON = json.JSONDecoder()


def split_tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def find_call_markers(text: str) -> tuple[str, list[ToolCall]]:
    """The text before the first well-formed `[[call NAME {...}]]` marker, and every such
    marker's call in order (all of `text` and none when there is no marker)."""
    calls: list[ToolCall] = []
    before = text
    position = 0
    while opening := _CALL_OPEN.search(text, position):
        position = opening.end()
        try:
            arguments, end = _JSON.raw_decode(text, position)
        except json.JSONDecodeError:
            continue
        closing = _CALL_CLOSE.match(text, end)
        if not isinstance(arguments, dict) or closing is None:
            continue
        if not calls:
            before = text[: opening.start()].rstrip()
        calls.append(ToolCall(new_call_id(), opening.group(1), text[position:end]))
        position = closing.end()
    return before, calls


@dataclass(frozen=True, slots=True)
class _Script:
    # Raw text, thinking tags included.
    text: str
    calls: tuple[ToolCall, ...]
    fails: bool


def _trailing_tool_results(turns: Sequence[ChatTurn]) -> list[str]:
    results: list[str] = []
    for turn in reversed(turns):
        if turn.role != "tool":
            break
        results.append(turn.content)
    return results[::-1]


def _last_user(turns: Sequence[ChatTurn]) -> str:
    return next((turn.content.strip() for turn in reversed(turns) if turn.role == "user"), "")


def _answer_and_calls(
    request: GenerationRequest, answer_template: str
) -> tuple[str, tuple[ToolCall, ...]]:
    results = _trailing_tool_results(request.turns)
    offers_tools = bool(request.tools) and request.tool_choice != "none"
    if results:
        said = "; ".join(results)
        before, calls = find_call_markers(said) if offers_tools else (said, [])
        if calls:
            return before, tuple(calls[:1] if not request.parallel_tool_calls else calls)
        return "tool said: " + said, ()
    last_user = _last_user(request.turns)
    if not offers_tools or request.turns[-1].role != "user":
        return answer_template.replace("{user}", last_user), ()
    before, calls = find_call_markers(last_user)
    if calls:
        return before, tuple(calls[:1] if not request.parallel_tool_calls else calls)
    choice = request.tool_choice
    if isinstance(choice, ForcedTool):
        return "", (ToolCall(new_call_id(), choice.name, "{}"),)
    if choice == "required":
        return "", (ToolCall(new_call_id(), request.tools[0].name, "{}"),)
    return answer_template.replace("{user}", last_user), ()


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

    def render_prompt(
        self,
        turns: Sequence[ChatTurn],
        *,
        enable_thinking: bool | None,
        tools: Sequence[ToolSpec] = (),
    ) -> str:
        # Offered tools come first, as a template's tool block does (so they count as tokens).
        offer = "".join(
            f"<|tool|>\n{json.dumps(template_tool(tool), ensure_ascii=False)}\n{_END_MARK}"
            for tool in tools
        )
        body = offer + "".join(f"<|{turn.role}|>\n{turn.content}\n{_END_MARK}" for turn in turns)
        opener = "<|assistant|>\n"
        return body + (opener + "<think>\n\n</think>\n\n" if enable_thinking is False else opener)

    def count_tokens(self, text: str) -> int:
        return len(split_tokens(text))

    def check_request(self, request: GenerationRequest) -> None:
        """Its answers are scripted text: JSON output it cannot promise. A forced call it makes
        (see `_answer_and_calls`)."""
        if request.output is not None:
            raise CannotConstrain(request, self._card.name, "scripted")

    async def prompt_tokens(
        self,
        turns: Sequence[ChatTurn],
        *,
        enable_thinking: bool | None,
        tools: Sequence[ToolSpec] = (),
    ) -> int:
        prompt = self.render_prompt(turns, enable_thinking=enable_thinking, tools=tools)
        return self.count_tokens(prompt)

    def _script(self, request: GenerationRequest, prompt: str) -> _Script:
        thinking = self._config.thinking
        if prompt.endswith("</think>\n\n"):
            thinking = ""
        text = f"<think>{thinking}</think>\n\n" if thinking else ""
        answer, calls = _answer_and_calls(request, self._config.answer)
        return _Script(text + answer, calls, FAIL_MARKER in _last_user(request.turns))

    async def generate(self, request: GenerationRequest) -> AsyncIterator[AnswerProgress]:
        offered = request.tools if offers_tools(request) else ()
        prompt = self.render_prompt(
            request.turns, enable_thinking=request.enable_thinking, tools=offered
        )
        script = self._script(request, prompt)
        raw = self._generate_text(request, prompt, script)
        async with contextlib.aclosing(split_thinking(raw, self._card, prompt=prompt)) as stream:
            async for event in stream:
                if isinstance(event, Finished) and event.finish_reason == "tool_calls":
                    for index, call in enumerate(script.calls):
                        yield ToolCallMade(call, index)
                yield event

    async def _generate_text(
        self, request: GenerationRequest, prompt: str, script: _Script
    ) -> AsyncGenerator[RawProgress, None]:
        self._active.add(request.request_id)
        prompt_tokens = self.count_tokens(prompt)
        yield Prefilling(prompt_tokens=prompt_tokens)
        if self._config.first_token_delay_s:
            await self._sleep(request.request_id, self._config.first_token_delay_s)
        produced = 0
        reason: FinishReason = "tool_calls" if script.calls else "stop"
        try:
            for token in split_tokens(script.text):
                if request.request_id in self._cancelled:
                    reason = "cancelled"
                    break
                if produced >= request.params.max_tokens:
                    reason = "length"
                    break
                if script.fails and produced == 3:
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
