"""Tool calls in a model's own format: offering tools through its chat template, and parsing
its streamed answer for calls.

Formats (read from the chat template, see `detect_tool_syntax`):
- "hermes" (Qwen2.5/Qwen3, Hermes): `<tool_call>{"name", "arguments"}</tool_call>` anywhere in
  the answer, as many as the model writes;
- "llama3_json" (Llama 3.1-3.3): the whole answer is `{"name", "parameters"}` (after an optional
  `<|python_tag|>`), several separated by `;`;
- "mistral": `[TOOL_CALLS][{"name", "arguments"}, ...]`.
A template that does not render `tools` (SmolLM2's ignores them) or renders them in a format
not listed here gets the tools in a system turn in the Hermes format, and Hermes is parsed.

The parser holds back only text that may still become a call; text that turns out not to be a
valid call (bad JSON, an unknown function, arguments that are not an object, a call cut by the
end of the answer) is answer text, never lost. Thinking is never parsed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from parley.engine.base import EngineError, GenerationRequest
from parley.engine.reasoning import partial_tag_suffix
from parley.protocol import (
    AnswerProgress,
    ChatTurn,
    Finished,
    ForcedTool,
    Piece,
    Pieces,
    Prefilling,
    ToolCall,
    ToolCallMade,
    ToolSpec,
    Usage,
)

ToolFormat = Literal["hermes", "llama3_json", "mistral"]
# Chat-template messages and tools, as `apply_chat_template` takes them.
TemplateMessage = dict[str, Any]
TemplateTool = dict[str, Any]
# The tools as transformers types its `tools` argument (a list's item type must match exactly).
TemplateTools = list[dict[Any, Any] | Callable[..., Any]]
# Renders messages (and tools, when given) through a chat template, with the generation prompt.
TemplateRender = Callable[[list[TemplateMessage], TemplateTools | None], str]

_JSON = json.JSONDecoder()


def new_call_id() -> str:
    """A fresh call id in OpenAI's shape (`call_` and 24 hex digits)."""
    return "call_" + secrets.token_hex(12)


@dataclass(frozen=True, slots=True)
class ToolSyntax:
    """How one model is offered tools and writes its calls."""

    format: ToolFormat
    # False: the template ignores `tools`, so they go into a system turn (Hermes format).
    in_template: bool


_HERMES_FALLBACK = ToolSyntax("hermes", in_template=False)
_PROBE_TOOL = ToolSpec("parley_probe", "Probe", {"type": "object", "properties": {}})


def detect_tool_syntax(template: str | None, render: TemplateRender) -> ToolSyntax:
    """The tool format a chat template uses: it takes tools when rendering a probe turn with a
    tool differs from rendering it without."""
    if not template:
        return _HERMES_FALLBACK
    probe: list[TemplateMessage] = [{"role": "user", "content": "hi"}]
    try:
        takes_tools = render(probe, [template_tool(_PROBE_TOOL)]) != render(probe, None)
    except Exception:  # a template that fails on tools (any error of its own) does not take them
        takes_tools = False
    if not takes_tools:
        return _HERMES_FALLBACK
    if "<tool_call>" in template:
        return ToolSyntax("hermes", in_template=True)
    if "[TOOL_CALLS]" in template:
        return ToolSyntax("mistral", in_template=True)
    if "<|python_tag|>" in template or '"parameters"' in template:
        return ToolSyntax("llama3_json", in_template=True)
    return _HERMES_FALLBACK


def template_tool(spec: ToolSpec) -> TemplateTool:
    """A tool in the form chat templates read (OpenAI's and Hugging Face's)."""
    return {
        "type": "function",
        "function": {
            "name": spec.name,
            "description": spec.description,
            "parameters": dict(spec.parameters),
        },
    }


def _hermes_call_text(call: ToolCall) -> str:
    return (
        f'<tool_call>\n{{"name": {json.dumps(call.name)}, "arguments": {call.arguments}}}'
        "\n</tool_call>"
    )


def _hermes_tools_text(tools: Sequence[ToolSpec]) -> str:
    """Qwen2.5's own words for offering tools, for templates that do not take them."""
    listed = "\n".join(json.dumps(template_tool(tool), ensure_ascii=False) for tool in tools)
    return (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n"
        f"<tools>\n{listed}\n</tools>\n\n"
        "For each function call, return a json object with function name and arguments within "
        "<tool_call></tool_call> XML tags:\n<tool_call>\n"
        '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
    )


def _arguments_value(arguments: str) -> Any:
    # Templates write `arguments | tojson`: a mapping renders as JSON, text would be quoted.
    try:
        return json.loads(arguments)
    except json.JSONDecodeError:
        return arguments


def _mistral_id(call_id: str) -> str:
    # Mistral's templates refuse ids that are not 9 letters or digits.
    return hashlib.sha256(call_id.encode()).hexdigest()[:9]


def _template_call(call: ToolCall, syntax: ToolSyntax) -> dict[str, Any]:
    call_id = _mistral_id(call.call_id) if syntax.format == "mistral" else call.call_id
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": call.name, "arguments": _arguments_value(call.arguments)},
    }


def _template_messages(turns: Sequence[ChatTurn], syntax: ToolSyntax) -> list[TemplateMessage]:
    names = {call.call_id: call.name for turn in turns for call in turn.tool_calls}
    messages: list[TemplateMessage] = []
    for turn in turns:
        if not syntax.in_template:
            messages.extend(_plain_messages(turn, messages))
        elif turn.role == "tool":
            call_id = turn.tool_call_id or ""
            messages.append(
                {
                    "role": "tool",
                    "content": turn.content,
                    "tool_call_id": _mistral_id(call_id) if syntax.format == "mistral" else call_id,
                    "name": names.get(call_id, ""),
                }
            )
        elif turn.tool_calls and syntax.format == "llama3_json":
            # Llama's templates take one call per assistant message.
            for index, call in enumerate(turn.tool_calls):
                messages.append(
                    {
                        "role": "assistant",
                        "content": turn.content if index == 0 else "",
                        "tool_calls": [_template_call(call, syntax)],
                    }
                )
        elif turn.tool_calls:
            # Only a turn with calls has the key: Llama's templates test for its presence.
            calls = [_template_call(call, syntax) for call in turn.tool_calls]
            messages.append({"role": "assistant", "content": turn.content, "tool_calls": calls})
        else:
            messages.append({"role": turn.role, "content": turn.content})
    return messages


def _plain_messages(turn: ChatTurn, so_far: list[TemplateMessage]) -> list[TemplateMessage]:
    """A turn for a template that knows no tools: calls as Hermes text in the assistant's
    content, results as `<tool_response>` in a user turn (consecutive ones joined)."""
    response = f"<tool_response>\n{turn.content}\n</tool_response>"
    if turn.role == "tool":
        if so_far and so_far[-1].get("tool_responses"):
            so_far[-1]["content"] += "\n" + response
            return []
        return [{"role": "user", "content": response, "tool_responses": True}]
    content = "\n".join(
        part for part in (turn.content, *map(_hermes_call_text, turn.tool_calls)) if part
    )
    return [{"role": turn.role, "content": content}]


@dataclass(frozen=True, slots=True)
class ToolPrompt:
    """What to render: the messages and tools for the template, then `answer_prefix` after
    the generation prompt (the opening of a call the model must make)."""

    messages: list[TemplateMessage]
    tools: TemplateTools | None
    answer_prefix: str


def offers_tools(request: GenerationRequest) -> bool:
    return bool(request.tools) and request.tool_choice != "none"


def _answer_prefix(request: GenerationRequest, syntax: ToolSyntax) -> str:
    """ "required" opens a call in the model's format; a named tool also writes its name, so
    the model can only fill in the arguments."""
    choice = request.tool_choice
    if not offers_tools(request) or choice == "auto":
        return ""
    named = isinstance(choice, ForcedTool)
    name = json.dumps(choice.name) if isinstance(choice, ForcedTool) else ""
    if syntax.format == "llama3_json":
        return f'{{"name": {name}, "parameters": ' if named else ""
    if syntax.format == "mistral":
        return f'[TOOL_CALLS][{{"name": {name}, "arguments": ' if named else "[TOOL_CALLS]"
    return f'<tool_call>\n{{"name": {name}, "arguments": ' if named else "<tool_call>\n"


def tool_prompt(request: GenerationRequest, syntax: ToolSyntax) -> ToolPrompt:
    """The template input for a request: tool history always, tools only when offered."""
    messages = _template_messages(request.turns, syntax)
    for message in messages:
        message.pop("tool_responses", None)
    if not offers_tools(request):
        return ToolPrompt(messages, None, "")
    prefix = _answer_prefix(request, syntax)
    if syntax.in_template:
        offered: TemplateTools = [template_tool(tool) for tool in request.tools]
        return ToolPrompt(messages, offered, prefix)
    offer = _hermes_tools_text(request.tools)
    if messages and messages[0]["role"] == "system":
        messages[0] = {"role": "system", "content": f"{messages[0]['content']}\n\n{offer}"}
    else:
        messages.insert(0, {"role": "system", "content": offer})
    return ToolPrompt(messages, None, prefix)


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
            end = buffer.find(self._CLOSE, start)
            if end < 0:
                self._held = buffer[start:]
                break
            whole = buffer[start : end + len(self._CLOSE)]
            call = self._parse(buffer[start + len(self._OPEN) : end])
            if call is None:
                _add_text(out, whole)
            else:
                out.append(call)
            buffer = buffer[end + len(self._CLOSE) :]
        return out

    def _parse(self, inner: str) -> ToolCall | None:
        try:
            candidate = json.loads(inner)
        except json.JSONDecodeError:
            return None
        return _as_call(candidate, self._names, ("arguments", "parameters"))


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
    leftover = parser.feed(_answer_prefix(request, syntax))
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

    async with contextlib.aclosing(stream):
        try:
            async for event in stream:
                if isinstance(event, Finished):
                    for out in _progress(parser.flush(), completion_tokens, made, keep_empty=False):
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
                parsed: list[Parsed | Piece] = []
                for piece in event.pieces:
                    if piece.channel == "answer":
                        parsed.extend(parser.feed(piece.text))
                    else:
                        parsed.append(piece)
                for out in _progress(parsed, completion_tokens, made):
                    yield out
                    if isinstance(out, ToolCallMade):
                        made += 1
                        if not parallel:
                            usage = Usage(prompt_tokens, completion_tokens)
                            yield Finished("tool_calls", usage)
                            return
        except EngineError:
            for out in _progress(parser.flush(), completion_tokens, made, keep_empty=False):
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
