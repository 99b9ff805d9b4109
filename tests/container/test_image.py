"""The image of the Dockerfile: Parley serves the embedded model as a non-root user, and a
new container on the same volume finds the conversations of the last one."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.container.podman import ContainerServer, podman
from tests.helpers import login
from tests.integration.ws import ChatSocket, ChatUser, new_user, text_of

pytestmark = [pytest.mark.podman, pytest.mark.model]


@pytest.fixture
def volume() -> Iterator[str]:
    name = f"parley-test-{uuid.uuid4().hex[:8]}"
    podman("volume", "create", name)
    yield name
    podman("volume", "rm", "--force", name, check=False)


def loaded_default_model(user: ChatUser, timeout_s: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with user.http() as client:
            listed = client.get("/api/models").json()
        default = next(model for model in listed["models"] if model["is_default"])
        if default["state"] in ("loaded", "failed"):
            return dict(default)
        time.sleep(0.5)
    raise AssertionError(f"the default model did not load in {timeout_s} s: {listed}")


async def test_serves_the_model_and_keeps_data_on_its_volume(
    image: str, volume: str, tmp_path: Path
) -> None:
    server = ContainerServer(image, tmp_path, volume, bcrypt_rounds="4").start()
    try:
        # The image's user, not root, owns the server and its files.
        assert server.exec("id", "-u") == "10001"
        assert server.exec("stat", "--format=%u", "/data/parley.db") == "10001"
        user = new_user(server)
        model = loaded_default_model(user)
        # llama.cpp chose the CPU backend built for this CPU's level (engine/llamacpp/backends.py).
        assert model["state"] == "loaded", model
        assert model["engine"] == "llamacpp" and model["device"].startswith("cpu ("), model
        conversation_id = user.new_conversation()
        socket, ready = await ChatSocket.open(user, conversation_id)
        assert ready["type"] == "ready"
        await socket.say("Say hello.")
        frames = await socket.until("end", "error", timeout_s=120)
        await socket.close()
        assert frames[-1]["type"] == "end", frames[-1]
        answer = text_of(frames, "chunk")
        assert answer.strip()
    finally:
        server.stop()

    # A new container on the volume: same secret key, same database.
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            assert login(client, user.username).status_code == 200
        messages = user.conversation(conversation_id)["messages"]
        assert [message["role"] for message in messages] == ["user", "assistant"]
        assert messages[1]["content"] == answer
    finally:
        server.stop()
