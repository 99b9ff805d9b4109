"""The walks over a conversation's tree: the cases shared with the SPA, and the branch a
prompt is built from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from parley.chat.conversations.tree import branch_to, current_branch, current_leaf
from parley.models import Message

VECTORS = Path(__file__).parents[2] / "shared" / "conversation-tree.vectors.json"


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
