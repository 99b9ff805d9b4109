"""The thinking splitter: `<think>` style tags in a stream of deltas, however they are cut."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from parley.engine.reasoning import ReasoningSplitter
from parley.protocol import Piece


def run(splitter: ReasoningSplitter, deltas: Iterable[str]) -> tuple[str, str]:
    """Feed every delta, flush, and return (thinking, answer) as concatenated text."""
    pieces: list[Piece] = []
    for delta in deltas:
        pieces.extend(splitter.feed(delta))
    pieces.extend(splitter.flush())
    assert all(piece.text for piece in pieces), "no empty pieces"
    thinking = "".join(piece.text for piece in pieces if piece.channel == "thinking")
    answer = "".join(piece.text for piece in pieces if piece.channel == "answer")
    return thinking, answer


def cuts(text: str) -> list[list[str]]:
    """`text` cut in two at every position."""
    return [[text[:index], text[index:]] for index in range(len(text) + 1)]


def test_plain_answer_without_tags_is_all_answer() -> None:
    assert run(ReasoningSplitter(), ["Hello", " there", "!"]) == ("", "Hello there!")


def test_think_block_then_answer() -> None:
    deltas = ["<think>", "Let me see.", "</think>", "The answer is 4."]
    assert run(ReasoningSplitter(), deltas) == ("Let me see.", "The answer is 4.")


def test_newlines_after_closing_tag_are_not_part_of_the_answer() -> None:
    deltas = ["<think>hmm</think>", "\n", "\n", "Four."]
    assert run(ReasoningSplitter(), deltas) == ("hmm", "Four.")


def test_whitespace_before_the_opening_tag_still_opens_thinking() -> None:
    assert run(ReasoningSplitter(), ["\n ", "<think>x</think>y"]) == ("x", "y")


TEXT = "<think>step one, step two</think>Final answer."


@pytest.mark.parametrize("deltas", cuts(TEXT), ids=lambda d: f"cut{len(d[0])}")
def test_tags_cut_at_any_position_split_the_same(deltas: list[str]) -> None:
    assert run(ReasoningSplitter(), deltas) == ("step one, step two", "Final answer.")


def test_tags_fed_one_character_at_a_time_split_the_same() -> None:
    assert run(ReasoningSplitter(), list(TEXT)) == ("step one, step two", "Final answer.")


def test_every_two_cut_points_split_the_same() -> None:
    for first in range(len(TEXT) + 1):
        for second in range(first, len(TEXT) + 1):
            deltas = [TEXT[:first], TEXT[first:second], TEXT[second:]]
            assert run(ReasoningSplitter(), deltas) == ("step one, step two", "Final answer.")


def test_prompt_that_opened_the_tag_starts_in_thinking() -> None:
    splitter = ReasoningSplitter(start_in_thinking=True)
    assert splitter.in_thinking
    assert run(splitter, ["reasoning here", "</think>", "answer"]) == ("reasoning here", "answer")


@pytest.mark.parametrize("index", range(len("thought</think>done") + 1))
def test_prompt_opened_tag_with_closing_tag_cut_anywhere(index: int) -> None:
    text = "thought</think>done"
    splitter = ReasoningSplitter(start_in_thinking=True)
    assert run(splitter, [text[:index], text[index:]]) == ("thought", "done")


def test_prompt_opened_tag_does_not_open_again_on_a_literal_open_tag() -> None:
    splitter = ReasoningSplitter(start_in_thinking=True)
    assert run(splitter, ["a</think>", "<think>b"]) == ("a", "<think>b")


def test_unclosed_tag_leaves_everything_as_thinking() -> None:
    splitter = ReasoningSplitter()
    thinking, answer = run(splitter, ["<think>", "still going", " and going </thi"])
    assert (thinking, answer) == ("still going and going </thi", "")
    assert splitter.flush() == []
    assert splitter.in_thinking


def test_flush_with_nothing_held_returns_no_pieces() -> None:
    splitter = ReasoningSplitter()
    assert splitter.feed("done") == [Piece("answer", "done")]
    assert splitter.flush() == []


@pytest.mark.parametrize("index", range(len("<reasoning>why</reasoning>so") + 1))
def test_custom_tags_cut_anywhere(index: int) -> None:
    text = "<reasoning>why</reasoning>so"
    splitter = ReasoningSplitter("<reasoning>", "</reasoning>")
    assert run(splitter, [text[:index], text[index:]]) == ("why", "so")


def test_custom_tags_leave_default_think_tags_as_answer() -> None:
    splitter = ReasoningSplitter("<reasoning>", "</reasoning>")
    assert run(splitter, ["<think>x</think>y"]) == ("", "<think>x</think>y")


def test_empty_tags_are_refused() -> None:
    with pytest.raises(ValueError):
        ReasoningSplitter("", "</think>")
    with pytest.raises(ValueError):
        ReasoningSplitter("<think>", "")


def test_text_that_only_looks_like_a_tag_start_stays_answer() -> None:
    splitter = ReasoningSplitter()
    assert splitter.feed("<thi") == []  # held back: it could still become the tag
    assert run(splitter, ["s is not a tag"]) == ("", "<this is not a tag")


def test_cut_tag_prefix_at_the_end_of_the_stream_is_answer() -> None:
    assert run(ReasoningSplitter(), ["<thin"]) == ("", "<thin")


def test_think_tag_in_the_middle_of_an_answer_is_answer() -> None:
    deltas = ["Use ", "<think>", " tags", "</think>", " like this."]
    assert run(ReasoningSplitter(), deltas) == ("", "Use <think> tags</think> like this.")


def test_think_tag_after_answer_fed_char_by_char_is_answer() -> None:
    text = "Sure. <think>not thinking</think> end"
    assert run(ReasoningSplitter(), list(text)) == ("", text)


def test_partial_close_tag_inside_thinking_is_thinking() -> None:
    deltas = ["<think>a </t", "able> b", "</think>c"]
    assert run(ReasoningSplitter(), deltas) == ("a </table> b", "c")


@pytest.mark.parametrize(
    "text",
    [
        "plain answer",
        "<think>t</think>a",
        "<think>a < b and </thin k</think>x </think> y",
        "<think></think>empty thinking",
        "<think>never closed",
        "answer with <think>inside</think>",
        "<<think>>",
    ],
)
def test_pieces_concatenate_to_the_input_minus_tags(text: str) -> None:
    for size in (1, 2, 3, 5, 8):
        deltas = [text[i : i + size] for i in range(0, len(text), size)]
        splitter = ReasoningSplitter()
        pieces: list[Piece] = []
        for delta in deltas:
            pieces.extend(splitter.feed(delta))
        pieces.extend(splitter.flush())
        joined = "".join(piece.text for piece in pieces)
        opened = text.startswith("<think>")
        expected = text.replace("<think>", "", 1).replace("</think>", "", 1) if opened else text
        assert joined == expected, (size, pieces)
