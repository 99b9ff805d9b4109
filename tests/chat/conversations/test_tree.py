"""The walks over a conversation's tree: the cases shared with the SPA, the branch a prompt is
built from, and where sends and regenerates go."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from parley.chat.conversations.tree import (
    BadBranch,
    branch_to,
    current_branch,
    current_leaf,
    parent_for_send,
    question_for_regenerate,
)
from parley.models import Message

VECTORS = Path(__file__).parents[3] / "shared" / "conversation-tree.vectors.json"


def message(id_: str, role: str, parent_id: str | None = None, seq: int = 0) -> Message:
    return Message(id=id_, conversation_id="c", role=role, parent_id=parent_id, seq=seq)


def trees() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(VECTORS.read_text())["trees"]
    return loaded


def ids(messages: list[Message]) -> list[str]:
    return [m.id for m in messages]


def leaf_of(messages: list[Message], given: str | None) -> str | None:
    leaf = current_leaf(messages, given)
    return leaf.id if leaf is not None else None


@pytest.mark.parametrize("tree", trees(), ids=lambda tree: str(tree["name"]))
def test_the_shared_cases(tree: dict[str, Any]) -> None:
    # The backend keeps the rules it walks by; the SPA checks all of them (branches.ts).
    messages = [message(m["id"], "user", m["parent_id"], m["seq"]) for m in tree["messages"]]
    cases = [c for c in tree["cases"] if c["rule"] in ("path", "current_leaf")]
    assert cases
    for case in cases:
        if case["rule"] == "path":
            assert ids(branch_to(messages, case["given"])) == case["expect"], case
        else:
            assert leaf_of(messages, case["given"]) == case["expect"], case
            expected_branch = branch_to(messages, case["expect"]) if case["expect"] else []
            assert current_branch(messages, case["given"]) == expected_branch, case


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


def test_the_current_leaf_or_the_newest_message() -> None:
    assert leaf_of(tree(), "a2") == "a2"
    assert leaf_of(tree(), None) == "a3"
    assert leaf_of(tree(), "gone") == "a3"
    assert leaf_of([], None) is None


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
