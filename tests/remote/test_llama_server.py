"""Parley in front of llama.cpp's OpenAI-compatible server (llama-cpp-python's), serving the
embedded SmolLM2 GGUF: the real model, a real remote, every layer between."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.conftest import ServerProcess
from tests.integration.compat_support import create_key
from tests.integration.ws import ChatSocket, ChatUser, new_user, text_of
from tests.remote.conftest import LLAMA_CONTEXT, LLAMA_MODEL, LlamaServer, write_models_file

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def parley(
    llama_server: LlamaServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("llama-front")
    models = write_models_file(
        data_dir / "models.json",
        [
            {
                "id": "smollm2-remote",
                "engine": "openai",
                "base_url": llama_server.base_url,
                "model": LLAMA_MODEL,
                "context_length": LLAMA_CONTEXT,
                # llama-cpp-python's server answers one request at a time.
                "max_concurrency": 1,
                "idle_timeout_s": 120,
            }
        ],
    )
    server = ServerProcess(
        data_dir, models_file=str(models), model="smollm2-remote", flush_interval_s="0.2"
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def user(parley: ServerProcess) -> ChatUser:
    return new_user(parley)


async def test_chat_over_the_socket_with_usage(user: ChatUser) -> None:
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("What is the capital of France?", max_tokens=24, temperature=0)
    frames = await socket.until("end", "error", timeout_s=120)
    await socket.close()
    end = frames[-1]
    assert end["type"] == "end", frames[-1]
    assert end["finish_reason"] in ("stop", "length")
    assert end["usage"]["prompt_tokens"] > 5
    assert 0 < end["usage"]["completion_tokens"] <= 24
    answer = text_of(frames, "chunk")
    assert answer.strip()
    stored = user.conversation(conversation_id)["messages"][-1]
    assert (stored["status"], stored["content"]) == ("complete", answer)
    assert stored["usage"] == end["usage"]


async def test_stop_mid_answer(user: ChatUser) -> None:
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("Write a long story about a dragon.", max_tokens=400, temperature=1.0)
    frames = await socket.until("chunk", timeout_s=120)
    frames += await socket.until("chunk", timeout_s=60)
    await socket.send({"type": "stop"})
    frames += await socket.until("end", timeout_s=10)
    await socket.close()
    assert frames[-1]["finish_reason"] == "cancelled"
    assert frames[-1]["usage"]["completion_tokens"] < 400
    stored = user.conversation(conversation_id)["messages"][-1]
    assert (stored["status"], stored["content"]) == ("cancelled", text_of(frames, "chunk"))


async def test_thinking_off_is_accepted_by_the_remote(user: ChatUser) -> None:
    """The default switch (`chat_template_kwargs`) must not upset a server without it."""
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("Say hi.", max_tokens=8, thinking=False)
    frames = await socket.until("end", "error", timeout_s=120)
    await socket.close()
    assert frames[-1]["type"] == "end", frames[-1]


async def test_v1_streaming_through_parley(parley: ServerProcess, user: ChatUser) -> None:
    key = create_key(parley, user.token)["key"]

    def stream() -> list[Any]:
        with openai.OpenAI(base_url=f"{parley.base_url}/v1", api_key=key, max_retries=0) as client:
            return list(
                client.chat.completions.create(
                    model="smollm2-remote",
                    messages=[{"role": "user", "content": "Name three colours."}],
                    max_tokens=16,
                    temperature=0,
                    stream=True,
                    stream_options={"include_usage": True},
                )
            )

    chunks = await asyncio.to_thread(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    finishes = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finishes in (["stop"], ["length"])
    usage = chunks[-1].usage
    assert usage is not None and 0 < usage.completion_tokens <= 16 and usage.prompt_tokens > 3
