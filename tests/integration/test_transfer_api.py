"""Export and import against a real server: round trips, ChatGPT's format, bad files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ServerFactory, ServerProcess
from tests.helpers import error_code
from tests.integration.test_search_api import chat, search
from tests.integration.ws import ChatSocket, ChatUser, new_user, text_of

CHATGPT = Path(__file__).parents[1] / "data" / "chatgpt-conversations.json"
MISSING_ID = "00000000-0000-4000-8000-000000000000"


def export(user: ChatUser, conversation_id: str, format: str = "json") -> httpx.Response:
    with user.http() as client:
        return client.get(f"/api/conversations/{conversation_id}/export", params={"format": format})


def import_file(user: ChatUser, data: bytes, name: str = "export.json") -> httpx.Response:
    with user.http() as client:
        return client.post("/api/import", files={"file": (name, data, "application/json")})


def conversation_count(user: ChatUser) -> int:
    with user.http() as client:
        return len(client.get("/api/conversations", params={"limit": 200}).json()["items"])


def shape(messages: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Messages without their ids: content, and the position of the parent."""
    index = {m["id"]: i for i, m in enumerate(messages)}
    return [
        (m["role"], m["content"], m["thinking"], m["status"], index.get(m["parent_id"]))
        for m in messages
    ]


async def test_json_export_has_every_branch(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    conversation_id = await chat(user, "first question", system_prompt="Be brief.")
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.send({"type": "regenerate"})
    await socket.until("end")
    await socket.close()
    response = export(user, conversation_id)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "attachment" in response.headers["content-disposition"]
    document = response.json()
    assert document["format"] == "parley.export" and document["version"] == 1
    (exported,) = document["conversations"]
    assert exported["id"] == conversation_id
    assert exported["system_prompt"] == "Be brief."
    stored = user.conversation(conversation_id)["messages"]
    assert shape(exported["messages"]) == shape(stored)
    assert [m["role"] for m in exported["messages"]] == ["user", "assistant", "assistant"]


async def test_markdown_export_is_the_current_branch(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    conversation_id = await chat(user, "Tell me about *Lisbon*", "And Porto?")
    response = export(user, conversation_id, "markdown")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    markdown = response.text
    assert markdown.startswith("# Tell me about *Lisbon*\n")
    assert markdown.count("## User") == 2 and markdown.count("## Assistant") == 2
    assert "<details>\n<summary>Thinking</summary>\n\nLet me think about that." in markdown
    assert "You said: And Porto?" in markdown


async def test_export_of_everything_and_its_round_trip(scripted_server: ServerProcess) -> None:
    source, target = new_user(scripted_server), new_user(scripted_server)
    first = await chat(source, "one", "two")
    second = await chat(source, "北京的冬天", title="中文对话")
    with source.http() as client:
        response = client.get("/api/export")
    assert response.status_code == 200
    document = response.json()
    assert {c["id"] for c in document["conversations"]} == {first, second}

    imported = import_file(target, response.content)
    assert imported.status_code == 201, imported.text
    body = imported.json()
    assert body["imported"] == 2 and len(body["conversation_ids"]) == 2
    assert not {first, second} & set(body["conversation_ids"])
    originals = {c["title"]: c for c in document["conversations"]}
    for conversation_id in body["conversation_ids"]:
        copy = target.conversation(conversation_id)
        original = originals[copy["conversation"]["title"]]
        assert shape(copy["messages"]) == shape(original["messages"])
        assert copy["conversation"]["last_seq"] > max(m["seq"] for m in copy["messages"])
    # The import is searchable and the source's own conversations are untouched.
    assert {i["title"] for i in search(target, "北京")} == {"中文对话"}
    assert conversation_count(source) == 2
    # Importing into the account it came from makes copies, not clashes.
    assert import_file(source, response.content).status_code == 201
    assert conversation_count(source) == 4


async def test_an_imported_conversation_replays_and_continues(
    scripted_server: ServerProcess,
) -> None:
    user = new_user(scripted_server)
    response = import_file(user, CHATGPT.read_bytes(), "conversations.json")
    assert response.status_code == 201, response.text
    conversation_id = response.json()["conversation_ids"][1]
    stored = user.conversation(conversation_id)
    answer = stored["messages"][1]
    socket, ready = await ChatSocket.open(user, conversation_id, after_seq=0)
    assert ready["last_seq"] == stored["conversation"]["last_seq"]
    frames = await socket.until("end")
    assert text_of(frames, "chunk") == answer["content"]
    assert frames[0]["message"]["content"] == "冬天去北京要带什么衣服？"
    await socket.say("还有别的吗？")
    after = await socket.until("end")
    await socket.close()
    assert min(f["seq"] for f in after if "seq" in f) > ready["last_seq"]
    assert text_of(after, "chunk") == "You said: 还有别的吗？"


def test_chatgpt_branches_are_kept(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    response = import_file(user, CHATGPT.read_bytes(), "conversations.json")
    assert response.status_code == 201, response.text
    assert response.json()["imported"] == 2
    lisbon = user.conversation(response.json()["conversation_ids"][0])
    assert lisbon["conversation"]["title"] == "Packing for Lisbon"
    messages = {m["content"][:20]: m for m in lisbon["messages"]}
    assert len(messages) == 6
    question = messages["What should I pack f"]
    regenerated = [m for m in lisbon["messages"] if m["parent_id"] == question["id"]]
    assert len(regenerated) == 2
    edited = [m for m in lisbon["messages"] if m["parent_id"] == regenerated[0]["id"]]
    assert sorted(m["content"][:12] for m in edited) == ["And the weat", "[image]\nIs t"]
    final = messages["It is light; let me "]
    assert final["thinking"].startswith("The jacket looks like")
    assert final["status"] == "complete"
    assert lisbon["conversation"]["current_leaf_id"] == final["id"]
    assert lisbon["conversation"]["model"] is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not json at all", "not valid JSON"),
        (b'{"some": "thing"}', "neither a Parley export"),
        ("ä".encode("latin-1"), "not UTF-8"),
        (
            json.dumps(
                {
                    "format": "parley.export",
                    "version": 1,
                    "exported_at": "2026-12-01T00:00:00Z",
                    "conversations": [
                        {
                            "id": "ok",
                            "created_at": "2026-12-01T00:00:00Z",
                            "updated_at": "2026-12-01T00:00:00Z",
                            "title": "a good one",
                        },
                        {
                            "id": "bad",
                            "created_at": "2026-12-01T00:00:00Z",
                            "updated_at": "2026-12-01T00:00:00Z",
                            "messages": [
                                {
                                    "id": "m",
                                    "parent_id": "gone",
                                    "role": "user",
                                    "created_at": "2026-12-01T00:00:00Z",
                                }
                            ],
                        },
                    ],
                }
            ).encode(),
            "not in the file",
        ),
    ],
)
def test_a_bad_file_stores_nothing_and_says_why(
    scripted_server: ServerProcess, data: bytes, reason: str
) -> None:
    user = new_user(scripted_server)
    response = import_file(user, data)
    assert response.status_code == 422, response.text
    assert error_code(response) == "bad_import"
    assert reason in response.json()["detail"]["message"]
    assert conversation_count(user) == 0


def test_import_limits(server_factory: ServerFactory) -> None:
    """At most 50 kB and one conversation per import."""
    server = server_factory(
        model="scripted", max_import_mb="0.05", max_import_conversations="1"
    ).start()
    user = new_user(server)
    big = import_file(user, b"[" + b" " * 60_000 + b"]")
    assert big.status_code == 413 and error_code(big) == "too_large"
    two = import_file(user, CHATGPT.read_bytes())
    assert two.status_code == 422 and error_code(two) == "bad_import"
    assert "at most 1 are imported" in two.json()["detail"]["message"]
    assert conversation_count(user) == 0


async def test_another_users_conversation_is_not_exported(
    scripted_server: ServerProcess,
) -> None:
    owner, other = new_user(scripted_server), new_user(scripted_server)
    conversation_id = await chat(owner, "mine")
    for format in ("json", "markdown"):
        response = export(other, conversation_id, format)
        assert response.status_code == 404 and error_code(response) == "conversation_not_found"
        assert export(other, MISSING_ID, format).status_code == 404
    assert export(owner, conversation_id, "pdf").status_code == 422
    with other.http() as client:
        assert client.get("/api/export").json()["conversations"] == []
    with httpx.Client(base_url=scripted_server.base_url) as anonymous:
        assert anonymous.get("/api/export").status_code == 401
        assert anonymous.post("/api/import", files={"file": ("a", b"[]")}).status_code == 401
