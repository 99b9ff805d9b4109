"""From stored messages to a prompt: the branch, the turns, and fitting the context."""

from __future__ import annotations

import pytest

from parley.chat.prompts import Prompt, PromptTooLong, branch_to, build_prompt, history_turns
from parley.engine.base import ChatTurn
from parley.engine.scripted import ScriptedConfig, ScriptedEngine
from parley.models import Message


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


def test_branch_to_follows_parents_and_leaves_siblings_out() -> None:
    messages = [
        message("u1", "user"),
        message("a1", "assistant", "u1"),
        message("u2", "user", "a1"),
        message("a2-old", "assistant", "u2"),
        message("a2-new", "assistant", "u2"),  # regenerated sibling
        message("u3", "user", "a2-new"),
    ]
    assert [m.id for m in branch_to(messages, "u3")] == ["u1", "a1", "u2", "a2-new", "u3"]
    assert [m.id for m in branch_to(messages, "a2-old")] == ["u1", "a1", "u2", "a2-old"]


def test_branch_to_unknown_leaf_is_empty() -> None:
    assert branch_to([message("u1", "user")], "missing") == []


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
