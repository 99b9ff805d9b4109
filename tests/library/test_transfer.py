"""Export and import documents: ChatGPT's mapping tree, Parley's own format, bad files."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from parley.chat.conversations.events import message_events
from parley.chat.conversations.tree import current_branch
from parley.library.archive import imported_rows
from parley.library.export_document import BadImport, ExportedConversation
from parley.library.transfer import ImportLimits, conversation_markdown, read_import
from parley.models import Conversation, Message

CHATGPT = Path(__file__).parents[1] / "data" / "chatgpt-conversations.json"
LIMITS = ImportLimits(max_bytes=10_000_000, max_conversations=10, max_messages=100)
AT = "2026-12-01T10:00:00+00:00"


def chatgpt() -> list[ExportedConversation]:
    return read_import(CHATGPT.read_bytes(), LIMITS)


def by_id(conversation: ExportedConversation) -> dict[str, Any]:
    return {m.id: m for m in conversation.messages}


def test_chatgpt_branches_are_kept() -> None:
    lisbon, beijing = chatgpt()
    assert lisbon.title == "Packing for Lisbon"
    messages = by_id(lisbon)
    assert set(messages) == {"u-1", "a-1a", "a-1b", "u-2a", "u-2b", "a-2"}
    assert messages["u-1"].parent_id is None
    # A regenerated answer and an edited question are siblings.
    assert messages["a-1a"].parent_id == messages["a-1b"].parent_id == "u-1"
    assert messages["u-2a"].parent_id == messages["u-2b"].parent_id == "a-1a"
    assert messages["a-2"].parent_id == "u-2b"
    assert lisbon.current_leaf_id == "a-2"
    assert beijing.title == "北京旅游"
    assert [m.content for m in beijing.messages] == [
        "冬天去北京要带什么衣服？",
        "北京冬天很冷，请带羽绒服、围巾和手套。",
    ]


def test_chatgpt_hidden_and_tool_messages_are_left_out_and_answers_joined() -> None:
    messages = by_id(chatgpt()[0])
    answer = messages["a-2"]
    assert answer.content == (
        "It is light; let me check the usual temperatures.\n\n"
        "Highs are around 15 °C, so add a fleece under it."
    )
    assert "search(" not in answer.content
    assert answer.thinking.startswith("The jacket looks like a thin windbreaker")
    assert messages["u-2b"].content == "[image]\nIs this jacket warm enough?"
    assert messages["a-1a"].model == "gpt-4o"
    assert messages["u-1"].created_at == datetime.fromtimestamp(1764500010.0, UTC)


def test_chatgpt_a_deep_conversation_is_read_without_recursion() -> None:
    depth = 5000
    mapping: dict[str, Any] = {"root": {"message": None, "parent": None, "children": ["n0"]}}
    for i in range(depth):
        role = "user" if i % 2 == 0 else "assistant"
        mapping[f"n{i}"] = {
            "message": {
                "author": {"role": role},
                "content": {"content_type": "text", "parts": [f"turn {i}"]},
                "create_time": 1764500000 + i,
            },
            "parent": "root" if i == 0 else f"n{i - 1}",
            "children": [f"n{i + 1}"] if i + 1 < depth else [],
        }
    raw = json.dumps([{"title": "long", "mapping": mapping, "current_node": f"n{depth - 1}"}])
    limits = ImportLimits(max_bytes=10**8, max_conversations=1, max_messages=depth)
    (conversation,) = read_import(raw.encode(), limits)
    assert len(conversation.messages) == depth
    assert conversation.current_leaf_id == f"n{depth - 1}"


def test_chatgpt_export_in_its_zip() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("chat.html", "<html></html>")
        archive.writestr("conversations.json", CHATGPT.read_bytes())
    assert len(read_import(buffer.getvalue(), LIMITS)) == 2


def test_a_zip_that_unpacks_beyond_the_limit_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("conversations.json", b"[" + b" " * 200_000 + b"]")
    small = ImportLimits(max_bytes=100_000, max_conversations=10, max_messages=10)
    with pytest.raises(BadImport, match="unpacks to more than"):
        read_import(buffer.getvalue(), small)


def parley_document(**conversation: Any) -> bytes:
    body = {
        "id": "c1",
        "title": "t",
        "created_at": AT,
        "updated_at": AT,
        "messages": [],
        **conversation,
    }
    return json.dumps(
        {"format": "parley.export", "version": 1, "exported_at": AT, "conversations": [body]}
    ).encode()


def user(message_id: str, parent: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"id": message_id, "parent_id": parent, "role": "user", "created_at": AT, **fields}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"{not json", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'{"hello": "world"}', "neither a Parley export nor"),
        (b"[]", "holds no conversation"),
        (b'[{"title": "no mapping"}]', "neither a Parley export nor"),
        (b"PK\x03\x04broken", "zip file cannot be read"),
        (parley_document(messages=[{"id": "m1", "role": "robot"}]), "messages.0"),
        (parley_document(title="x" * 201), "title"),
        (parley_document(messages=[user("m1"), user("m1")]), "share an id"),
        (parley_document(messages=[user("m1", "nowhere")]), "not in the file"),
        (parley_document(messages=[user("m1", "m2"), user("m2", "m1")]), "loop"),
    ],
)
def test_bad_files_say_why(raw: bytes, reason: str) -> None:
    with pytest.raises(BadImport, match=reason):
        read_import(raw, LIMITS)


def test_count_limits() -> None:
    with pytest.raises(BadImport, match="at most 1 are imported"):
        read_import(CHATGPT.read_bytes(), ImportLimits(10**7, 1, 100))
    with pytest.raises(BadImport, match="8 messages; at most 5"):
        read_import(CHATGPT.read_bytes(), ImportLimits(10**7, 10, 5))


def test_imported_rows_replay_like_a_run() -> None:
    (conversation,) = read_import(
        parley_document(
            messages=[
                user("m1", content="question"),
                {
                    "id": "m2",
                    "parent_id": "m1",
                    "role": "assistant",
                    "content": "answer",
                    "thinking": "hmm",
                    "created_at": AT,
                },
                {
                    "id": "m3",
                    "parent_id": "m1",
                    "role": "assistant",
                    "content": "cut",
                    "status": "streaming",
                    "created_at": AT,
                },
            ],
            current_leaf_id="m2",
        ),
        LIMITS,
    )
    rows = imported_rows("owner", conversation, model_served=lambda _: False)
    question, answer, cut = rows.messages
    assert question.id not in {"m1", "m2", "m3"}
    assert answer.parent_id == question.id and cut.parent_id == question.id
    assert rows.conversation.current_leaf_id == answer.id
    assert rows.conversation.last_seq == cut.end_seq
    events = [e for m in rows.messages for e in message_events(m, 0)]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.type for e in events] == [
        "message",
        "start",
        "thinking",
        "chunk",
        "end",
        "start",
        "chunk",
        "error",
    ]
    assert cut.status == "interrupted"


def test_markdown_shows_one_branch_with_thinking_folded() -> None:
    conversation = Conversation.model_validate(
        {"owner_id": "o", "title": "Trip", "system_prompt": "Be brief."}
    )
    first = Message(conversation_id=conversation.id, role="user", content="Where?", seq=1)
    old = Message(
        conversation_id=conversation.id, parent_id=first.id, role="assistant", content="Old", seq=2
    )
    new = Message(
        conversation_id=conversation.id,
        parent_id=first.id,
        role="assistant",
        content="Lisbon.",
        thinking="Somewhere warm.",
        seq=3,
    )
    conversation.current_leaf_id = new.id
    branch = current_branch([first, old, new], conversation.current_leaf_id)
    markdown = conversation_markdown(conversation, branch)
    assert markdown.startswith("# Trip\n")
    assert "> Be brief." in markdown
    assert "## User\n\nWhere?" in markdown
    assert "<details>\n<summary>Thinking</summary>\n\nSomewhere warm.\n\n</details>" in markdown
    assert "Lisbon." in markdown and "Old" not in markdown
