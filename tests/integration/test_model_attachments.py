"""End to end with the real embedded model: an attached file's text reaches the answer's
prompt, on the edited branch only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerFactory
from tests.integration.ws import ChatSocket, Frame, new_user, text_of

pytestmark = pytest.mark.model

NOTES = (
    "Trip notes. The ferry to Cacilhas leaves from Cais do Sodré every twenty minutes. "
    "The museum closes at six on Mondays. Dinner is booked at eight at the place by the river. "
) * 4


async def send(socket: ChatSocket, content: str, **fields: Any) -> list[Frame]:
    frame: Frame = {
        "type": "send",
        "content": content,
        "client_id": f"{content}-{len(socket.received)}",
        "options": {"temperature": 0},
        **fields,
    }
    await socket.send(frame)
    return await socket.until("end", "error", timeout_s=300)


async def test_an_attachment_reaches_the_prompt_of_its_branch_only(
    server_factory: ServerFactory, model_data_dir: Path
) -> None:
    server = server_factory(data_dir=model_data_dir, max_new_tokens="16").start(timeout_s=300)
    user = new_user(server)
    with user.http() as client:
        upload = client.post(
            "/api/files", files={"file": ("notes.txt", NOTES.encode(), "text/plain")}
        )
    assert upload.status_code == 201, upload.text
    conversation_id = user.new_conversation(title="Trip")
    socket, _ = await ChatSocket.open(user, conversation_id)
    plain = await send(socket, "When does the museum close?")
    parent = plain[0]["message"]["parent_id"]
    attached = await send(
        socket, "When does the museum close?", parent_id=parent, attachments=[upload.json()["id"]]
    )
    # Back on the first branch, answered again: no file in that prompt.
    first_answer = next(f["message_id"] for f in plain if f["type"] == "start")
    await socket.send(
        {"type": "regenerate", "message_id": first_answer, "options": {"temperature": 0}}
    )
    again = await socket.until("end", "error", timeout_s=300)
    await socket.close()

    for frames in (plain, attached, again):
        assert frames[-1]["type"] == "end", frames[-1]
        assert text_of(frames, "chunk").strip()
    assert attached[0]["message"]["attachments"][0]["name"] == "notes.txt"
    without = plain[-1]["usage"]["prompt_tokens"]
    # The file is about 170 words: well over 100 tokens more in the prompt that carries it.
    assert attached[-1]["usage"]["prompt_tokens"] > without + 100
    assert again[-1]["usage"]["prompt_tokens"] == without
    stored = user.conversation(conversation_id)["messages"]
    assert [m["status"] for m in stored] == ["complete"] * 5
