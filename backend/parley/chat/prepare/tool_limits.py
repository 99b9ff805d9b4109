"""What a stateless request may say about tools: the functions it offers, its `tool_choice`,
and the calls and results in its history. Plain functions of their inputs; each refusal names
the field at fault, as OpenAI's errors do."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator, SchemaError, validators

from parley.protocol import ChatTurn, ForcedTool, ParleyError, ToolChoice, ToolSpec

# OpenAI's rule for function names.
_FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
# Deeper parameters than any function needs would exhaust the schema checker's recursion.
MAX_SCHEMA_DEPTH = 32
# OpenAI's bound.
MAX_TOOLS = 128


class ToolsRefused(ParleyError):
    """Tools, a tool choice, a tool history or a response format's schema that cannot be right
    (HTTP 400)."""

    default_kind = "malformed"

    def __init__(self, code: str, message: str, param: str) -> None:
        super().__init__(message, code=code, param=param)


def check_tools(tools: Sequence[ToolSpec]) -> None:
    """Each function's name is OpenAI's kind and unique, its parameters a JSON Schema of an
    object; raises ToolsRefused."""
    if len(tools) > MAX_TOOLS:
        raise ToolsRefused(
            "too_many_tools",
            f"A request may offer at most {MAX_TOOLS} functions; this one offers {len(tools)}.",
            "tools",
        )
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        where = f"tools[{index}].function"
        if not _FUNCTION_NAME.fullmatch(tool.name):
            raise ToolsRefused(
                "invalid_function_name",
                f"Invalid function name {tool.name!r}: names are 1 to 64 letters, digits, "
                "underscores or dashes.",
                f"{where}.name",
            )
        if tool.name in seen:
            raise ToolsRefused(
                "duplicate_function_name",
                f"The function {tool.name!r} is offered twice.",
                f"{where}.name",
            )
        seen.add(tool.name)
        _check_parameters(tool, f"{where}.parameters")


def _check_parameters(tool: ToolSpec, param: str) -> None:
    schema = dict(tool.parameters)
    what = f"function {tool.name!r}"
    _check_schema(schema, what, param, "invalid_function_parameters")
    if schema.get("type") != "object":
        raise ToolsRefused(
            "invalid_function_parameters",
            f"Invalid schema for {what}: the parameters must be a JSON Schema "
            f'of "type": "object", not {schema.get("type")!r}.',
            param,
        )


def check_response_schema(schema: Mapping[str, Any]) -> None:
    """A `json_schema` response format's schema is bounded and a JSON Schema; raises
    ToolsRefused."""
    _check_schema(
        dict(schema),
        "response_format",
        "response_format.json_schema.schema",
        "invalid_response_format",
    )


def _check_schema(schema: dict[str, Any], what: str, param: str, code: str) -> None:
    if _depth(schema) > MAX_SCHEMA_DEPTH:
        raise ToolsRefused(
            code, f"Invalid schema for {what}: nested deeper than {MAX_SCHEMA_DEPTH} levels.", param
        )
    if not isinstance(schema.get("$schema", ""), str):
        raise ToolsRefused(code, f"Invalid schema for {what}: $schema must be a URI.", param)
    # Its own `$schema` names the draft it follows; otherwise today's.
    validator = validators.validator_for(schema, default=Draft202012Validator)
    try:
        validator.check_schema(schema)
    except SchemaError as exc:
        place = f" at {exc.json_path}" if exc.json_path != "$" else ""
        raise ToolsRefused(code, f"Invalid schema for {what}{place}: {exc.message}", param) from exc


def _depth(value: object) -> int:
    """How deeply objects and arrays nest in a JSON value (without recursion)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        )
        if children is None:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_SCHEMA_DEPTH:
            stack.extend((child, depth + 1) for child in children)
    return deepest


def check_tool_choice(choice: ToolChoice, tools: Sequence[ToolSpec]) -> None:
    """A choice that makes the model call a tool needs tools, a named one among them."""
    if choice in ("auto", "none"):
        return
    if not tools:
        raise ToolsRefused(
            "invalid_tool_choice",
            "tool_choice may only make a call when tools are given.",
            "tool_choice",
        )
    if isinstance(choice, ForcedTool) and choice.name not in {tool.name for tool in tools}:
        raise ToolsRefused(
            "invalid_tool_choice",
            f"tool_choice names the function {choice.name!r}, which tools do not offer.",
            "tool_choice",
        )


def check_tool_history(turns: Sequence[ChatTurn]) -> None:
    """Every tool result answers a call an earlier assistant message made."""
    made: set[str] = set()
    for turn in turns:
        made.update(call.call_id for call in turn.tool_calls)
        if turn.role == "tool" and turn.tool_call_id not in made:
            raise ToolsRefused(
                "unmatched_tool_call_id",
                f"A message with role 'tool' answers tool_call_id {turn.tool_call_id!r}, "
                "which no earlier assistant message's tool_calls made.",
                "messages",
            )


def check_tool_request(
    tools: Sequence[ToolSpec], choice: ToolChoice, turns: Sequence[ChatTurn]
) -> None:
    """All of the above; raises ToolsRefused for the first fault."""
    check_tools(tools)
    check_tool_choice(choice, tools)
    check_tool_history(turns)
