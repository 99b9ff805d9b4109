"""What a user sends is bounded where it is stored, against real servers on 127.0.0.1: a small
PDF holding millions of characters, names and content types meant to mislead, import files
with fields at or past their edges, and integers past what the database holds. Each gets a
clear error or a bounded result, never a 500 or a dropped connection."""

from __future__ import annotations

import json
import time
import uuid
import zlib
from typing import Any

import pytest

from tests.conftest import ServerFactory, ServerProcess
from tests.integration.test_transfer_api import export, import_file
from tests.integration.ws import ChatSocket, ChatUser, new_user, refusal_code

CLOSE_POLICY = 1008


def many_page_pdf(pages: int, chars_per_page: int) -> bytes:
    """A PDF of a few kilobytes (its pages share one compressed stream of repeated lines) whose
    text is `pages * chars_per_page` characters."""
    stream = "BT /F1 6 Tf 10 780 Td 7 TL " + f"({'A' * 100}) ' " * (chars_per_page // 100)
    packed = zlib.compress(f"{stream}ET".encode(), 9)
    font = 3 + pages
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        *(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {font + 1} 0 R"
            f" /Resources << /Font << /F1 {font} 0 R >> >> >>".encode()
            for _ in range(pages)
        ),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(packed)} /Filter /FlateDecode >>\nstream\n".encode()
        + packed
        + b"\nendstream",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    return out + trailer.encode()


def upload(user: ChatUser, name: str, data: bytes, mime: str) -> dict[str, Any]:
    with user.http() as client:
        response = client.post("/api/files", files={"file": (name, data, mime)})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def stored_attachment(user: ChatUser, file_id: str) -> dict[str, Any]:
    """The file as an export carries it, text included, once a message has sent it."""
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.send(
        {
            "type": "send",
            "content": "Read it.",
            "client_id": str(uuid.uuid4()),
            "attachments": [file_id],
        }
    )
    await socket.until("end")
    await socket.close()
    (conversation,) = export(user, conversation_id).json()["conversations"]
    attachment: dict[str, Any] = conversation["messages"][0]["attachments"][0]
    return attachment


async def test_a_small_pdf_with_millions_of_characters_is_cut(
    server_factory: ServerFactory,
) -> None:
    cap = 30_000
    server = server_factory(
        model="scripted", max_file_text_chars=str(cap), max_upload_mb="1"
    ).start()
    user = new_user(server)
    pdf = many_page_pdf(pages=40, chars_per_page=20_000)
    assert len(pdf) < 20_000
    uploaded = upload(user, "report.pdf", pdf, "application/pdf")
    text = (await stored_attachment(user, uploaded["id"]))["text"]
    assert text.startswith("A" * 100)
    assert text.endswith(f"only its first {cap} characters are kept.]")
    assert len(text) < cap + 200


async def test_upload_names_and_content_types_are_made_safe(
    scripted_server: ServerProcess,
) -> None:
    user = new_user(scripted_server)
    for sent, kept in [
        ("..", "file"),
        (".", "file"),
        ("notes/../../..", "file"),
        ("C:\\Users\\me\\..\\notes.md", "notes.md"),
        ("\u202etxt.exe\u200b.md", "txt.exe.md"),
        ("a\x7fb\x1b[31m.txt", "ab[31m.txt"),
    ]:
        assert upload(user, sent, b"hello", "text/plain")["name"] == kept, sent
    long_type = "text/" + "x" * 300
    uploaded = upload(user, "notes.txt", b"hello", long_type)
    assert uploaded["mime"] == "text/plain"
    odd_type = upload(user, "notes.md", b"hello", "text/<script>")
    assert odd_type["mime"] == "text/markdown"


def parley_export(**attachment: Any) -> dict[str, Any]:
    when = "2026-12-07T10:00:00+00:00"
    return {
        "format": "parley.export",
        "version": 1,
        "exported_at": when,
        "conversations": [
            {
                "id": "c1",
                "title": "Edges",
                "created_at": when,
                "updated_at": when,
                "messages": [
                    {
                        "id": "m1",
                        "role": "user",
                        "content": "hello",
                        "created_at": when,
                        "attachments": [
                            {
                                "id": "f1",
                                "name": "a.txt",
                                "size": 5,
                                "mime": "text/plain",
                                "text": "hello",
                                **attachment,
                            }
                        ],
                    },
                    {
                        "id": "m2",
                        "parent_id": "m1",
                        "role": "assistant",
                        "content": "hi",
                        "created_at": when,
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1},
                    },
                ],
            }
        ],
    }


def edited(path: tuple[Any, ...], value: Any) -> bytes:
    document = parley_export()
    *inner, last = path
    target: Any = document
    for key in inner:
        target = target[key]
    target[last] = value
    return json.dumps(document).encode()


BAD_IMPORTS = [
    pytest.param(
        edited(("exported_at",), "9999-12-31T23:59:59-12:00"), "exported_at", id="date-past-9999"
    ),
    pytest.param(
        edited(("conversations", 0, "created_at"), "0001-01-01T00:00:00+14:00"),
        "created_at",
        id="date-before-year-1",
    ),
    pytest.param(
        edited(("conversations", 0, "messages", 0, "created_at"), "9999-12-31T23:59:59-12:00"),
        "created_at",
        id="message-date",
    ),
    pytest.param(
        edited(("conversations", 0, "messages", 0, "attachments", 0, "size"), 2**64),
        "size",
        id="size-2**64",
    ),
    pytest.param(
        edited(("conversations", 0, "messages", 0, "attachments", 0, "mime"), "text/" + "x" * 300),
        "mime",
        id="long-mime",
    ),
    pytest.param(
        edited(("conversations", 0, "messages", 0, "attachments", 0, "mime"), "not a type"),
        "mime",
        id="bad-mime",
    ),
    pytest.param(
        edited(("conversations", 0, "messages", 1, "usage", "prompt_tokens"), 2**64),
        "usage",
        id="usage-2**64",
    ),
    pytest.param(
        json.dumps(parley_export()).replace('"prompt_tokens": 1', '"prompt_tokens": NaN').encode(),
        "NaN",
        id="nan",
    ),
    pytest.param(
        edited(("conversations", 0, "messages", 1, "parent_id"), ["m1"]),
        "parent_id",
        id="parent-list",
    ),
]


@pytest.mark.parametrize(("raw", "field"), BAD_IMPORTS)
async def test_a_bad_parley_import_is_422_naming_the_field(
    scripted_server: ServerProcess, raw: bytes, field: str
) -> None:
    user = new_user(scripted_server)
    response = import_file(user, raw)
    assert response.status_code == 422, response.text
    error = response.json()["detail"]
    assert error["code"] == "bad_import"
    assert field in error["message"], error["message"]


async def test_imported_attachment_names_are_made_safe(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    names = {
        "../../x.txt": "x.txt",
        "..\\y.txt": "y.txt",
        "/etc/passwd.txt": "passwd.txt",
        "..": "file",
        "\u202egpj.exe": "gpj.exe",
    }
    document = parley_export()
    message = document["conversations"][0]["messages"][0]
    template = message["attachments"][0]
    message["attachments"] = [
        {**template, "id": f"f{i}", "name": name} for i, name in enumerate(names)
    ]
    response = import_file(user, json.dumps(document).encode())
    assert response.status_code == 201, response.text
    (conversation_id,) = response.json()["conversation_ids"]
    stored = user.conversation(conversation_id)["messages"][0]["attachments"]
    assert [a["name"] for a in stored] == list(names.values())


def chatgpt_node(
    key: str, parent: Any, children: list[Any], role: str | None, text: str
) -> dict[str, Any]:
    message = None
    if role is not None:
        message = {
            "id": key,
            "author": {"role": role},
            "create_time": 1_700_000_000,
            "content": {"content_type": "text", "parts": [text]},
        }
    return {"id": key, "parent": parent, "children": children, "message": message}


def chatgpt_file(**changes: Any) -> bytes:
    long = "n" * 250
    mapping = {
        "root": chatgpt_node("root", None, ["q"], None, ""),
        "q": chatgpt_node("q", "root", [long], "user", "Where to?"),
        long: chatgpt_node(long, "q", [], "assistant", "Lisbon."),
    }
    conversation = {
        "id": "c" * 250,
        "title": "Odd",
        "create_time": 1_700_000_000,
        "current_node": long,
        "mapping": mapping,
    }
    conversation.update(changes)
    return json.dumps([conversation]).encode()


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({}, id="ids-of-250-characters"),
        pytest.param({"current_node": ["x"]}, id="current-node-list"),
        pytest.param({"title": {"a": 1}, "create_time": 1e300}, id="odd-title-and-time"),
    ],
)
async def test_odd_chatgpt_files_are_imported(
    scripted_server: ServerProcess, changes: dict[str, Any]
) -> None:
    user = new_user(scripted_server)
    response = import_file(user, chatgpt_file(**changes), "conversations.json")
    assert response.status_code == 201, response.text
    (conversation_id,) = response.json()["conversation_ids"]
    stored = user.conversation(conversation_id)
    assert [m["content"] for m in stored["messages"]] == ["Where to?", "Lisbon."]


@pytest.mark.parametrize("parent", [["root"], {"id": "root"}, 7])
async def test_a_chatgpt_parent_that_is_not_a_key_makes_a_root(
    scripted_server: ServerProcess, parent: Any
) -> None:
    user = new_user(scripted_server)
    raw = json.loads(chatgpt_file())
    raw[0]["mapping"]["q"]["parent"] = parent
    response = import_file(user, json.dumps(raw).encode(), "conversations.json")
    assert response.status_code == 201, response.text


def thinking_chain(thoughts: int) -> bytes:
    """A question, `thoughts` nodes of thinking one under the other, and the answer."""
    mapping: dict[str, Any] = {
        "q": chatgpt_node("q", None, ["t0"], "user", "Think hard."),
    }
    piece = "hmm " * 1000
    for i in range(thoughts):
        mapping[f"t{i}"] = {
            "id": f"t{i}",
            "parent": "q" if i == 0 else f"t{i - 1}",
            "children": [f"t{i + 1}" if i + 1 < thoughts else "a"],
            "message": {
                "author": {"role": "assistant"},
                "content": {"content_type": "thoughts", "thoughts": [{"content": piece}]},
            },
        }
    mapping["a"] = chatgpt_node("a", f"t{thoughts - 1}", [], "assistant", "Done.")
    return json.dumps([{"title": "Chain", "mapping": mapping}]).encode()


def timed_import(user: ChatUser, raw: bytes, timeout_s: float) -> tuple[float, str]:
    """How long the import took, and the conversation it made."""
    started = time.monotonic()
    with user.http() as client:
        response = client.post(
            "/api/import",
            files={"file": ("conversations.json", raw, "application/json")},
            timeout=timeout_s,
        )
    assert response.status_code == 201, response.text
    return time.monotonic() - started, response.json()["conversation_ids"][0]


async def test_a_long_chain_of_thinking_imports_in_linear_time(
    scripted_server: ServerProcess,
) -> None:
    """Eight times the nodes take about eight times as long; a quadratic join takes about
    64 times (and, at this size, minutes)."""
    user = new_user(scripted_server)
    small, large = 500, 4_000
    baseline = min(timed_import(user, thinking_chain(small), 120)[0] for _ in range(2))
    # Generous: linear is 8 times, quadratic 64; the floor absorbs a very fast baseline.
    bound = max(baseline, 0.25) * 8 * 3
    elapsed, conversation_id = timed_import(user, thinking_chain(large), timeout_s=bound)
    assert elapsed < bound
    _question, answer = user.conversation(conversation_id)["messages"]
    assert answer["content"] == "Done."
    assert answer["thinking"].count("hmm") == large * 1000


async def test_socket_after_seq_past_the_largest_safe_integer_is_refused(
    scripted_server: ServerProcess,
) -> None:
    """2**64 overflowed SQLite's integers and dropped the socket without a close frame."""
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    for after_seq in (2**64, 2**53, -1):
        assert await refusal_code(user, conversation_id, after_seq=after_seq) == CLOSE_POLICY
    socket, ready = await ChatSocket.open(user, conversation_id, after_seq=2**53 - 1)
    assert ready["type"] == "ready"
    await socket.close()
