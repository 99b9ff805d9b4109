"""From stored messages to a prompt: the branch, the turns, and fitting the context."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from parley.chat.prepare.prompts import (
    NO_RESULT,
    Prompt,
    PromptTooLong,
    build_prompt,
    history_turns,
)
from parley.engine.base import ChatTurn
from parley.engine.config import ScriptedConfig
from parley.engine.scripted import ScriptedEngine
from parley.models import Message
from parley.protocol import ToolCall, ToolSpec


def engine(context_length: int) -> ScriptedEngine:
    return ScriptedEngine(ScriptedConfig(context_length=context_length))


def text_of(prompt: Prompt, *, enable_thinking: bool | None = None) -> str:
    """The prompt as the scripted engine renders it."""
    return engine(4096).render_prompt(prompt.turns, enable_thinking=enable_thinking)


def words(prefix: str, count: int) -> str:
    """A text of `count` scripted-engine tokens."""
    return " ".join(f"{prefix}{index}" for index in range(count))


def conversation(pairs: int, size: int = 10) -> list[ChatTurn]:
    turns: list[ChatTurn] = []
    for index in range(pairs):
        turns.append(ChatTurn("user", words(f"q{index}-", size)))
        turns.append(ChatTurn("assistant", words(f"a{index}-", size)))
    return turns


def message(id_: str, role: str, parent_id: str | None = None, **fields: object) -> Message:
    return Message.model_validate(
        {"id": id_, "conversation_id": "c", "role": role, "parent_id": parent_id, **fields}
    )


async def test_short_history_is_kept_whole() -> None:
    turns = [*conversation(2), ChatTurn("user", "last question")]
    prompt = await build_prompt(
        engine(4096), "Be brief.", turns, max_new_tokens=100, enable_thinking=None
    )
    assert prompt.dropped_turns == 0
    assert text_of(prompt).startswith("<|system|>\nBe brief.\n")
    assert text_of(prompt).endswith("last question\n<|end|>\n<|assistant|>\n")
    assert prompt.tokens == engine(4096).count_tokens(text_of(prompt))
    assert prompt.max_new_tokens == 100


async def test_blank_system_prompt_adds_no_system_turn() -> None:
    prompt = await build_prompt(
        engine(4096), "  ", [ChatTurn("user", "hi")], max_new_tokens=10, enable_thinking=None
    )
    assert "<|system|>" not in text_of(prompt)


async def test_oldest_turns_are_dropped_to_fit_keeping_system_and_newest() -> None:
    small = engine(120)
    turns = [*conversation(6), ChatTurn("user", "newest question")]
    prompt = await build_prompt(
        small, "System rules.", turns, max_new_tokens=20, enable_thinking=None
    )
    assert prompt.dropped_turns > 0
    assert prompt.tokens + 20 <= 120
    assert "System rules." in text_of(prompt)
    assert "newest question" in text_of(prompt)
    assert "q0-0" not in text_of(prompt)  # the oldest question went first
    assert "a5-9" in text_of(prompt)  # the latest answer is still there
    # The history left starts with a question, never with an orphaned answer.
    after_system = text_of(prompt).split("<|end|>\n", 1)[1]
    assert after_system.startswith("<|user|>\n")


async def test_dropping_stops_as_soon_as_the_prompt_fits() -> None:
    turns = [*conversation(6), ChatTurn("user", "newest question")]
    prompt = await build_prompt(engine(120), "", turns, max_new_tokens=20, enable_thinking=None)
    assert prompt.dropped_turns >= 2
    # Keeping one more question and answer would not have fitted.
    one_more = turns[prompt.dropped_turns - 2 :]
    bigger = await build_prompt(
        engine(10_000), "", one_more, max_new_tokens=20, enable_thinking=None
    )
    assert bigger.tokens + 20 > 120


async def test_max_new_tokens_shrinks_to_the_room_left() -> None:
    prompt = await build_prompt(
        engine(100),
        "",
        [ChatTurn("user", words("w", 40))],
        max_new_tokens=500,
        enable_thinking=None,
    )
    assert prompt.max_new_tokens == 100 - prompt.tokens


async def test_newest_turn_too_long_for_the_context_raises() -> None:
    turns = [*conversation(2), ChatTurn("user", words("huge", 200))]
    with pytest.raises(PromptTooLong):
        await build_prompt(engine(100), "", turns, max_new_tokens=10, enable_thinking=None)


async def test_enable_thinking_false_closes_the_think_block_in_the_prompt() -> None:
    prompt = await build_prompt(
        engine(4096), "", [ChatTurn("user", "hi")], max_new_tokens=10, enable_thinking=False
    )
    text = text_of(prompt, enable_thinking=False)
    assert text.endswith("<think>\n\n</think>\n\n")
    # The prompt was counted as rendered with the switch.
    assert prompt.tokens == engine(4096).count_tokens(text)


def test_history_turns_leave_thinking_out() -> None:
    branch = [
        message("u1", "user", content="What is 2+2?"),
        message("a1", "assistant", "u1", content="4", thinking="2 plus 2 makes 4"),
    ]
    turns = history_turns(branch)
    assert turns == [ChatTurn("user", "What is 2+2?"), ChatTurn("assistant", "4")]
    assert all("plus" not in turn.content for turn in turns)


def test_history_turns_skip_errored_and_empty_answers() -> None:
    branch = [
        message("u1", "user", content="one"),
        message("a1", "assistant", "u1", content="partial", status="error"),
        message("u2", "user", "a1", content="two"),
        message("a2", "assistant", "u2", content="", thinking="only thought"),
        message("u3", "user", "a2", content="three"),
        message("a3", "assistant", "u3", content="cut short", status="cancelled"),
    ]
    assert history_turns(branch) == [
        ChatTurn("user", "one"),
        ChatTurn("user", "two"),
        ChatTurn("user", "three"),
        ChatTurn("assistant", "cut short"),
    ]


def test_history_turns_keep_tool_calls_and_results_and_leave_thinking_out() -> None:
    def record(call_id: str, name: str, offset: int, result: str | None) -> dict[str, object]:
        return {
            "call_id": call_id,
            "name": name,
            "arguments": "{}",
            "result": result,
            "is_error": False,
            "content_offset": offset,
        }

    branch = [
        message("u1", "user", content="Weather and time?"),
        message(
            "a1",
            "assistant",
            "u1",
            content="Looking.It is sunny at noon.",
            thinking="I should call the tools",
            tool_calls=[
                record("c1", "w.weather", 8, "sunny"),
                record("c2", "w.clock", 8, "noon"),
            ],
        ),
        message("u2", "user", "a1", content="And now?"),
        message(
            "a2",
            "assistant",
            "u2",
            content="",
            tool_calls=[record("c3", "w.clock", 0, None), record("c4", "nope", 0, "no tool")],
            status="cancelled",
        ),
        message("u3", "user", "a2", content="Thanks"),
    ]
    assert history_turns(branch) == [
        ChatTurn("user", "Weather and time?"),
        ChatTurn(
            "assistant",
            "Looking.",
            tool_calls=(ToolCall("c1", "w__weather", "{}"), ToolCall("c2", "w__clock", "{}")),
        ),
        ChatTurn("tool", "sunny", tool_call_id="c1"),
        ChatTurn("tool", "noon", tool_call_id="c2"),
        ChatTurn("assistant", "It is sunny at noon."),
        ChatTurn("user", "And now?"),
        ChatTurn(
            "assistant",
            "",
            tool_calls=(ToolCall("c3", "w__clock", "{}"), ToolCall("c4", "nope", "{}")),
        ),
        ChatTurn("tool", NO_RESULT, tool_call_id="c3"),
        ChatTurn("tool", "no tool", tool_call_id="c4"),
        ChatTurn("user", "Thanks"),
    ]


class CountingEngine(ScriptedEngine):
    """The scripted engine, recording how many turns each prompt count reads."""

    def __init__(self, context_length: int) -> None:
        super().__init__(ScriptedConfig(context_length=context_length))
        self.turns_counted = 0

    async def prompt_tokens(
        self,
        turns: Sequence[ChatTurn],
        *,
        enable_thinking: bool | None,
        tools: Sequence[ToolSpec] = (),
    ) -> int:
        self.turns_counted += len(turns)
        return await super().prompt_tokens(turns, enable_thinking=enable_thinking, tools=tools)


async def test_fitting_a_long_history_reads_only_what_is_kept() -> None:
    counting = CountingEngine(4096)
    turns = [*conversation(2_000), ChatTurn("user", "newest question")]
    prompt = await build_prompt(counting, "", turns, max_new_tokens=256, enable_thinking=None)
    assert prompt.dropped_turns > 3_000
    kept = len(prompt.turns)
    # Each kept turn is counted alone once and in a few exact counts of the kept prompt; the
    # thousands of turns that cannot fit are never rendered (quadratic would be ~10^7 turns).
    assert counting.turns_counted <= 4 * kept + 10, (counting.turns_counted, kept)


def reference_fit(
    system_prompt: str, turns: list[ChatTurn], context: int, max_new_tokens: int
) -> tuple[ChatTurn, ...]:
    """The longest suffix starting at a question (or the newest turn alone) that fits."""
    reserve = min(max_new_tokens, max(context // 4, 1))
    system = (ChatTurn("system", system_prompt),) if system_prompt.strip() else ()
    scripted = engine(context)
    starts = [i for i, turn in enumerate(turns[:-1]) if turn.role == "user" or i == 0]
    for start in [*starts, len(turns) - 1]:
        kept = (*system, *turns[start:])
        text = scripted.render_prompt(kept, enable_thinking=None)
        if scripted.count_tokens(text) + reserve <= context:
            return kept
    raise PromptTooLong("reference")


@pytest.mark.parametrize("seed", range(40))
async def test_fitting_keeps_exactly_what_dropping_one_turn_at_a_time_would(seed: int) -> None:
    rng = random.Random(seed)
    turns: list[ChatTurn] = []
    for index in range(rng.randint(1, 30)):
        turns.append(ChatTurn("user", words(f"q{index}-", rng.randint(1, 40))))
        for reply in range(rng.choice([0, 1, 1, 2])):
            turns.append(ChatTurn("assistant", words(f"a{index}.{reply}-", rng.randint(0, 40))))
    if rng.random() < 0.2:
        turns.insert(0, ChatTurn("assistant", words("greeting", 5)))
    context = rng.randint(60, 600)
    system_prompt = rng.choice(["", "Be brief.", words("rule", 20)])
    try:
        expected = reference_fit(system_prompt, turns, context, 50)
    except PromptTooLong:
        with pytest.raises(PromptTooLong):
            await build_prompt(
                engine(context), system_prompt, turns, max_new_tokens=50, enable_thinking=None
            )
        return
    prompt = await build_prompt(
        engine(context), system_prompt, turns, max_new_tokens=50, enable_thinking=None
    )
    assert prompt.turns == expected
    assert prompt.tokens == engine(context).count_tokens(text_of(prompt))


async def test_tool_results_keep_their_call_and_question() -> None:
    call = ToolCall("call_1", "get_time", "{}")
    round_trip = [
        ChatTurn("user", "what time is it " * 20),
        ChatTurn("assistant", "", tool_calls=(call,)),
        ChatTurn("tool", "noon", tool_call_id="call_1"),
    ]
    older = [ChatTurn("user", "old " * 500), ChatTurn("assistant", "old answer")]
    prompt = await build_prompt(
        engine(512), "", [*older, *round_trip], max_new_tokens=16, enable_thinking=None
    )
    assert prompt.turns == tuple(round_trip)
    assert prompt.dropped_turns == 2
    # The result alone would fit; without its call and question it cannot be read.
    with pytest.raises(PromptTooLong):
        await build_prompt(engine(64), "", round_trip, max_new_tokens=16, enable_thinking=None)
