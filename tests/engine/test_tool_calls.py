"""Tool calls in the model's own format: rendering through the real chat templates (the
embedded SmolLM2's, read from its GGUF, and a Qwen3-style one in tests/data) and the streaming
parser, malformed call text included."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import pytest
from transformers.utils.chat_template_utils import render_jinja_template

from parley.engine.base import EngineError, GenerationRequest
from parley.engine.specs import embedded_smollm2_gguf
from parley.engine.tool_calls import ToolCallParser, parse_tool_calls, tool_call_parser
from parley.engine.tool_prompts import (
    TemplateMessage,
    TemplateTools,
    ToolSyntax,
    detect_tool_syntax,
    tool_prompt,
)
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
    ToolChoice,
    ToolSpec,
    Usage,
)

DATA = Path(__file__).resolve().parents[1] / "data"
WEATHER = ToolSpec(
    "get_weather",
    "The weather in a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
CLOCK = ToolSpec("clock", "The time", {"type": "object", "properties": {}})
HERMES = ToolSyntax("hermes", in_template=True)
FALLBACK = ToolSyntax("hermes", in_template=False)
LLAMA = ToolSyntax("llama3_json", in_template=True)
MISTRAL = ToolSyntax("mistral", in_template=True)


@pytest.fixture(scope="module")
def smollm2_template() -> str:
    from gguf import GGUFReader

    field = GGUFReader(embedded_smollm2_gguf()).fields["tokenizer.chat_template"]
    return bytes(field.parts[field.data[0]]).decode()


@pytest.fixture(scope="module")
def qwen3_template() -> str:
    return (DATA / "qwen3_chat_template.jinja").read_text()


def renderer(template: str, **extra: Any) -> Any:
    def render(messages: list[TemplateMessage], tools: TemplateTools | None) -> str:
        rendered: Any = render_jinja_template(
            [messages], tools=tools, chat_template=template, add_generation_prompt=True, **extra
        )
        return str(rendered[0][0])

    return render


def request(
    turns: list[ChatTurn],
    tools: tuple[ToolSpec, ...] = (WEATHER, CLOCK),
    tool_choice: ToolChoice = "auto",
) -> GenerationRequest:
    return GenerationRequest("r", tuple(turns), tools=tools, tool_choice=tool_choice)


def rendered(template: str, syntax: ToolSyntax, req: GenerationRequest) -> str:
    prompt = tool_prompt(req, syntax)
    return renderer(template)(prompt.messages, prompt.tools) + prompt.answer_prefix


CALL = ToolCall("call_abc", "get_weather", '{"city": "Paris"}')
ROUND_TRIP = [
    ChatTurn("user", "Weather in Paris?"),
    ChatTurn("assistant", "Let me look.", tool_calls=(CALL,)),
    ChatTurn("tool", "sunny, 21 C", tool_call_id="call_abc"),
]


# --- detection and rendering ---


def test_smollm2_ignores_tools_so_they_are_offered_in_a_system_turn(
    smollm2_template: str,
) -> None:
    assert detect_tool_syntax(smollm2_template, renderer(smollm2_template)) == FALLBACK
    text = rendered(smollm2_template, FALLBACK, request([ChatTurn("user", "hi")]))
    assert text.startswith("<|im_start|>system\n# Tools\n")
    assert '"name": "get_weather"' in text and "<tool_call></tool_call> XML tags" in text
    assert text.endswith("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")


def test_smollm2_keeps_a_system_turn_and_renders_the_tool_history_as_text(
    smollm2_template: str,
) -> None:
    turns = [ChatTurn("system", "Be brief."), *ROUND_TRIP]
    text = rendered(smollm2_template, FALLBACK, request(turns))
    assert text.startswith("<|im_start|>system\nBe brief.\n\n# Tools\n")
    assert (
        "<|im_start|>assistant\nLet me look.\n<tool_call>\n"
        '{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>\n'
        "<|im_start|>user\n<tool_response>\nsunny, 21 C\n</tool_response><|im_end|>\n"
    ) in text


def test_the_fallback_joins_consecutive_tool_results_in_one_user_turn(
    smollm2_template: str,
) -> None:
    second = ToolCall("call_def", "clock", "{}")
    turns = [
        ChatTurn("user", "Weather and time?"),
        ChatTurn("assistant", "", tool_calls=(CALL, second)),
        ChatTurn("tool", "sunny", tool_call_id="call_abc"),
        ChatTurn("tool", "noon", tool_call_id="call_def"),
    ]
    text = rendered(smollm2_template, FALLBACK, request(turns))
    assert (
        "<|im_start|>user\n<tool_response>\nsunny\n</tool_response>\n"
        "<tool_response>\nnoon\n</tool_response><|im_end|>\n<|im_start|>assistant\n"
    ) in text


def test_qwen3_takes_tools_in_its_template(qwen3_template: str) -> None:
    assert detect_tool_syntax(qwen3_template, renderer(qwen3_template)) == HERMES
    text = rendered(qwen3_template, HERMES, request([ChatTurn("user", "hi")]))
    tool_line = json.dumps(
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city",
                "parameters": dict(WEATHER.parameters),
            },
        }
    )
    assert f"<tools>\n{tool_line}\n" in text
    assert text.endswith("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")


def test_qwen3_renders_calls_and_results_its_own_way(qwen3_template: str) -> None:
    text = rendered(qwen3_template, HERMES, request(ROUND_TRIP))
    assert (
        "<|im_start|>assistant\nLet me look.\n<tool_call>\n"
        '{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>\n'
        "<|im_start|>user\n<tool_response>\nsunny, 21 C\n</tool_response><|im_end|>\n"
        "<|im_start|>assistant\n"
    ) in text


def test_choice_none_offers_no_tools_but_keeps_the_history(qwen3_template: str) -> None:
    text = rendered(qwen3_template, HERMES, request(ROUND_TRIP, tool_choice="none"))
    assert "# Tools" not in text and "<tool_response>\nsunny, 21 C" in text
    assert tool_call_parser(request(ROUND_TRIP, tool_choice="none"), HERMES) is None


def test_required_and_named_choices_open_the_call(qwen3_template: str) -> None:
    hi = [ChatTurn("user", "hi")]
    required = rendered(qwen3_template, HERMES, request(hi, tool_choice="required"))
    assert required.endswith("<|im_start|>assistant\n<tool_call>\n")
    named = rendered(qwen3_template, HERMES, request(hi, tool_choice=ForcedTool("clock")))
    assert named.endswith('<|im_start|>assistant\n<tool_call>\n{"name": "clock", "arguments": ')


def test_detection_names_the_formats_of_templates_that_take_tools() -> None:
    def differs(messages: list[TemplateMessage], tools: TemplateTools | None) -> str:
        return "with tools" if tools else "without"

    assert detect_tool_syntax("... [TOOL_CALLS] ...", differs) == MISTRAL
    assert detect_tool_syntax("... <|python_tag|> ...", differs) == LLAMA
    assert detect_tool_syntax("... <tool_call> ...", differs) == HERMES
    # A format of its own that we cannot parse: the tools go into a system turn instead.
    assert detect_tool_syntax("... <function_call> ...", differs) == FALLBACK
    assert detect_tool_syntax(None, differs) == FALLBACK

    def fails(messages: list[TemplateMessage], tools: TemplateTools | None) -> str:
        if tools:
            raise ValueError("no tools here")
        return "without"

    assert detect_tool_syntax("... <tool_call> ...", fails) == FALLBACK


def test_llama3_gets_one_call_per_assistant_message() -> None:
    second = ToolCall("call_def", "clock", "{}")
    turns = [ChatTurn("user", "?"), ChatTurn("assistant", "Looking.", tool_calls=(CALL, second))]
    messages = tool_prompt(request(turns), LLAMA).messages
    assert [len(message.get("tool_calls", [])) for message in messages] == [0, 1, 1]
    assert messages[1]["content"] == "Looking." and messages[2]["content"] == ""
    assert messages[1]["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": {"city": "Paris"},
    }


def test_mistral_gets_nine_character_ids_that_match() -> None:
    messages = tool_prompt(request(ROUND_TRIP), MISTRAL).messages
    call_id = messages[1]["tool_calls"][0]["id"]
    assert len(call_id) == 9 and call_id.isalnum()
    assert messages[2] == {
        "role": "tool",
        "content": "sunny, 21 C",
        "tool_call_id": call_id,
        "name": "get_weather",
    }


def test_a_turn_without_calls_has_no_tool_calls_key() -> None:
    # Llama's templates test `'tool_calls' in message`, an empty list included.
    messages = tool_prompt(request([ChatTurn("user", "hi")]), LLAMA).messages
    assert messages == [{"role": "user", "content": "hi"}]


# --- parsing ---


def parse(syntax: ToolSyntax, chunks: list[str], choice: ToolChoice = "auto") -> list[object]:
    """What the parser makes of the chunks: text runs joined, calls as (name, arguments)."""
    parser = tool_call_parser(request([ChatTurn("user", "?")], tool_choice=choice), syntax)
    assert parser is not None
    out: list[object] = []
    for item in [item for chunk in chunks for item in parser.feed(chunk)] + parser.flush():
        if isinstance(item, ToolCall):
            out.append((item.name, json.loads(item.arguments)))
        elif out and isinstance(out[-1], str):
            out[-1] += item
        else:
            out.append(item)
    return out


def hermes_parser() -> ToolCallParser:
    parser = tool_call_parser(request([ChatTurn("user", "?")]), HERMES)
    assert parser is not None
    return parser


def characters(text: str) -> list[str]:
    return list(text)


HERMES_ANSWER = (
    'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n'
    '</tool_call>\n<tool_call>\n{"name": "clock", "arguments": {}}\n</tool_call>'
)


@pytest.mark.parametrize("split", [lambda text: [text], characters])
def test_hermes_calls_in_one_piece_or_cut_anywhere(split: Any) -> None:
    assert parse(HERMES, split(HERMES_ANSWER)) == [
        "Let me check.\n",
        ("get_weather", {"city": "Paris"}),
        "\n",
        ("clock", {}),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": }\n</tool_call>',
        '<tool_call>\n{"name": "launch_rockets", "arguments": {}}\n</tool_call>',
        '<tool_call>\n{"name": "get_weather", "arguments": "Paris"}\n</tool_call>',
        '<tool_call>\n["get_weather"]\n</tool_call>',
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Pa',
    ],
    ids=["bad-json", "unknown-name", "arguments-not-object", "not-an-object", "cut-off"],
)
def test_malformed_hermes_calls_are_text(bad: str) -> None:
    answer = f"Sure. {bad} Done?"
    assert parse(HERMES, [answer]) == [answer]
    assert parse(HERMES, characters(answer)) == [answer]


@pytest.mark.parametrize("split", [lambda text: [text], characters])
def test_a_hermes_call_whose_string_holds_the_closing_tag_ends_with_its_json(split: Any) -> None:
    """A constrained call's arguments are any JSON the schema allows, the closing tag too."""
    answer = (
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris}}</tool_call> "}}\n'
        "</tool_call> after"
    )
    assert parse(HERMES, split(answer)) == [
        ("get_weather", {"city": "Paris}}</tool_call> "}),
        " after",
    ]


def test_text_like_the_opening_tag_is_held_only_while_it_may_be_one() -> None:
    parser = hermes_parser()
    assert parser.feed("a <tool") == ["a "]
    assert parser.feed("box> b") == ["<toolbox> b"]
    assert parser.feed("<") == []
    assert parser.flush() == ["<"]


def test_a_required_call_is_parsed_from_the_prefix_on() -> None:
    rest = '{"name": "clock", "arguments": {}}\n</tool_call>'
    assert parse(HERMES, [rest], choice="required") == [("clock", {})]
    assert parse(HERMES, ['{"tz": "UTC"}}\n</tool_call>'], choice=ForcedTool("clock")) == [
        ("clock", {"tz": "UTC"})
    ]
    # A forced call the model botched is still text, the prefix included.
    assert parse(HERMES, ["oops</tool_call>"], choice=ForcedTool("clock")) == [
        '<tool_call>\n{"name": "clock", "arguments": oops</tool_call>'
    ]


@pytest.mark.parametrize("split", [lambda text: [text], characters])
def test_llama3_json_calls(split: Any) -> None:
    answer = (
        '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}; '
        '{"name": "clock", "parameters": {}}'
    )
    assert parse(LLAMA, split(answer)) == [("get_weather", {"city": "Paris"}), ("clock", {})]
    bare = '  {"type": "function", "name": "clock", "parameters": {}}'
    assert parse(LLAMA, split(bare)) == [("clock", {})]


@pytest.mark.parametrize(
    "answer",
    [
        "The weather is fine.",
        '{"city": "Paris"} is what I would send.',
        '{"name": "launch_rockets", "parameters": {}}',
        '{"name": "clock", "parameters": {',
        'I would call {"name": "clock", "parameters": {}}',
    ],
    ids=["prose", "other-json", "unknown-name", "cut-off", "not-at-the-start"],
)
def test_llama3_text_that_is_no_call_is_text(answer: str) -> None:
    assert parse(LLAMA, [answer]) == [answer]
    assert parse(LLAMA, characters(answer)) == [answer]


def test_llama3_text_after_a_call_is_text() -> None:
    assert parse(LLAMA, ['{"name": "clock", "parameters": {}} and more']) == [
        ("clock", {}),
        " and more",
    ]


@pytest.mark.parametrize("split", [lambda text: [text], characters])
def test_mistral_calls(split: Any) -> None:
    answer = (
        'Checking. [TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}, '
        '{"name": "clock", "arguments": {}}]'
    )
    assert parse(MISTRAL, split(answer)) == [
        "Checking. ",
        ("get_weather", {"city": "Paris"}),
        ("clock", {}),
    ]


@pytest.mark.parametrize(
    "bad",
    [
        '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "x"}]',
        '[TOOL_CALLS] {"name": "clock", "arguments": {}}',
        '[TOOL_CALLS] [{"name": "clock", "arguments": {}',
        "[TOOL_CALLS] []",
    ],
    ids=["one-bad-call", "not-a-list", "cut-off", "empty"],
)
def test_malformed_mistral_calls_are_text(bad: str) -> None:
    assert parse(MISTRAL, [bad]) == [bad]
    assert parse(MISTRAL, characters(bad)) == [bad]


# --- the stream stage ---


async def stream_of(
    events: list[AnswerProgress], fail: bool = False
) -> AsyncGenerator[AnswerProgress, None]:
    for event in events:
        yield event
    if fail:
        raise EngineError("boom")


def answer_events(*texts: str, thinking: str = "") -> list[AnswerProgress]:
    events: list[AnswerProgress] = [Prefilling(10)]
    if thinking:
        events.append(Pieces((Piece("thinking", thinking),), 1))
    events.extend(Pieces((Piece("answer", text),), 2 + n) for n, text in enumerate(texts))
    events.append(Finished("stop", Usage(10, 2 + len(texts))))
    return events


async def staged(
    events: list[AnswerProgress], *, parallel: bool = True, fail: bool = False
) -> list[AnswerProgress]:
    stage = parse_tool_calls(stream_of(events, fail), hermes_parser(), parallel=parallel)
    return [event async for event in stage]


def summary(events: list[AnswerProgress]) -> list[object]:
    out: list[object] = []
    for event in events:
        if isinstance(event, Pieces):
            out.extend((piece.channel, piece.text) for piece in event.pieces)
        elif isinstance(event, ToolCallMade):
            out.append((event.index, event.call.name))
        elif isinstance(event, Finished):
            out.append(event.finish_reason)
    return out


async def test_the_stage_yields_calls_where_they_come_and_finishes_tool_calls() -> None:
    events = await staged(answer_events(*HERMES_ANSWER.partition("</tool_call>")))
    assert summary(events) == [
        ("answer", "Let me check.\n"),
        (0, "get_weather"),
        ("answer", "\n"),
        (1, "clock"),
        "tool_calls",
    ]
    calls = [event.call for event in events if isinstance(event, ToolCallMade)]
    assert len({call.call_id for call in calls}) == 2
    assert all(call.call_id.startswith("call_") for call in calls)


async def test_thinking_is_never_parsed() -> None:
    call = '<tool_call>{"name": "clock", "arguments": {}}</tool_call>'
    events = await staged(answer_events("Fine.", thinking=f"Maybe {call}?"))
    assert summary(events) == [("thinking", f"Maybe {call}?"), ("answer", "Fine."), "stop"]


async def test_without_parallel_calls_the_answer_ends_after_the_first() -> None:
    events = await staged(answer_events(HERMES_ANSWER, "never read"), parallel=False)
    assert summary(events) == [("answer", "Let me check.\n"), (0, "get_weather"), "tool_calls"]
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.usage == Usage(10, 2)


async def test_a_failure_flushes_the_held_text_then_raises() -> None:
    events = answer_events('ok <tool_call>{"name": "clock"')[:-1]
    seen: list[AnswerProgress] = []
    with pytest.raises(EngineError):
        async for event in parse_tool_calls(
            stream_of(events, fail=True), hermes_parser(), parallel=True
        ):
            seen.append(event)
    assert summary(seen) == [("answer", "ok "), ("answer", '<tool_call>{"name": "clock"')]


async def test_a_cut_call_at_the_end_is_text_and_the_answer_stops() -> None:
    events = await staged(answer_events('<tool_call>{"name": "clock", "argu'))
    assert summary(events) == [("answer", '<tool_call>{"name": "clock", "argu'), "stop"]
