"""Constrained answers on the real SmolLM2: a JSON response format and a forced tool call are
held to their grammar in llama.cpp's sampler, batched with everything else, and the answers
beside them stay what they are alone. On transformers the same requests are refused."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import jsonschema
import pytest

from parley.engine.base import Engine, GenerationRequest, SamplingParams
from parley.engine.llamacpp.engine import LlamaCppEngine
from parley.engine.structured import CannotConstrain, UnsupportedSchema
from parley.protocol import (
    AnswerProgress,
    ChatTurn,
    Finished,
    ForcedTool,
    JsonOutput,
    ToolCallMade,
    ToolChoice,
    ToolSpec,
)
from tests.engine.helpers import text_of

pytestmark = pytest.mark.model

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 12},
        "age": {"type": "integer"},
        "city": {"type": "string", "enum": ["Paris", "Rome", "Oslo"]},
    },
    "required": ["name", "age", "city"],
    "additionalProperties": False,
}
WEATHER = ToolSpec(
    "get_weather",
    "The weather in a city.",
    {
        "type": "object",
        "properties": {"city": {"type": "string", "maxLength": 16}},
        "required": ["city"],
    },
)
TIME = ToolSpec(
    "get_time",
    "The time in a time zone.",
    {
        "type": "object",
        "properties": {"zone": {"type": "string", "enum": ["UTC", "CET", "PST"]}},
        "required": ["zone"],
    },
)
PROMPTS = [
    "Describe a person.",
    "Who is your favourite writer?",
    "Tell me about a friend of yours.",
    "Invent a character for a story.",
    "What is the weather in Paris?",
    "Write a haiku about the sea.",
    "Name a famous scientist.",
    "What time is it in Berlin?",
    "Say hello.",
    "Give me a recipe for soup.",
]
PARAMS = SamplingParams(max_tokens=48, temperature=0.0)


def _request(
    request_id: str,
    question: str,
    *,
    output: JsonOutput | None = None,
    tool_choice: ToolChoice = "auto",
    tools: tuple[ToolSpec, ...] = (),
    params: SamplingParams = PARAMS,
) -> GenerationRequest:
    return GenerationRequest(
        request_id,
        (ChatTurn("user", question),),
        enable_thinking=False,
        params=params,
        tools=tools,
        tool_choice=tool_choice,
        output=output,
    )


async def _events(engine: Engine, request: GenerationRequest) -> list[AnswerProgress]:
    engine.check_request(request)
    return [event async for event in engine.generate(request)]


async def _all(engine: Engine, requests: Sequence[GenerationRequest]) -> list[list[AnswerProgress]]:
    """The requests' events, all submitted together (they decode in one batch)."""
    return list(await asyncio.gather(*(_events(engine, r) for r in requests)))


def _finish(events: list[AnswerProgress]) -> Finished:
    finished = events[-1]
    assert isinstance(finished, Finished)
    return finished


def _calls(events: list[AnswerProgress]) -> list[ToolCallMade]:
    return [event for event in events if isinstance(event, ToolCallMade)]


@pytest.fixture
def llamacpp(smollm2: Engine) -> LlamaCppEngine:
    if not isinstance(smollm2, LlamaCppEngine):
        pytest.skip("grammars are llama.cpp's (transformers refuses: see below)")
    return smollm2


async def test_json_schema_answers_parse_and_validate(llamacpp: LlamaCppEngine) -> None:
    requests = [
        _request(f"schema-{i}", prompt, output=JsonOutput(PERSON))
        for i, prompt in enumerate(PROMPTS)
    ]
    for events in await _all(llamacpp, requests):
        assert _finish(events).finish_reason == "stop"
        jsonschema.validate(json.loads(text_of(events)), PERSON)


async def test_json_object_answers_are_objects_or_cut_by_length(
    llamacpp: LlamaCppEngine,
) -> None:
    requests = [
        _request(f"object-{i}", prompt, output=JsonOutput()) for i, prompt in enumerate(PROMPTS[:4])
    ]
    for events in await _all(llamacpp, requests):
        text = text_of(events)
        assert text.lstrip().startswith("{")
        # A cut answer says so; a finished one parses.
        if _finish(events).finish_reason == "stop":
            assert isinstance(json.loads(text), dict)
        else:
            assert _finish(events).finish_reason == "length"


@pytest.mark.parametrize("choice", [ForcedTool("get_time"), "required"])
async def test_a_forced_call_is_always_a_valid_call(
    llamacpp: LlamaCppEngine, choice: ToolChoice
) -> None:
    requests = [
        _request(f"forced-{i}", prompt, tools=(WEATHER, TIME), tool_choice=choice)
        for i, prompt in enumerate(PROMPTS)
    ]
    schemas: dict[str, Any] = {WEATHER.name: WEATHER.parameters, TIME.name: TIME.parameters}
    for events in await _all(llamacpp, requests):
        calls = _calls(events)
        assert calls and _finish(events).finish_reason == "tool_calls"
        for made in calls:
            if isinstance(choice, ForcedTool):
                assert made.call.name == choice.name
            jsonschema.validate(json.loads(made.call.arguments), schemas[made.call.name])


async def test_auto_without_a_call_answers_as_without_a_grammar(
    llamacpp: LlamaCppEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = _request("auto", "Say hello.", tools=(WEATHER, TIME))
    constrained = await _events(llamacpp, request)
    assert not _calls(constrained)
    monkeypatch.setattr(llamacpp, "_sequence_fields", lambda request: {})
    free = await _events(llamacpp, dataclasses.replace(request, request_id="auto-free"))
    assert text_of(constrained) == text_of(free)


async def test_an_answer_beside_a_constrained_one_is_the_answer_alone(
    llamacpp: LlamaCppEngine,
) -> None:
    plain = _request("plain-alone", "Name three colours.")
    alone = text_of(await _events(llamacpp, plain))
    beside = await _all(
        llamacpp,
        [
            _request("beside-json", "Describe a person.", output=JsonOutput(PERSON)),
            dataclasses.replace(plain, request_id="plain-beside"),
            _request(
                "beside-call",
                "Weather in Oslo?",
                tools=(WEATHER,),
                tool_choice="required",
                params=SamplingParams(max_tokens=48, temperature=0.7, seed=3),
            ),
        ],
    )
    assert text_of(beside[1]) == alone
    jsonschema.validate(json.loads(text_of(beside[0])), PERSON)


def test_a_schema_the_grammar_cannot_express_is_refused_naming_it(
    llamacpp: LlamaCppEngine,
) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer", "maximum": 9}}}
    with pytest.raises(UnsupportedSchema) as caught:
        llamacpp.check_request(_request("x", "hi", output=JsonOutput(schema)))
    assert caught.value.param == "response_format.json_schema.schema"
    assert "`maximum`" in caught.value.message
    tool = ToolSpec("f", "", {"type": "object", "properties": {"a": {"not": {}}}})
    with pytest.raises(UnsupportedSchema) as caught:
        llamacpp.check_request(_request("y", "hi", tools=(tool,), tool_choice="required"))
    assert caught.value.param == "tools[0].function.parameters"


def test_transformers_refuses_constrained_answers(smollm2: Engine) -> None:
    if isinstance(smollm2, LlamaCppEngine):
        pytest.skip("llama.cpp constrains them")
    with pytest.raises(CannotConstrain) as caught:
        smollm2.check_request(_request("x", "hi", output=JsonOutput()))
    assert caught.value.param == "response_format"
    with pytest.raises(CannotConstrain) as caught:
        smollm2.check_request(_request("y", "hi", tools=(TIME,), tool_choice="required"))
    assert caught.value.param == "tool_choice"
