"""Structured output, whatever the engine: which requests constrain their answer (a JSON
`response_format`, a forced tool call), and the check of the answer that comes back (the
schemas themselves are checked with the request, chat/prepare/tool_limits.py).

llama.cpp makes such answers parse by a grammar (llamacpp/grammar.py); a remote server by its
own means. Either way the answer is checked here: JSON that does not parse or validate, or a
call whose arguments do not validate, ends the answer with an `invalid_output` error rather
than passing as done. An answer cut by max_tokens finishes with "length" and is not checked:
a cut answer is known to be incomplete.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

from parley.engine.base import EngineError, GenerationRequest
from parley.engine.tool_prompts import forces_call
from parley.protocol import AnswerProgress, Finished, ParleyError, Pieces, ToolCallMade


class UnsupportedSchema(ParleyError):
    """A JSON Schema the engine cannot hold its answer to (HTTP 400, naming the parameter and
    the feature)."""

    default_code = "unsupported_schema"
    default_kind = "malformed"

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message, param=param)


class CannotConstrain(ParleyError):
    """A request for a constrained answer (HTTP 400, naming the parameter) on an engine that
    cannot hold its answer to a form."""

    default_code = "unsupported_parameter"
    default_kind = "malformed"

    def __init__(self, request: GenerationRequest, model: str, engine: str) -> None:
        param = "response_format" if request.output is not None else "tool_choice"
        super().__init__(
            f"The model {model!r} runs on the {engine} engine, which cannot hold its answer to "
            f"a form: `{param}` asking for JSON or a forced tool call is available on llama.cpp "
            "and remote models.",
            param=param,
        )


class InvalidOutput(EngineError):
    """An answer that does not parse or validate as the request asked."""

    default_code = "invalid_output"


def constrains(request: GenerationRequest) -> bool:
    """Whether the whole answer is held to a form (so it is made with thinking off)."""
    return request.output is not None or forces_call(request)


def _problem(value: Any, schema: Mapping[str, Any] | None) -> str | None:
    """Why `value` does not validate against `schema` (None: it does)."""
    if schema is None:
        return None
    validator = jsonschema.validators.validator_for(schema, default=Draft202012Validator)
    error = jsonschema.exceptions.best_match(validator(schema).iter_errors(value))
    return None if error is None else error.message


def _answer_problem(answer: str, request: GenerationRequest) -> str | None:
    output = request.output
    assert output is not None
    try:
        value = json.loads(answer)
    except json.JSONDecodeError as exc:
        return f"the answer is not JSON ({exc.msg})"
    if output.schema is None:
        return None if isinstance(value, dict) else "the answer is not a JSON object"
    problem = _problem(value, output.schema)
    return None if problem is None else f"the answer does not match the schema: {problem}"


def _call_problem(made: ToolCallMade, request: GenerationRequest) -> str | None:
    schemas = {tool.name: tool.parameters for tool in request.tools}
    try:
        arguments = json.loads(made.call.arguments)
    except json.JSONDecodeError as exc:
        return f"the call to {made.call.name!r} has arguments that are not JSON ({exc.msg})"
    problem = _problem(arguments, schemas.get(made.call.name))
    if problem is None:
        return None
    return f"the call to {made.call.name!r} has arguments that do not match its schema: {problem}"


async def checked_output(
    stream: AsyncIterator[AnswerProgress], request: GenerationRequest
) -> AsyncIterator[AnswerProgress]:
    """The stream as it comes, and at its end InvalidOutput if the answer is not what was asked:
    JSON (valid against the schema) for a response format, a call where one was forced, and
    for every call arguments valid against the tool's schema."""
    answer: list[str] = []
    calls = 0
    async with contextlib.aclosing(stream):  # type: ignore[type-var]
        async for event in stream:
            if isinstance(event, Pieces):
                answer.extend(p.text for p in event.pieces if p.channel == "answer")
            elif isinstance(event, ToolCallMade):
                calls += 1
                if (problem := _call_problem(event, request)) is not None:
                    raise InvalidOutput(f"The model's output is invalid: {problem}.")
            elif isinstance(event, Finished) and event.finish_reason in ("stop", "tool_calls"):
                problem = None
                if forces_call(request) and not calls:
                    problem = "a tool call was required and none was made"
                elif request.output is not None and not calls:
                    problem = _answer_problem("".join(answer), request)
                if problem is not None:
                    raise InvalidOutput(f"The model's output is invalid: {problem}.")
            yield event
