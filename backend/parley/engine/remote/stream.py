"""What a remote OpenAI-compatible server's answers say: its failures as two kinds (one short
line each for a user), its Server-Sent Events, and each chat.completion.chunk as a
`StreamDelta`, with streamed tool-call pieces joined into whole calls.

`RemoteUnavailable` is a failure before the remote accepted the request (unreachable,
refusing, busy past the retries), `RemoteStreamFailed` one after (dropped, stalled, an error
event). A remote's error body is summarised, never passed on raw.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from parley.protocol import TokenLogprob, ToolCall, TopLogprob, Usage

log = logging.getLogger(__name__)

_SUMMARY_CHARS = 200
_MARKUP = re.compile(r"<[^>]*>|\x1b\[[0-9;?]*[A-Za-z]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RemoteUnavailable(Exception):
    """The remote could not take the request; `message` is safe to show a user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RemoteRefused(RemoteUnavailable):
    """The remote answered the request itself is wrong (a 4xx other than 429): its reason."""


class RemoteStreamFailed(Exception):
    """An accepted stream broke off; `message` is safe to show a user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class ToolCallPiece:
    """A piece of a streamed call (`delta.tool_calls[i]`): the call's `index`, and whatever
    of its id, name and arguments text this chunk carries (None: no index given)."""

    index: int | None
    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass(frozen=True, slots=True)
class StreamDelta:
    """One streamed chunk: reasoning text (from a reasoning field), answer text, pieces of
    tool calls, and at the end a finish reason and the usage."""

    reasoning: str = ""
    content: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    tool_calls: tuple[ToolCallPiece, ...] = ()
    # The chunk's tokens' log probabilities, where asked (`choices[].logprobs.content`).
    logprobs: tuple[TokenLogprob, ...] = ()


@dataclass(slots=True)
class _CallParts:
    id: str = ""
    name: str = ""
    arguments: str = ""


class ToolCallAssembler:
    """Streamed call pieces joined into whole calls, the way OpenAI's clients join them: by
    `index`, the id and name from the first piece that has them, the arguments text appended.
    A server that gives no index (some do, sending each call whole) starts a new call with
    each new id."""

    def __init__(self) -> None:
        self._calls: dict[int, _CallParts] = {}

    def add(self, piece: ToolCallPiece) -> None:
        index = piece.index
        if index is None:
            last = max(self._calls, default=None)
            if last is None:
                index = 0
            elif piece.id and piece.id != self._calls[last].id:
                index = last + 1
            else:
                index = last
        parts = self._calls.setdefault(index, _CallParts())
        parts.id = parts.id or piece.id
        parts.name = parts.name or piece.name
        parts.arguments += piece.arguments

    def calls(self, new_id: Callable[[], str]) -> list[ToolCall]:
        """The calls in index order (ones that never got a name left out, logged); a call
        that got no id is given `new_id()`."""
        whole: list[ToolCall] = []
        for index in sorted(self._calls):
            parts = self._calls[index]
            if not parts.name:
                log.warning("a remote's tool call %d had no function name; left out", index)
                continue
            whole.append(ToolCall(parts.id or new_id(), parts.name, parts.arguments or "{}"))
        return whole


def summarise_error(status: int | None, body: bytes | str) -> str:
    """One short line for a user out of a remote's error answer: the status and the message the
    body gives (OpenAI `{"error": {"message"}}`, `{"error": "..."}`, `{"detail"}` or
    `{"message"}`), without markup, escape sequences or anything past 200 characters. A body
    that is not JSON (an HTML error page, a stack trace) gives only the status."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    message = ""
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        for key in ("error", "detail", "message"):
            value = parsed.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("msg") or value.get("detail")
            if isinstance(value, str) and value.strip():
                message = value
                break
    message = _MARKUP.sub(" ", message)
    message = re.sub(r"\s+", " ", _CONTROL.sub(" ", message)).strip()
    if len(message) > _SUMMARY_CHARS:
        message = message[: _SUMMARY_CHARS - 1] + "…"
    if status is None:
        return message or "no details given"
    reason = httpx.codes.get_reason_phrase(status)
    head = f"HTTP {status} {reason}" if reason else f"HTTP {status}"
    return f"{head}: {message}" if message else head


def chunk_delta(payload: Any) -> StreamDelta:
    """The parts of a chat.completion.chunk Parley uses; raises RemoteStreamFailed for an
    error event (vLLM and Parley send `{"error": ...}` inside the stream)."""
    if not isinstance(payload, dict):
        raise RemoteStreamFailed("The remote model sent something that is not a chunk.")
    if "error" in payload:
        summary = summarise_error(None, json.dumps(payload))
        raise RemoteStreamFailed(f"The remote model failed mid-answer ({summary}).")
    reasoning = content = ""
    finish: str | None = None
    calls: list[ToolCallPiece] = []
    logprobs: list[TokenLogprob] = []
    for choice in payload.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        logprobs.extend(_logprobs(choice.get("logprobs")))
        delta = choice.get("delta") or {}
        if isinstance(delta, dict):
            # SGLang, llama.cpp, DeepSeek: reasoning_content; vLLM (2026) and Ollama: reasoning.
            for key in ("reasoning_content", "reasoning"):
                if isinstance(delta.get(key), str):
                    reasoning += delta[key]
            if isinstance(delta.get("content"), str):
                content += delta["content"]
            calls.extend(_call_pieces(delta.get("tool_calls")))
        if isinstance(choice.get("finish_reason"), str):
            finish = choice["finish_reason"]
    usage = payload.get("usage")
    parsed_usage = None
    if isinstance(usage, dict):
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if type(prompt) is int and type(completion) is int:
            parsed_usage = Usage(prompt, completion, _cached_tokens(usage))
    return StreamDelta(reasoning, content, finish, parsed_usage, tuple(calls), tuple(logprobs))


def _logprobs(value: Any) -> list[TokenLogprob]:
    """`choice.logprobs.content` as Parley's; entries not shaped like OpenAI's are skipped."""
    content = value.get("content") if isinstance(value, dict) else None
    out: list[TokenLogprob] = []
    for entry in content if isinstance(content, list) else ():
        parsed = _top_logprob(entry)
        if parsed is None:
            continue
        tops = entry.get("top_logprobs")
        top = (_top_logprob(t) for t in tops) if isinstance(tops, list) else ()
        out.append(TokenLogprob(*parsed, tuple(TopLogprob(*t) for t in top if t is not None)))
    return out


def _top_logprob(entry: Any) -> tuple[str, bytes, float] | None:
    """An entry's token, bytes (its text's, where the server sends none) and log probability."""
    if not isinstance(entry, dict):
        return None
    token, logprob, data = entry.get("token"), entry.get("logprob"), entry.get("bytes")
    if not isinstance(token, str) or not isinstance(logprob, int | float):
        return None
    if isinstance(data, list) and all(type(b) is int and 0 <= b < 256 for b in data):
        return token, bytes(data), float(logprob)
    return token, token.encode("utf-8"), float(logprob)


def _cached_tokens(usage: dict[str, Any]) -> int:
    """The prompt tokens the server had cached, where it says (OpenAI's field); else 0."""
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return cached if type(cached) is int else 0


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _call_pieces(pieces: Any) -> list[ToolCallPiece]:
    """`delta.tool_calls` as pieces; anything not shaped like one is skipped."""
    out: list[ToolCallPiece] = []
    for piece in pieces if isinstance(pieces, list) else ():
        if not isinstance(piece, dict):
            continue
        function = piece.get("function")
        function = function if isinstance(function, dict) else {}
        arguments = function.get("arguments")
        if isinstance(arguments, dict):
            # Ollama sends the arguments as an object rather than JSON text.
            arguments = json.dumps(arguments, ensure_ascii=False)
        index = piece.get("index")
        out.append(
            ToolCallPiece(
                index if type(index) is int and index >= 0 else None,
                _text(piece.get("id")),
                _text(function.get("name")),
                _text(arguments),
            )
        )
    return out


async def server_sent_data(response: httpx.Response) -> AsyncIterator[str]:
    """The `data` of each event of an SSE stream (comments and other fields skipped)."""
    data: list[str] = []
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)
