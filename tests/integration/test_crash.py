"""Crash safety: kill -9 mid-answer and start again on the same data directory."""

from __future__ import annotations

import asyncio
import sqlite3

from tests.conftest import ServerProcess
from tests.integration.ws import ChatSocket, new_user, seqs, text_of

SETTINGS = {
    "model": "scripted",
    "scripted_token_delay_s": "0.05",
    "scripted_answer": "this answer will be cut " * 40,
    "flush_interval_s": "0.2",
}


async def test_kill_mid_answer_keeps_every_acknowledged_message(
    server_factory: type[ServerProcess],
) -> None:
    server = server_factory(**SETTINGS).start()
    user = new_user(server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("first question")
    acknowledged = (await socket.until("message"))[-1]["message"]
    frames = await socket.until("chunk")
    frames += [await socket.next() for _ in range(20)]
    await asyncio.sleep(0.5)  # past a save
    server.kill()

    with sqlite3.connect(server.data_dir / "parley.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    restarted = server_factory(data_dir=server.data_dir, **SETTINGS).start()
    user.server = restarted
    stored = user.conversation(conversation_id)
    messages = stored["messages"]
    assert messages[0]["id"] == acknowledged["id"]
    assert messages[0]["content"] == "first question"
    answer = messages[1]
    assert answer["status"] == "interrupted"
    received = text_of(frames, "chunk")
    assert answer["content"], "the text saved before the crash is kept"
    assert received.startswith(answer["content"]) or answer["content"].startswith(received)
    # New events are numbered above anything a client saw before the crash.
    assert stored["conversation"]["last_seq"] > max(seqs(frames))

    socket, ready = await ChatSocket.open(user, conversation_id, after_seq=max(seqs(frames)))
    assert ready["active_run"] is None
    replayed = await socket.until("error")
    assert replayed[-1]["code"] == "interrupted"
    assert received + text_of(replayed, "chunk") == answer["content"]
    await socket.say("after the crash")
    after = await socket.until("end")
    await socket.close()
    assert min(seqs(after)) > max(seqs(frames))
    assert text_of(after, "chunk").startswith("this answer will be cut")
