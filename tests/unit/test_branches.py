"""Where sends and regenerates go in the tree of messages."""

from __future__ import annotations

import pytest

from parley.chat.conversations.tree import (
    BadBranch,
    current_leaf,
    parent_for_send,
    question_for_regenerate,
)
from parley.models import Message


def tree() -> list[Message]:
    """q1 -> a1, a1b (regenerated); a1 -> q2 -> a2; q1b (an edit of q1) -> a3."""
    q1 = Message(id="q1", conversation_id="c", role="user", seq=1)
    a1 = Message(id="a1", conversation_id="c", parent_id="q1", role="assistant", seq=2)
    a1b = Message(id="a1b", conversation_id="c", parent_id="q1", role="assistant", seq=6)
    q2 = Message(id="q2", conversation_id="c", parent_id="a1", role="user", seq=3)
    a2 = Message(id="a2", conversation_id="c", parent_id="q2", role="assistant", seq=4)
    q1b = Message(id="q1b", conversation_id="c", role="user", seq=7)
    a3 = Message(id="a3", conversation_id="c", parent_id="q1b", role="assistant", seq=8)
    return [q1, a1, q2, a2, a1b, q1b, a3]


def leaf_id(messages: list[Message], current_leaf_id: str | None) -> str | None:
    leaf = current_leaf(messages, current_leaf_id)
    return leaf.id if leaf is not None else None


def test_the_current_leaf_or_the_newest_message() -> None:
    assert leaf_id(tree(), "a2") == "a2"
    assert leaf_id(tree(), None) == "a3"
    assert leaf_id(tree(), "gone") == "a3"
    assert leaf_id([], None) is None


def test_send_without_parent_follows_the_current_leaf() -> None:
    assert parent_for_send(tree(), "a2", None, given=False) == "a2"
    assert parent_for_send(tree(), None, None, given=False) == "a3"
    assert parent_for_send([], None, None, given=False) is None


def test_send_with_a_parent_makes_a_sibling_branch() -> None:
    assert parent_for_send(tree(), "a2", "a1", given=True) == "a1"
    assert parent_for_send(tree(), "a2", None, given=True) is None


@pytest.mark.parametrize("parent_id", ["nowhere", "q2"])
def test_send_with_a_bad_parent(parent_id: str) -> None:
    with pytest.raises(BadBranch):
        parent_for_send(tree(), "a2", parent_id, given=True)


def test_regenerate_answers_the_question_of_the_current_branch() -> None:
    assert question_for_regenerate(tree(), "a2", None).id == "q2"
    assert question_for_regenerate(tree(), "a1b", None).id == "q1"
    assert question_for_regenerate(tree(), None, None).id == "q1b"


def test_regenerate_any_answer() -> None:
    assert question_for_regenerate(tree(), "a2", "a1").id == "q1"
    assert question_for_regenerate(tree(), "a2", "a3").id == "q1b"


@pytest.mark.parametrize("message_id", ["nowhere", "q2"])
def test_regenerate_a_bad_message(message_id: str) -> None:
    with pytest.raises(BadBranch):
        question_for_regenerate(tree(), "a2", message_id)


def test_regenerate_with_nothing_to_answer() -> None:
    with pytest.raises(BadBranch):
        question_for_regenerate([], None, None)
