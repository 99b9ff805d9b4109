"""Offering tools to a model in its own format: which format its chat template uses, and
the messages, tools and answer opening to render through it.

Formats (read from the chat template, see `detect_tool_syntax`):
- "hermes" (Qwen2.5/Qwen3, Hermes): `<tool_call>{"name", "arguments"}</tool_call>` anywhere in
  the answer, as many as the model writes;
- "llama3_json" (Llama 3.1-3.3): the whole answer is `{"name", "parameters"}` (after an optional
  `<|python_tag|>`), several separated by `;`;
- "mistral": `[TOOL_CALLS][{"name", "arguments"}, ...]`.
A template that does not render `tools` (SmolLM2's ignores them) or renders them in a format
not listed here gets the tools in a system turn in the Hermes format, and Hermes is parsed
(tool_calls.py parses the answer).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from parley.engine.base import GenerationRequest
from parley.protocol import (
    ChatTurn,
    ForcedTool,
    ToolCall,
    ToolSpec,
)

ToolFormat = Literal["hermes", "llama3_json", "mistral"]
# Chat-template messages and tools, as `apply_chat_template` takes them.
TemplateMessage = dict[str, Any]
TemplateTool = dict[str, Any]
# The tools as transformers types its `tools` argument (a list's item type must match exactly).
TemplateTools = list[dict[Any, Any] | Callable[..., Any]]
# Renders messages (and tools, when given) through a chat template, with the generation prompt.
TemplateRender = Callable[[list[TemplateMessage], TemplateTools | None], str]


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


@dataclass(frozen=True, slots=True)
class CallShape:
    """How a model writes its calls: `opening`, then `{"name": ..., "<arguments_key>": {...}}`
    objects joined by `between`, then `closing` (llama.cpp's grammars follow it)."""

    opening: str
    arguments_key: str
    between: str
    closing: str


CALL_SHAPES: dict[ToolFormat, CallShape] = {
    "hermes": CallShape(
        "<tool_call>\n", "arguments", "\n</tool_call>\n<tool_call>\n", "\n</tool_call>"
    ),
    "llama3_json": CallShape("", "parameters", "; ", ""),
    "mistral": CallShape("[TOOL_CALLS][", "arguments", ", ", "]"),
}


def forces_call(request: GenerationRequest) -> bool:
    """Whether the answer must be a call ("required" or a named tool)."""
    return offers_tools(request) and request.tool_choice not in ("auto", "none")


def answer_prefix(request: GenerationRequest, syntax: ToolSyntax) -> str:
    """ "required" opens a call in the model's format; a named tool also writes its name, so
    the model can only fill in the arguments."""
    choice = request.tool_choice
    if not forces_call(request):
        return ""
    shape = CALL_SHAPES[syntax.format]
    if isinstance(choice, ForcedTool):
        return f'{shape.opening}{{"name": {json.dumps(choice.name)}, "{shape.arguments_key}": '
    return shape.opening


def tool_prompt(request: GenerationRequest, syntax: ToolSyntax) -> ToolPrompt:
    """The template input for a request: tool history always, tools only when offered."""
    messages = _template_messages(request.turns, syntax)
    for message in messages:
        message.pop("tool_responses", None)
    if not offers_tools(request):
        return ToolPrompt(messages, None, "")
    prefix = answer_prefix(request, syntax)
    if syntax.in_template:
        offered: TemplateTools = [template_tool(tool) for tool in request.tools]
        return ToolPrompt(messages, offered, prefix)
    offer = _hermes_tools_text(request.tools)
    if messages and messages[0]["role"] == "system":
        messages[0] = {"role": "system", "content": f"{messages[0]['content']}\n\n{offer}"}
    else:
        messages.insert(0, {"role": "system", "content": offer})
    return ToolPrompt(messages, None, prefix)
