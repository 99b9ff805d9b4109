"""ChatGPT's `conversations.json`, read into Parley's export document: each conversation's
message tree, its visible turns (text and thinking), their times."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from parley.library.export_document import ID_MAX, ExportedConversation, ExportedMessage
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


def chatgpt_conversation(index: int, data: dict[str, Any]) -> ExportedConversation:
    """ChatGPT's mapping tree as Parley messages, branches kept. Nodes no reader saw are
    skipped and their children hang from the nearest message kept above them; thinking is
    given to the answer below it; answers split around a tool call are joined again."""
    mapping: dict[str, Any] = data["mapping"]
    created = _timestamp(data.get("create_time"), utcnow())
    updated = _timestamp(data.get("update_time"), created)
    nodes = {str(key): node for key, node in mapping.items() if isinstance(node, dict)}
    kept: dict[str, ExportedMessage] = {}
    resolved: dict[str, str | None] = {}
    children_of = {
        key: [str(c) for c in node.get("children", []) if str(c) in nodes]
        if isinstance(node.get("children"), list)
        else []
        for key, node in nodes.items()
    }
    roots = [key for key, node in nodes.items() if node.get("parent") not in nodes]

    # (node, message kept above it, thinking not yet given, whether every node from that
    # message down to here had a single child)
    stack: list[tuple[str, str | None, str, bool]] = [(root, None, "", False) for root in roots]
    stack.reverse()
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
            thinking = "\n\n".join(t for t in (thinking, turn.thinking) if t)
        elif (
            turn is not None
            and turn.role == "assistant"
            and above is not None
            and (above.role == "assistant" and single_line)
        ):
            above.content = f"{above.content}\n\n{turn.text}"
            above.thinking = "\n\n".join(t for t in (above.thinking, thinking) if t)
            thinking = ""
        elif turn is not None:
            assert isinstance(message, dict)  # a turn is made of one
            at = _timestamp(message.get("create_time"), created)
            metadata = message.get("metadata")
            model = metadata.get("model_slug") if isinstance(metadata, dict) else None
            kept[key] = ExportedMessage(
                id=key[:ID_MAX],
                parent_id=parent_id,
                role=turn.role,
                content=turn.text,
                thinking=thinking if turn.role == "assistant" else "",
                created_at=at,
                model=str(model)[:200] if model else None,
            )
            here, thinking = key, ""
        resolved[key] = here
        children = children_of[key]
        alone = len(children) == 1 and (single_line or here == key)
        for child in reversed(children):
            stack.append((child, here, thinking, alone))
    current = data.get("current_node")
    leaf = resolved.get(str(current)) if current is not None else None
    title = data.get("title")
    return ExportedConversation(
        id=str(data.get("id") or data.get("conversation_id") or f"chatgpt-{index}")[:ID_MAX],
        title=(str(title).strip()[:TITLE_MAX] if title and str(title).strip() else DEFAULT_TITLE),
        created_at=created,
        updated_at=updated,
        current_leaf_id=leaf,
        messages=list(kept.values()),
    )
