"""The check of a constrained answer at its end, whatever engine made it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from parley.engine.base import GenerationRequest
from parley.engine.structured import InvalidOutput, checked_output
from parley.protocol import (
    AnswerProgress,
    ChatTurn,
    Finished,
    FinishReason,
    ForcedTool,
    JsonOutput,
    Piece,
    Pieces,
    ToolCall,
    ToolCallMade,
    ToolSpec,
    Usage,
)

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
TIME = ToolSpec("get_time", "The time.", SCHEMA)


def _request(**fields: object) -> GenerationRequest:
    return GenerationRequest("r", (ChatTurn("user", "hi"),), **fields)  # type: ignore[arg-type]


async def _stream(
    answer: str, reason: FinishReason = "stop", calls: Sequence[ToolCall] = ()
) -> AsyncIterator[AnswerProgress]:
    yield Pieces((Piece("thinking", "hm"), Piece("answer", answer)), 1)
    for index, call in enumerate(calls):
        yield ToolCallMade(call, index)
    yield Finished(reason, Usage(1, 1))


async def _run(stream: AsyncIterator[AnswerProgress], request: GenerationRequest) -> Finished:
    events = [event async for event in checked_output(stream, request)]
    assert isinstance(events[-1], Finished)
    return events[-1]


async def test_valid_json_passes_and_a_cut_answer_is_left_as_length() -> None:
    request = _request(output=JsonOutput(SCHEMA))
    assert (await _run(_stream('{"n": 3}'), request)).finish_reason == "stop"
    cut = await _run(_stream('{"n": ', "length"), request)
    assert cut.finish_reason == "length"


@pytest.mark.parametrize(
    ("answer", "output", "why"),
    [
        ("Sure!", JsonOutput(), "not JSON"),
        ("[1]", JsonOutput(), "not a JSON object"),
        ('{"n": "three"}', JsonOutput(SCHEMA), "does not match the schema"),
    ],
)
async def test_an_answer_that_is_not_what_was_asked_fails(
    answer: str, output: JsonOutput, why: str
) -> None:
    with pytest.raises(InvalidOutput, match=why):
        await _run(_stream(answer), _request(output=output))


async def test_calls_are_checked_against_their_tool() -> None:
    request = _request(tools=(TIME,), tool_choice=ForcedTool("get_time"))
    good = ToolCall("c1", "get_time", '{"n": 1}')
    assert (await _run(_stream("", "tool_calls", [good]), request)).finish_reason == "tool_calls"
    bad = ToolCall("c2", "get_time", '{"n": "x"}')
    with pytest.raises(InvalidOutput, match="do not match its schema"):
        await _run(_stream("", "tool_calls", [bad]), request)
    with pytest.raises(InvalidOutput, match="required and none was made"):
        await _run(_stream("no call"), request)
