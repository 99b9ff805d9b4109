"""Attached files in a user turn: whole when they fit, cut evenly with a note when not."""

from __future__ import annotations

from parley.chat.prepare.file_prompts import (
    AttachedText,
    fit_question,
    fit_turn,
    render_turn,
    share_chars,
)
from parley.engine.config import ScriptedConfig
from parley.engine.scripted import ScriptedEngine
from parley.protocol import ChatTurn


def test_share_chars_gives_what_short_texts_leave_to_long_ones() -> None:
    assert share_chars([10, 1000, 1000], 610) == [10, 300, 300]
    assert share_chars([5, 5], 100) == [5, 5]
    assert share_chars([100, 100], 0) == [0, 0]
    assert share_chars([], 50) == []


def test_render_whole_files_before_the_question() -> None:
    files = [
        AttachedText("a.md", "text/markdown", "# A"),
        AttachedText('b "x".csv', "text/csv", "1,2"),
    ]
    turn = render_turn("Compare them", files, [3, 3])
    assert turn == (
        '<attachment name="a.md" type="text/markdown">\n# A\n</attachment>\n\n'
        '<attachment name="b &quot;x&quot;.csv" type="text/csv">\n1,2\n</attachment>\n\n'
        "Compare them"
    )
    assert render_turn("plain", [], []) == "plain"


def test_a_cut_file_carries_a_note() -> None:
    turn = render_turn("q", [AttachedText("log.txt", "text/plain", "x" * 5000)], [1200])
    assert "x" * 1200 + "\n</attachment>" in turn
    assert "x" * 1201 not in turn
    assert 'only the first 1,200 of the 5,000 characters of "log.txt"' in turn
    assert turn.endswith("\n\nq")


async def test_fit_keeps_files_whole_when_they_fit() -> None:
    files = [AttachedText("a.txt", "text/plain", "short")]

    async def fits(_: str) -> bool:
        return True

    assert await fit_turn("q", files, fits, max_tokens=100) == render_turn("q", files, [5])


async def test_fit_cuts_to_the_largest_turn_that_fits() -> None:
    files = [
        AttachedText("a.txt", "text/plain", "a" * 50_000),
        AttachedText("b.txt", "text/plain", "b" * 300),
    ]
    counted: list[int] = []

    async def fits(turn: str) -> bool:
        counted.append(len(turn))
        return len(turn) <= 4_000  # one token per character, say

    turn = await fit_turn("the question", files, fits, max_tokens=4_000)
    assert len(turn) <= 4_000
    assert len(turn) > 3_600  # close to the room there is
    assert "b" * 300 in turn  # the short file whole, the long one cut
    assert "only the first" in turn and '"a.txt"' in turn
    assert turn.endswith("the question")
    # Never a tokenizer pass over the whole 50,000 characters, and only a few passes.
    assert max(counted) < 50_000 and len(counted) <= 7


async def test_fit_question_on_an_engine_leaves_room_for_the_answer() -> None:
    engine = ScriptedEngine(ScriptedConfig(context_length=300))
    words = " ".join(f"w{i}" for i in range(2000))
    history = [ChatTurn("user", "hi"), ChatTurn("assistant", "hello"), ChatTurn("user", "Sum up")]
    turns = await fit_question(
        engine,
        "Be brief.",
        history,
        [AttachedText("big.txt", "text/plain", words)],
        max_new_tokens=50,
        enable_thinking=None,
    )
    assert turns[:2] == history[:2]
    question = turns[-1].content
    assert question.startswith('<attachment name="big.txt" type="text/plain">\nw0 w1 ')
    assert 'characters of "big.txt" are shown; the rest was cut to fit the context.' in question
    assert question.endswith("\n\nSum up")
    system_and_question = [ChatTurn("system", "Be brief."), turns[-1]]
    tokens = await engine.prompt_tokens(system_and_question, enable_thinking=None)
    assert 200 < tokens <= 300 - 50
