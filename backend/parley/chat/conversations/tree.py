"""A conversation's tree of messages: its branches, and where a new message goes in it (the
rules of edit, resend and regenerate).

Messages form a tree by `parent_id`. A branch is the chain of parents from one message up to
the root; the conversation's `current_leaf_id` is the newest message of the branch last
written to, or the one a client picked. A user message answers an answer (or starts the
conversation); an answer answers a user message.

The SPA walks the same tree in `frontend/src/state/branches.ts`; both sides check their rules
against `shared/conversation-tree.vectors.json`.
"""

from __future__ import annotations

from collections.abc import Sequence

from parley.models import Message
from parley.protocol import ParleyError


class BadBranch(ParleyError):
    """A parent or message id that does not fit; the message says why, for the user."""

    default_code = "bad_request"
    default_kind = "invalid"


def branch_to(messages: Sequence[Message], message_id: str) -> list[Message]:
    """The branch that ends at `message_id`: the messages from the root down to it, oldest
    first, siblings left out; empty for an unknown id. A missing parent ends the walk, and so
    does a parent already on the branch, so a broken tree (an import) still gives one."""
    by_id = {message.id: message for message in messages}
    path: list[Message] = []
    seen: set[str] = set()
    current = by_id.get(message_id)
    while current is not None and current.id not in seen:
        seen.add(current.id)
        path.append(current)
        current = by_id.get(current.parent_id) if current.parent_id else None
    path.reverse()
    return path


def current_leaf(messages: Sequence[Message], current_leaf_id: str | None) -> Message | None:
    """The message the conversation shows last: its current leaf, or (for conversations from
    before branches were picked) the newest message."""
    for message in messages:
        if message.id == current_leaf_id:
            return message
    return max(messages, key=lambda m: m.seq) if messages else None


def current_branch(messages: Sequence[Message], current_leaf_id: str | None) -> list[Message]:
    """The branch that ends at the current leaf (see `current_leaf`). The SPA shows it going
    on along the newest replies below that leaf; where the leaf is one, that is the same."""
    leaf = current_leaf(messages, current_leaf_id)
    return branch_to(messages, leaf.id) if leaf is not None else []


def parent_for_send(
    messages: Sequence[Message], current_leaf_id: str | None, parent_id: str | None, given: bool
) -> str | None:
    """The parent of a new user message: `parent_id` when the client gave one (null: a new
    first message), else the current leaf."""
    if not given:
        leaf = current_leaf(messages, current_leaf_id)
        return leaf.id if leaf is not None else None
    if parent_id is None:
        return None
    parent = next((m for m in messages if m.id == parent_id), None)
    if parent is None:
        raise BadBranch("parent_id is not a message of this conversation.")
    if parent.role != "assistant":
        raise BadBranch("parent_id must be an answer: a user message follows an answer.")
    return parent.id


def question_for_regenerate(
    messages: Sequence[Message], current_leaf_id: str | None, message_id: str | None
) -> Message:
    """The user message a regenerated answer answers: the parent of `message_id` (an answer),
    or by default the question of the current branch's last answer."""
    by_id = {m.id: m for m in messages}
    if message_id is not None:
        answer = by_id.get(message_id)
        if answer is None:
            raise BadBranch("message_id is not a message of this conversation.")
        if answer.role != "assistant":
            raise BadBranch("message_id must be an answer; edit a user message with send.")
        question = by_id.get(answer.parent_id) if answer.parent_id else None
    else:
        leaf = current_leaf(messages, current_leaf_id)
        if leaf is not None and leaf.role == "assistant":
            question = by_id.get(leaf.parent_id) if leaf.parent_id else None
        else:
            question = leaf
    if question is None or question.role != "user":
        raise BadBranch("There is no message to answer yet.")
    return question
