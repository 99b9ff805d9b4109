"""Per-user caps, against a real server with small ones: one account cannot hold more open
sockets, conversations, API keys or file text than its settings allow, each refused with a
clear error while other users go on; deleting makes room again."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import ServerFactory, ServerProcess
from tests.helpers import error_code
from tests.integration.ws import ChatSocket, new_user, reopened

MAX_SOCKETS = 2
MAX_CONVERSATIONS = 3
MAX_KEYS = 2
# 1 MiB of characters.
MAX_STORED_MB = 1


@pytest.fixture
def capped(server_factory: ServerFactory) -> ServerProcess:
    return server_factory(
        model="scripted",
        max_sockets_per_user=str(MAX_SOCKETS),
        max_conversations_per_user=str(MAX_CONVERSATIONS),
        max_api_keys_per_user=str(MAX_KEYS),
        max_stored_mb_per_user=str(MAX_STORED_MB),
        max_upload_mb="2",
    ).start()


async def test_open_sockets_are_capped_per_user(capped: ServerProcess) -> None:
    user, other = new_user(capped), new_user(capped)
    conversation_id = user.new_conversation()
    sockets = [(await ChatSocket.open(user, conversation_id))[0] for _ in range(MAX_SOCKETS)]
    extra, refusal = await ChatSocket.open(user, conversation_id)
    assert refusal["type"] == "error" and refusal["code"] == "rate_limited", refusal
    assert "PARLEY_MAX_SOCKETS_PER_USER" in refusal["message"]
    with pytest.raises(ConnectionClosed) as closed:
        await extra.next()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429
    # Another user is not held back; a closed socket makes room.
    theirs, _ = await ChatSocket.open(other, other.new_conversation())
    await sockets.pop().close()
    again = await reopened(user, conversation_id)
    for socket in (*sockets, again, theirs):
        await socket.close()


def test_conversations_are_capped_per_user(capped: ServerProcess) -> None:
    user = new_user(capped)
    ids = [user.new_conversation() for _ in range(MAX_CONVERSATIONS)]
    with user.http() as client:
        refused = client.post("/api/conversations", json={})
        assert refused.status_code == 409 and error_code(refused) == "too_many_conversations"
        assert "PARLEY_MAX_CONVERSATIONS_PER_USER" in refused.json()["detail"]["message"]
        assert client.delete(f"/api/conversations/{ids[0]}").status_code == 204
        assert client.post("/api/conversations", json={}).status_code == 201
    new_user(capped).new_conversation()


def test_api_keys_are_capped_per_user(capped: ServerProcess) -> None:
    user = new_user(capped)
    with user.http() as client:
        keys = [client.post("/api/keys", json={"name": f"k{n}"}) for n in range(MAX_KEYS)]
        assert all(key.status_code == 201 for key in keys)
        refused = client.post("/api/keys", json={"name": "one more"})
        assert refused.status_code == 409 and error_code(refused) == "too_many_api_keys"
        assert client.delete(f"/api/keys/{keys[0].json()['id']}").status_code == 204
        assert client.post("/api/keys", json={"name": "again"}).status_code == 201


def test_file_text_is_capped_per_user(capped: ServerProcess) -> None:
    user = new_user(capped)
    half = b"x" * (MAX_STORED_MB * 1024 * 1024 // 2)

    def upload(client: httpx.Client, name: str) -> httpx.Response:
        return client.post("/api/files", files={"file": (name, half, "text/plain")})

    with user.http() as client:
        assert upload(client, "a.txt").status_code == 201
        assert upload(client, "b.txt").status_code == 201
        refused = upload(client, "c.txt")
        assert refused.status_code == 409 and error_code(refused) == "storage_full"
    with new_user(capped).http() as client:
        assert upload(client, "theirs.txt").status_code == 201


def export_document(conversations: int, file_chars: int = 0) -> bytes:
    """A Parley export of `conversations` conversations, the first with a file of
    `file_chars` characters attached to its one message."""
    stamp = "2026-01-01T00:00:00Z"

    def conversation(index: int) -> dict[str, Any]:
        files = [{"id": "f", "name": "a.txt", "size": file_chars, "mime": "text/plain"}]
        attachments = [{**files[0], "text": "x" * file_chars}] if index == 0 and file_chars else []
        message = {"id": "m", "role": "user", "content": "hi", "created_at": stamp}
        return {
            "id": f"c{index}",
            "created_at": stamp,
            "updated_at": stamp,
            "messages": [{**message, "attachments": attachments}],
        }

    document = {
        "format": "parley.export",
        "version": 1,
        "exported_at": stamp,
        "conversations": [conversation(index) for index in range(conversations)],
    }
    return json.dumps(document).encode()


def import_export(client: httpx.Client, document: bytes) -> httpx.Response:
    return client.post("/api/import", files={"file": ("export.json", document, "application/json")})


def test_an_import_counts_against_the_conversation_cap(capped: ServerProcess) -> None:
    user = new_user(capped)
    user.new_conversation()
    with user.http() as client:
        refused = import_export(client, export_document(MAX_CONVERSATIONS))
        assert refused.status_code == 409 and error_code(refused) == "too_many_conversations"
        # Nothing of it was stored; what fits is.
        assert len(client.get("/api/conversations").json()["items"]) == 1
        assert import_export(client, export_document(MAX_CONVERSATIONS - 1)).is_success


def test_an_import_counts_against_the_file_text_cap(capped: ServerProcess) -> None:
    user = new_user(capped)
    # Two such files fit, a third does not.
    file_chars = MAX_STORED_MB * 1024 * 1024 * 2 // 5
    with user.http() as client:
        for _ in range(2):
            assert import_export(client, export_document(1, file_chars=file_chars)).is_success
        refused = import_export(client, export_document(1, file_chars=file_chars))
        assert refused.status_code == 409 and error_code(refused) == "storage_full"
        assert len(client.get("/api/conversations").json()["items"]) == 2
