"""The scripted engine's tool calls: the deterministic rule protocol tests build on."""

from __future__ import annotations

from parley.engine.base import ChatTurn, GenerationRequest, SamplingParams
from parley.engine.config import ScriptedConfig
from parley.engine.scripted import ScriptedEngine
from parley.protocol import (
    AnswerProgress,
    Finished,
    ForcedTool,
    Pieces,
    ToolCall,
    ToolCallMade,
    ToolChoice,
    ToolSpec,
)

WEATHER = ToolSpec("weather", "The weather in a city", {"type": "object", "properties": {}})
CLOCK = ToolSpec("clock", "The time", {"type": "object", "properties": {}})


async def run(
    turns: list[ChatTurn],
    *,
    tools: tuple[ToolSpec, ...] = (WEATHER, CLOCK),
    tool_choice: ToolChoice = "auto",
    parallel: bool = True,
    max_tokens: int = 64,
) -> list[AnswerProgress]:
    engine = ScriptedEngine(ScriptedConfig(token_delay_s=0, thinking=""))
    request = GenerationRequest(
        request_id="r",
        turns=tuple(turns),
        params=SamplingParams(max_tokens=max_tokens),
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=parallel,
    )
    return [event async for event in engine.generate(request)]


def answer(events: list[AnswerProgress]) -> str:
    return "".join(
        piece.text
        for event in events
        if isinstance(event, Pieces)
        for piece in event.pieces
        if piece.channel == "answer"
    )


def calls(events: list[AnswerProgress]) -> list[tuple[int, str, str]]:
    return [
        (event.index, event.call.name, event.call.arguments)
        for event in events
        if isinstance(event, ToolCallMade)
    ]


def finish(events: list[AnswerProgress]) -> str:
    last = events[-1]
    assert isinstance(last, Finished)
    return last.finish_reason


USER = 'Let me look. [[call weather {"city": "Paris"}]] [[call clock {}]]'


async def test_markers_become_calls_in_order_after_the_text_before_them() -> None:
    events = await run([ChatTurn("user", USER)])
    assert answer(events) == "Let me look."
    assert calls(events) == [(0, "weather", '{"city": "Paris"}'), (1, "clock", "{}")]
    assert finish(events) == "tool_calls"
    # The calls come after every piece, just before Finished.
    assert all(isinstance(event, ToolCallMade) for event in events[-3:-1])
    ids = [event.call.call_id for event in events if isinstance(event, ToolCallMade)]
    assert len(set(ids)) == 2 and all(call_id.startswith("call_") for call_id in ids)


async def test_parallel_calls_off_keeps_only_the_first() -> None:
    events = await run([ChatTurn("user", USER)], parallel=False)
    assert calls(events) == [(0, "weather", '{"city": "Paris"}')]
    assert finish(events) == "tool_calls"


async def test_without_tools_or_with_choice_none_the_markers_are_plain_text() -> None:
    for events in (
        await run([ChatTurn("user", USER)], tools=()),
        await run([ChatTurn("user", USER)], tool_choice="none"),
    ):
        assert answer(events) == f"You said: {USER}"
        assert calls(events) == [] and finish(events) == "stop"


async def test_a_malformed_marker_is_plain_text() -> None:
    malformed = ("[[call weather {bad}]]", "[[call weather [1, 2]]]", '[[call weather {"a": 1}')
    for text in malformed:
        events = await run([ChatTurn("user", text)])
        assert answer(events) == f"You said: {text}"
        assert calls(events) == [] and finish(events) == "stop"


async def test_arguments_may_hold_brackets() -> None:
    events = await run([ChatTurn("user", '[[call weather {"grid": [[1]], "s": "]]"}]]')])
    assert calls(events) == [(0, "weather", '{"grid": [[1]], "s": "]]"}')]


async def test_required_and_named_choices_call_without_a_marker() -> None:
    required = await run([ChatTurn("user", "hi")], tool_choice="required")
    assert calls(required) == [(0, "weather", "{}")] and finish(required) == "tool_calls"
    named = await run([ChatTurn("user", "hi")], tool_choice=ForcedTool("clock"))
    assert calls(named) == [(0, "clock", "{}")] and answer(named) == ""


async def test_a_tool_turn_is_answered_with_its_results() -> None:
    call = ToolCall("call_1", "weather", "{}")
    call2 = ToolCall("call_2", "clock", "{}")
    events = await run(
        [
            ChatTurn("user", USER),
            ChatTurn("assistant", "Let me look.", tool_calls=(call, call2)),
            ChatTurn("tool", "sunny", tool_call_id="call_1"),
            ChatTurn("tool", "noon", tool_call_id="call_2"),
        ]
    )
    assert answer(events) == "tool said: sunny; noon"
    assert calls(events) == [] and finish(events) == "stop"


async def test_calls_in_a_tool_result_are_made_while_tools_are_offered() -> None:
    call = ToolCall("call_1", "weather", "{}")
    turns = [
        ChatTurn("user", USER),
        ChatTurn("assistant", "", tool_calls=(call,)),
        ChatTurn("tool", 'Now: [[call clock {"zone": "UTC"}]]', tool_call_id="call_1"),
    ]
    chained = await run(turns)
    assert answer(chained) == "Now:"
    assert calls(chained) == [(0, "clock", '{"zone": "UTC"}')] and finish(chained) == "tool_calls"
    plain = await run(turns, tools=())
    assert answer(plain) == 'tool said: Now: [[call clock {"zone": "UTC"}]]'
    assert calls(plain) == [] and finish(plain) == "stop"


async def test_a_length_cut_makes_no_calls() -> None:
    events = await run([ChatTurn("user", USER)], max_tokens=1)
    assert answer(events) == "Let"
    assert calls(events) == [] and finish(events) == "length"
