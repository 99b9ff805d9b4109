"""One Parley fronting another: the upstream's /v1 is the remote, with an API key."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.integration.compat_support import bearer, create_key, register
from tests.integration.test_terminal_chat import PROMPT, spawn_chat
from tests.integration.ws import ChatSocket, ChatUser, new_user, text_of
from tests.remote.conftest import write_models_file


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(
        tmp_path_factory.mktemp("upstream"),
        model="scripted",
        scripted_token_delay_s="0.02",
        scripted_answer="You said: {user}",
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def front(
    upstream: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("front")
    remote = {"engine": "openai", "base_url": f"{upstream.base_url}/v1", "model": "scripted"}
    models = write_models_file(
        data_dir / "models.json",
        [
            # No context_length: the upstream's /v1/models says it (max_model_len).
            {"id": "upstream", **remote, "api_key_env": "UPSTREAM_KEY"},
            {"id": "keyless", **remote, "context_length": 4096},
            {"id": "unset-key", **remote, "api_key_env": "PARLEY_TEST_UNSET_KEY"},
        ],
    )
    _, token = register(upstream)
    server = ServerProcess(data_dir, models_file=str(models), model="upstream")
    server.env["UPSTREAM_KEY"] = create_key(upstream, token)["key"]
    server.env.pop("PARLEY_TEST_UNSET_KEY", None)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def user(front: ServerProcess) -> ChatUser:
    return new_user(front)


async def test_a_chat_through_two_parleys(user: ChatUser) -> None:
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("hello upstream")
    frames = await socket.until("end", "error")
    await socket.close()
    assert frames[-1]["type"] == "end", frames[-1]
    # The upstream's thinking arrives as its reasoning_content, then as thinking here.
    assert text_of(frames, "thinking") == "Let me think about that."
    assert text_of(frames, "chunk") == "You said: hello upstream"
    assert frames[-1]["usage"]["completion_tokens"] > 0
    stored = user.conversation(conversation_id)["messages"][-1]
    assert (stored["status"], stored["thinking"]) == ("complete", "Let me think about that.")


def test_the_context_length_comes_from_the_upstream(front: ServerProcess, user: ChatUser) -> None:
    key = create_key(front, user.token)["key"]
    listed = httpx.get(f"{front.base_url}/v1/models", headers=bearer(key), timeout=10).json()
    lengths = {model["id"]: model["max_model_len"] for model in listed["data"]}
    # The scripted engine's context, told by the upstream; the keyless entry is not loaded.
    assert lengths["upstream"] == 4096
    assert lengths["keyless"] is None


async def test_thinking_off_reaches_the_upstream(user: ChatUser) -> None:
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("no thoughts", thinking=False)
    frames = await socket.until("end", "error")
    await socket.close()
    assert text_of(frames, "thinking") == ""
    assert text_of(frames, "chunk") == "You said: no thoughts"


async def test_without_the_key_the_upstream_refuses(front: ServerProcess, user: ChatUser) -> None:
    listed = httpx.get(f"{front.base_url}/api/models", headers=user.headers, timeout=10).json()
    states = {model["id"]: model for model in listed["models"]}
    assert states["upstream"]["state"] == "loaded"
    assert states["keyless"]["state"] == "failed"
    assert "HTTP 401" in states["keyless"]["error"]
    assert states["unset-key"]["state"] == "failed"
    assert "PARLEY_TEST_UNSET_KEY" in states["unset-key"]["error"]
    conversation_id = user.new_conversation(model="keyless")
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("let me in")
    error = (await socket.until("error"))[-1]
    await socket.close()
    assert error["code"] == "model_unavailable" and "HTTP 401" in error["message"]


def test_the_terminal_chat_on_a_remote_model(front: ServerProcess) -> None:
    _, token = register(front)
    chat = spawn_chat(front, create_key(front, token)["key"])
    try:
        chat.expect_exact(PROMPT)
        chat.sendline("hello terminal")
        chat.expect_exact("thinking: ")
        chat.expect_exact("Let me think about that.")
        chat.expect_exact("You said: hello terminal")
        chat.expect_exact(PROMPT)
    finally:
        chat.close(force=True)
