"""ChatGPT's `conversations.json`, read into Parley's export document: each conversation's
message tree, its visible turns (text and thinking), their times.

The file is someone else's format, read leniently (what is not understood is skipped) but in
time linear in the file: text pieces are gathered in lists and joined once, and what the
conversion makes is counted against a budget, so thinking handed down many branches cannot
multiply the file's size.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from parley.library.export_document import (
    ID_MAX,
    BadImport,
    ExportedConversation,
    ExportedMessage,
)
from parley.models import utcnow
from parley.protocol import MessageRole
from parley.protocol.conversations import DEFAULT_TITLE, TITLE_MAX


def _timestamp(value: object, fallback: datetime) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return fallback


def _parts_text(parts: object) -> str:
    texts: list[str] = []
    for part in parts if isinstance(parts, list) else []:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict):
            kind = str(part.get("content_type", ""))
            # Images and audio are not carried over; a marker says one was there.
            if "image" in kind:
                texts.append("[image]")
            elif "audio" in kind:
                texts.append("[audio]")
    return "\n".join(text for text in texts if text)


@dataclass(frozen=True, slots=True)
class _ChatGptTurn:
    role: MessageRole
    text: str
    thinking: str


def _chatgpt_turn(message: object) -> _ChatGptTurn | None:
    """A node's message as a turn to keep, a thinking-only turn (role assistant, no text),
    or None for what a reader never saw (system and tool messages, tool calls, hidden ones)."""
    if not isinstance(message, dict):
        return None
    author = message.get("author")
    role = author.get("role") if isinstance(author, dict) else None
    content = message.get("content")
    metadata = message.get("metadata")
    if not isinstance(content, dict) or role not in ("user", "assistant"):
        return None
    if isinstance(metadata, dict) and metadata.get("is_visually_hidden_from_conversation"):
        return None
    if message.get("recipient", "all") != "all":
        return None  # a call to a tool
    kind = content.get("content_type")
    if kind in ("text", "multimodal_text"):
        text = _parts_text(content.get("parts"))
        return _ChatGptTurn(role, text, "") if text.strip() else None
    if kind == "thoughts" and role == "assistant":
        thoughts = content.get("thoughts")
        pieces = [
            str(t.get("content") or t.get("summary") or "")
            for t in (thoughts if isinstance(thoughts, list) else [])
            if isinstance(t, dict)
        ]
        thinking = "\n\n".join(p for p in pieces if p)
        return _ChatGptTurn("assistant", "", thinking) if thinking else None
    return None


class TextBudget:
    """Characters a conversion may still make; BadImport once they are spent."""

    def __init__(self, max_chars: int) -> None:
        self.left = max_chars

    def spend(self, chars: int) -> None:
        self.left -= chars
        if self.left < 0:
            raise BadImport("The file's conversations expand to more text than an import may hold.")


# Thinking not yet given to an answer, newest piece first, shared by the branches below it.
_Thoughts = tuple["_Thoughts", str] | None


def _joined(thoughts: _Thoughts, budget: TextBudget) -> list[str]:
    pieces: list[str] = []
    while thoughts is not None:
        thoughts, piece = thoughts
        budget.spend(len(piece))
        pieces.append(piece)
    return pieces[::-1]


def _short_id(key: str) -> str:
    """A key as an id: long keys by their hash (ids only need to be unique in
    the file: an import gives every message a new one)."""
    return key if len(key) <= ID_MAX else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


@dataclass(slots=True)
class _Draft:
    key: str
    parent: str | None
    role: MessageRole
    created_at: datetime
    model: str | None
    content: list[str]
    thinking: list[str] = field(default_factory=list)

    def message(self) -> ExportedMessage:
        return ExportedMessage(
            id=_short_id(self.key),
            parent_id=_short_id(self.parent) if self.parent is not None else None,
            role=self.role,
            content="\n\n".join(self.content),
            thinking="\n\n".join(self.thinking),
            created_at=self.created_at,
            model=self.model,
        )


def _children(node: dict[str, Any], nodes: dict[str, Any]) -> list[str]:
    children = node.get("children")
    if not isinstance(children, list):
        return []
    return [c for c in children if isinstance(c, str) and c in nodes]


def chatgpt_conversation(
    index: int, data: dict[str, Any], budget: TextBudget
) -> ExportedConversation:
    """ChatGPT's mapping tree as Parley messages, branches kept. Nodes no reader saw are
    skipped and their children hang from the nearest message kept above them; thinking is
    given to the answer below it; answers split around a tool call are joined again.
    ValidationError for what Parley's document refuses; BadImport past the budget."""
    mapping: dict[str, Any] = data["mapping"]
    created = _timestamp(data.get("create_time"), utcnow())
    updated = _timestamp(data.get("update_time"), created)
    nodes = {key: node for key, node in mapping.items() if isinstance(node, dict)}
    kept: dict[str, _Draft] = {}
    resolved: dict[str, str | None] = {}
    roots = [
        key
        for key, node in nodes.items()
        if not (isinstance(node.get("parent"), str) and node["parent"] in nodes)
    ]

    # (node, message kept above it, thinking not yet given, whether every node from that
    # message down to here had a single child)
    stack: list[tuple[str, str | None, _Thoughts, bool]] = [
        (root, None, None, False) for root in reversed(roots)
    ]
    seen: set[str] = set()
    while stack:
        key, parent_id, thinking, single_line = stack.pop()
        if key in seen:
            continue
        seen.add(key)
        node = nodes[key]
        message = node.get("message")
        turn = _chatgpt_turn(message)
        above = kept.get(parent_id) if parent_id else None
        here = parent_id
        if turn is not None and not turn.text:
            thinking = (thinking, turn.thinking)
        elif (
            turn is not None
            and turn.role == "assistant"
            and above is not None
            and (above.role == "assistant" and single_line)
        ):
            budget.spend(len(turn.text))
            above.content.append(turn.text)
            above.thinking += _joined(thinking, budget)
            thinking = None
        elif turn is not None:
            assert isinstance(message, dict)  # a turn is made of one
            metadata = message.get("metadata")
            model = metadata.get("model_slug") if isinstance(metadata, dict) else None
            budget.spend(len(turn.text))
            kept[key] = _Draft(
                key=key,
                parent=parent_id,
                role=turn.role,
                created_at=_timestamp(message.get("create_time"), created),
                model=str(model)[:200] if model else None,
                content=[turn.text],
                thinking=_joined(thinking, budget) if turn.role == "assistant" else [],
            )
            here, thinking = key, None
        resolved[key] = here
        children = _children(node, nodes)
        alone = len(children) == 1 and (single_line or here == key)
        for child in reversed(children):
            stack.append((child, here, thinking, alone))
    current = data.get("current_node")
    leaf = resolved.get(current) if isinstance(current, str) else None
    title = data.get("title")
    conversation_id = data.get("id") or data.get("conversation_id")
    return ExportedConversation(
        id=_short_id(conversation_id) if isinstance(conversation_id, str) else f"chatgpt-{index}",
        title=(
            title.strip()[:TITLE_MAX] if isinstance(title, str) and title.strip() else DEFAULT_TITLE
        ),
        created_at=created,
        updated_at=updated,
        current_leaf_id=_short_id(leaf) if leaf is not None else None,
        messages=[draft.message() for draft in kept.values()],
    )
