"""Parsing a model's streamed answer for tool calls, in the format tool_prompts.py offered
them in.

The parser holds back only text that may still become a call; text that turns out not to be a
valid call (bad JSON, an unknown function, arguments that are not an object, a call cut by the
end of the answer) is answer text, never lost. Thinking is never parsed.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from parley.engine.base import EngineError, GenerationRequest
from parley.engine.reasoning import partial_tag_suffix
from parley.engine.tool_prompts import (
    ToolFormat,
    ToolSyntax,
    answer_prefix,
    offers_tools,
)
from parley.protocol import (
    AnswerProgress,
    Finished,
    Piece,
    Pieces,
    Prefilling,
    TokenLogprob,
    ToolCall,
    ToolCallMade,
    Usage,
)

_JSON = json.JSONDecoder()


def new_call_id() -> str:
    """A fresh call id in OpenAI's shape (`call_` and 24 hex digits)."""
    return "call_" + secrets.token_hex(12)


# What the parser makes of answer text: plain text, or a whole call.
Parsed = str | ToolCall


def _as_call(
    candidate: Any, names: frozenset[str], arguments_keys: tuple[str, ...]
) -> ToolCall | None:
    """A call from a parsed JSON value, or None when it is not a call to an offered tool."""
    if not isinstance(candidate, dict):
        return None
    if isinstance(candidate.get("function"), dict):
        candidate = candidate["function"]
    name = candidate.get("name")
    arguments = next((candidate[key] for key in arguments_keys if key in candidate), None)
    if not isinstance(name, str) or name not in names or not isinstance(arguments, dict):
        return None
    return ToolCall(new_call_id(), name, json.dumps(arguments, ensure_ascii=False))


class ToolCallParser(ABC):
    """Streamed answer text in, text and whole calls out, in order."""

    def __init__(self, names: frozenset[str]) -> None:
        self._names = names
        self._held = ""

    @abstractmethod
    def feed(self, text: str) -> list[Parsed]: ...

    def flush(self) -> list[Parsed]:
        """The end of the answer: held-back text that never became a call is text."""
        held, self._held = self._held, ""
        return [held] if held else []


class HermesParser(ToolCallParser):
    """`<tool_call>` JSON `</tool_call>`. The call ends where its JSON object does: a string
    inside it may hold the closing tag itself (a constrained call's arguments may), so the
    first `</tool_call>` after the opening ends it only when the JSON there is not an object."""

    _OPEN = "<tool_call>"
    _CLOSE = "</tool_call>"

    def feed(self, text: str) -> list[Parsed]:
        out: list[Parsed] = []
        buffer = self._held + text
        self._held = ""
        while buffer:
            start = buffer.find(self._OPEN)
            if start < 0:
                keep = partial_tag_suffix(buffer, self._OPEN)
                _add_text(out, buffer[: len(buffer) - keep])
                self._held = buffer[len(buffer) - keep :]
                break
            _add_text(out, buffer[:start])
            found = self._call_at(buffer, start + len(self._OPEN))
            if found is None:  # Not whole yet.
                self._held = buffer[start:]
                break
            call, end = found
            if call is None:
                _add_text(out, buffer[start:end])
            else:
                out.append(call)
            buffer = buffer[end:]
        return out

    def _call_at(self, buffer: str, body: int) -> tuple[ToolCall | None, int] | None:
        """The call whose JSON starts at `body` (None: not a call, text) and where its closing
        tag ends; None while more text may still make it whole."""
        json_start = len(buffer) - len(buffer[body:].lstrip())
        try:
            candidate, json_end = _JSON.raw_decode(buffer, json_start)
        except json.JSONDecodeError as exc:
            if exc.pos >= len(buffer) or exc.msg.startswith("Unterminated string"):
                return None
        else:
            after = buffer[json_end:]
            rest = after.lstrip()
            if rest.startswith(self._CLOSE):
                end = len(buffer) - len(rest) + len(self._CLOSE)
                return _as_call(candidate, self._names, ("arguments", "parameters")), end
            if self._CLOSE.startswith(rest):
                return None
        # Not a JSON object followed by the closing tag: text, up to the first closing tag.
        close = buffer.find(self._CLOSE, body)
        return None if close < 0 else (None, close + len(self._CLOSE))


class MistralParser(ToolCallParser):
    _OPEN = "[TOOL_CALLS]"

    def feed(self, text: str) -> list[Parsed]:
        out: list[Parsed] = []
        buffer = self._held + text
        self._held = ""
        start = buffer.find(self._OPEN)
        if start < 0:
            keep = partial_tag_suffix(buffer, self._OPEN)
            _add_text(out, buffer[: len(buffer) - keep])
            self._held = buffer[len(buffer) - keep :]
            return out
        _add_text(out, buffer[:start])
        body = buffer[start + len(self._OPEN) :]
        stripped = body.lstrip()
        try:
            calls, end = _JSON.raw_decode(stripped)
        except json.JSONDecodeError:
            # Not whole yet (or never will be: then the end of the answer makes it text).
            self._held = buffer[start:]
            return out
        parsed = [
            _as_call(call, self._names, ("arguments",))
            for call in (calls if isinstance(calls, list) else [None])
        ]
        whole = [call for call in parsed if call is not None]
        if not whole or len(whole) < len(parsed):
            _add_text(out, buffer[start:])
            return out
        out.extend(whole)
        out.extend(self.feed(stripped[end:]))
        return out


class Llama3JsonParser(ToolCallParser):
    """Calls only when the answer starts with one; a candidate is held until its JSON is whole
    or it can no longer open a call."""

    _TAG = "<|python_tag|>"
    _OPENINGS = ('{"name"', '{"type"', '{"function"')

    def __init__(self, names: frozenset[str]) -> None:
        super().__init__(names)
        # Calls may only open the answer; once text came out, the rest is text.
        self._open = True
        self._made_call = False

    def feed(self, text: str) -> list[Parsed]:
        if not self._open:
            return [text] if text else []
        out: list[Parsed] = []
        buffer = self._held + text
        self._held = ""
        while True:
            body = buffer.lstrip()
            if self._made_call and body.startswith(";"):
                body = body[1:].lstrip()
            elif not self._made_call and body.startswith(self._TAG):
                body = body[len(self._TAG) :].lstrip()
            if not body or (not self._made_call and self._TAG.startswith(body)):
                self._held = buffer
                return out
            call = None
            if self._may_open_call(body):
                try:
                    candidate, end = _JSON.raw_decode(body)
                except json.JSONDecodeError:
                    # Not whole yet (or never: then the end of the answer makes it text).
                    self._held = buffer
                    return out
                call = _as_call(candidate, self._names, ("parameters", "arguments"))
            if call is None:
                self._open = False
                out.append(buffer)
                return out
            out.append(call)
            self._made_call = True
            buffer = body[end:]

    def _may_open_call(self, body: str) -> bool:
        compact = re.sub(r"\s+", "", body[:64])
        return any(
            opening.startswith(compact) or compact.startswith(opening) for opening in self._OPENINGS
        )


_PARSERS: Mapping[ToolFormat, type[ToolCallParser]] = {
    "hermes": HermesParser,
    "llama3_json": Llama3JsonParser,
    "mistral": MistralParser,
}


def _add_text(out: list[Parsed], text: str) -> None:
    if not text:
        return
    if out and isinstance(out[-1], str):
        out[-1] += text
    else:
        out.append(text)


def tool_call_parser(request: GenerationRequest, syntax: ToolSyntax) -> ToolCallParser | None:
    """The parser for a request's answer (None when it offers no tools), already fed the
    answer prefix the prompt ends with."""
    if not offers_tools(request):
        return None
    parser = _PARSERS[syntax.format](frozenset(tool.name for tool in request.tools))
    leftover = parser.feed(answer_prefix(request, syntax))
    assert not leftover, "an answer prefix opens a call"
    return parser


async def parse_tool_calls(
    stream: AsyncGenerator[AnswerProgress, None],
    parser: ToolCallParser,
    *,
    parallel: bool,
) -> AsyncGenerator[AnswerProgress, None]:
    """An engine's split stream with its answer text parsed for calls: `ToolCallMade` for each
    whole call where it came, and `Finished("tool_calls")` when there was one. With `parallel`
    off the answer ends after the first call (closing `stream` cancels the rest). The held-back
    text comes out before `Finished`, or before an `EngineError` is raised again."""
    made = 0
    prompt_tokens = 0
    completion_tokens = 0
    # Log probabilities wait with the text the parser holds, to come out with the next text
    # (a call's markup tokens with the text after it, or at the end).
    logprobs: tuple[TokenLogprob, ...] = ()

    def with_logprobs(progress: list[Pieces | ToolCallMade]) -> list[Pieces | ToolCallMade]:
        nonlocal logprobs
        for i, out in enumerate(progress):
            if isinstance(out, Pieces) and out.pieces and logprobs:
                progress[i] = replace(out, logprobs=logprobs)
                logprobs = ()
        return progress

    def rest() -> list[Pieces | ToolCallMade]:
        progress = with_logprobs(
            _progress(parser.flush(), completion_tokens, made, keep_empty=False)
        )
        if logprobs:
            progress.append(Pieces((), completion_tokens, logprobs))
        return progress

    async with contextlib.aclosing(stream):
        try:
            async for event in stream:
                if isinstance(event, Finished):
                    for out in rest():
                        yield out
                    reason = event.finish_reason
                    if made and reason in ("stop", "length"):
                        reason = "tool_calls"
                    yield Finished(reason, event.usage)
                    return
                if not isinstance(event, Pieces):
                    if isinstance(event, Prefilling):
                        prompt_tokens = event.prompt_tokens
                    yield event
                    continue
                completion_tokens = event.completion_tokens
                logprobs += event.logprobs
                parsed: list[Parsed | Piece] = []
                for piece in event.pieces:
                    if piece.channel == "answer":
                        parsed.extend(parser.feed(piece.text))
                    else:
                        parsed.append(piece)
                for out in with_logprobs(_progress(parsed, completion_tokens, made)):
                    yield out
                    if isinstance(out, ToolCallMade):
                        made += 1
                        if not parallel:
                            if logprobs:
                                yield Pieces((), completion_tokens, logprobs)
                            usage = Usage(prompt_tokens, completion_tokens)
                            yield Finished("tool_calls", usage)
                            return
        except EngineError:
            for out in rest():
                yield out
            raise


def _progress(
    parsed: Sequence[Parsed | Piece], completion_tokens: int, made: int, *, keep_empty: bool = True
) -> list[Pieces | ToolCallMade]:
    """Parsed items as progress: runs of text as one `Pieces`, each call a `ToolCallMade`
    numbered on from `made`. `keep_empty`: an empty `Pieces` still carries its token count."""
    out: list[Pieces | ToolCallMade] = []
    run: list[Piece] = []
    for item in parsed:
        if isinstance(item, ToolCall):
            if run:
                out.append(Pieces(tuple(run), completion_tokens))
                run = []
            out.append(ToolCallMade(item, made))
            made += 1
        else:
            piece = Piece("answer", item) if isinstance(item, str) else item
            if run and run[-1].channel == piece.channel:
                run[-1] = Piece(piece.channel, run[-1].text + piece.text)
            else:
                run.append(piece)
    if run or (keep_empty and not out):
        out.append(Pieces(tuple(run), completion_tokens))
    return out
