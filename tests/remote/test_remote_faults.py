"""A real Parley serving models of the fault server: every transport on a remote model, and
every failure ending as the protocol says, with what reached the remote checked on its side."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import ServerProcess, free_port
from tests.integration.compat_support import create_key
from tests.integration.ws import ChatSocket, ChatUser, new_admin, new_user, text_of
from tests.ops.helpers import scrape, value
from tests.remote.conftest import write_models_file
from tests.remote.fault_server import MODEL, FaultServer


@pytest.fixture(scope="module")
def parley(
    fault_server: FaultServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("remote-faults")
    remote = {"engine": "openai", "base_url": fault_server.base_url, "model": MODEL}
    models = write_models_file(
        data_dir / "models.json",
        [
            {"id": "fault", **remote, "idle_timeout_s": 1},
            {"id": "fault-one", **remote, "max_concurrency": 1, "idle_timeout_s": 5},
            {"id": "gone", **remote, "base_url": f"http://127.0.0.1:{free_port()}/v1"},
            {"id": "fault-ollama", **remote, "thinking_switch": "ollama"},
        ],
    )
    server = ServerProcess(
        data_dir,
        models_file=str(models),
        model="fault",
        remote_check_interval_s="0.3",
        status_interval_s="0.3",
        flush_interval_s="0.2",
    ).start()
    yield server
    server.stop()


@pytest.fixture
def user(parley: ServerProcess, fault: FaultServer) -> ChatUser:
    return new_user(parley)


async def ask(
    user: ChatUser, content: str, **conversation: Any
) -> tuple[str, list[dict[str, Any]]]:
    """A new conversation's first answer: its frames up to `end` or `error`."""
    conversation_id = user.new_conversation(**conversation)
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say(content)
    frames = await socket.until("end", "error", timeout_s=30)
    await socket.close()
    return conversation_id, frames


def answer_of(user: ChatUser, conversation_id: str) -> dict[str, Any]:
    message: dict[str, Any] = user.conversation(conversation_id)["messages"][-1]
    return message


def models(server: ServerProcess, user: ChatUser) -> dict[str, dict[str, Any]]:
    response = httpx.get(f"{server.base_url}/api/models", headers=user.headers, timeout=10)
    return {model["id"]: model for model in response.json()["models"]}


def wait_for_state(server: ServerProcess, user: ChatUser, model: str, state: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        current = models(server, user)[model]
        if current["state"] == state:
            return current
        time.sleep(0.1)
    raise AssertionError(f"{model} never became {state}: {models(server, user)[model]}")


@pytest.mark.parametrize("behaviour", ["reasoning", "reasoning_content"])
async def test_a_reasoning_field_streams_as_thinking(user: ChatUser, behaviour: str) -> None:
    conversation_id, frames = await ask(user, behaviour)
    assert text_of(frames, "thinking") == "Thinking hard."
    assert text_of(frames, "chunk") == "The answer."
    end = frames[-1]
    assert end["finish_reason"] == "stop"
    assert end["usage"] == {"prompt_tokens": 11, "completion_tokens": 5, "cached_tokens": 0}
    stored = answer_of(user, conversation_id)
    assert (stored["status"], stored["thinking"], stored["content"]) == (
        "complete",
        "Thinking hard.",
        "The answer.",
    )


async def test_inline_think_tags_cut_across_chunks_stream_as_thinking(user: ChatUser) -> None:
    _, frames = await ask(user, "think")
    assert text_of(frames, "thinking") == "Pondering deeply"
    assert text_of(frames, "chunk") == "Done."


async def test_the_conversation_and_the_run_options_reach_the_remote(
    user: ChatUser, fault: FaultServer
) -> None:
    conversation_id = user.new_conversation(system_prompt="Be brief.")
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("first")
    await socket.until("end")
    await socket.say("second", max_tokens=7, temperature=0.3, top_p=0.8, thinking=False)
    await socket.until("end")
    await socket.close()
    body = fault.chat_requests("second")[0].body
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "Hello from the fault server."},
        {"role": "user", "content": "second"},
    ]
    assert (body["model"], body["stream"], body["stream_options"]) == (
        MODEL,
        True,
        {"include_usage": True},
    )
    assert (body["max_tokens"], body["temperature"], body["top_p"]) == (7, 0.3, 0.8)
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert "chat_template_kwargs" not in fault.chat_requests("first")[0].body


async def test_ollamas_thinking_switch(user: ChatUser, fault: FaultServer) -> None:
    conversation_id = user.new_conversation(model="fault-ollama")
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("no thinking", thinking=False)
    await socket.until("end")
    await socket.close()
    body = fault.chat_requests("no thinking")[0].body
    assert (body["think"], body["reasoning_effort"]) == (False, "none")
    assert "chat_template_kwargs" not in body


async def test_stop_closes_the_remote_stream_and_saves_the_answer_cancelled(
    user: ChatUser, fault: FaultServer
) -> None:
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("slow")
    frames = await socket.until("chunk")
    frames += await socket.until("chunk")
    await socket.send({"type": "stop"})
    frames += await socket.until("end", timeout_s=5)
    await socket.close()
    assert frames[-1]["finish_reason"] == "cancelled"
    [record] = fault.chat_requests("slow")
    assert record.client_closed.wait(5), "the remote's stream was left open after stop"
    assert record.chunks_sent < 100
    stored = answer_of(user, conversation_id)
    assert stored["status"] == "cancelled"
    assert stored["content"] == text_of(frames, "chunk") and stored["content"].startswith(" w0")


@pytest.mark.parametrize(
    ("behaviour", "kept", "reason"),
    [
        ("drop", "Partial answer then", "connection to the remote model broke"),
        ("stall", "Partial answer", "idle timeout"),
        ("error-mid", "Partial answer", "CUDA out of memory at kernel"),
    ],
)
async def test_a_remote_failing_mid_answer_keeps_the_text_so_far(
    user: ChatUser, fault: FaultServer, behaviour: str, kept: str, reason: str
) -> None:
    conversation_id, frames = await ask(user, behaviour)
    error = frames[-1]
    assert error["code"] == "generation_failed" and reason in error["message"]
    assert text_of(frames, "chunk") == kept
    stored = answer_of(user, conversation_id)
    assert (stored["status"], stored["content"]) == ("error", kept)
    if behaviour == "stall":
        assert fault.chat_requests(behaviour)[0].client_closed.wait(5)


async def test_a_refusing_remote_is_unavailable_with_a_summary(
    user: ChatUser, fault: FaultServer
) -> None:
    conversation_id, frames = await ask(user, "refuse")
    error = frames[-1]
    assert error["code"] == "model_unavailable"
    assert "HTTP 500" in error["message"] and "<html>" not in error["message"]
    assert len(error["message"]) < 300
    assert len(fault.chat_requests("refuse")) == 1
    assert answer_of(user, conversation_id)["status"] == "error"


async def test_busy_answers_are_retried_before_the_first_token(
    user: ChatUser, fault: FaultServer
) -> None:
    fault.busy_left = 2
    _, frames = await ask(user, "hello")
    assert text_of(frames, "chunk") == "Hello from the fault server."
    assert [r.status for r in fault.chat_requests("hello")] == [429, 429, 200]


async def test_an_unreachable_remote_is_failed_and_its_answers_unavailable(
    parley: ServerProcess, user: ChatUser
) -> None:
    assert models(parley, user)["fault"]["state"] == "loaded"
    gone = wait_for_state(parley, user, "gone", "failed")
    assert "unreachable" in gone["error"]
    _, frames = await ask(user, "anyone there?", model="gone")
    assert frames[-1]["type"] == "error" and frames[-1]["code"] == "model_unavailable"


def test_the_remote_state_is_rechecked_in_the_background(
    parley: ServerProcess, user: ChatUser, fault: FaultServer
) -> None:
    fault.models_status = 500
    failed = wait_for_state(parley, user, "fault-one", "failed")
    assert "HTTP 500" in failed["error"]
    fault.models_status = 200
    wait_for_state(parley, user, "fault-one", "loaded")
    fault.listed = ["another-model"]
    failed = wait_for_state(parley, user, "fault-one", "failed")
    assert "does not serve a model named 'fault-model'" in failed["error"]
    fault.listed = [MODEL]
    wait_for_state(parley, user, "fault-one", "loaded")


def test_admin_unload_disconnects_and_load_connects(parley: ServerProcess, user: ChatUser) -> None:
    admin = new_admin(parley)
    with admin.http() as client:
        assert client.post("/api/models/fault-ollama/unload").status_code == 200
        assert models(parley, user)["fault-ollama"]["state"] == "available"
        time.sleep(1)  # several check intervals: a disconnected remote stays disconnected
        assert models(parley, user)["fault-ollama"]["state"] == "available"
        assert client.post("/api/models/fault-ollama/load").status_code == 202
    loaded = wait_for_state(parley, user, "fault-ollama", "loaded")
    assert loaded["device"].startswith("remote 127.0.0.1:")


async def test_max_concurrency_queues_the_rest_with_their_place_in_line(
    user: ChatUser, fault: FaultServer
) -> None:
    first_id = user.new_conversation(model="fault-one")
    second_id = user.new_conversation(model="fault-one")
    first, _ = await ChatSocket.open(user, first_id)
    second, _ = await ChatSocket.open(user, second_id)
    await first.say("slow")
    await first.until("chunk")
    await second.say("hello")
    waiting = await second.until("status")
    waiting += await second.until("status")
    assert {"type": "status", "state": "queued", "position": 1} in waiting
    assert len(fault.chat_requests("hello")) == 0  # held here, not sent
    await first.send({"type": "stop"})
    await first.until("end")
    frames = await second.until("end")
    assert text_of(frames, "chunk") == "Hello from the fault server."
    await first.close()
    await second.close()


async def test_resume_and_regenerate_on_a_remote_model(user: ChatUser) -> None:
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("slow")
    frames = await socket.until("chunk")
    frames += await socket.until("chunk")
    await socket.close()
    # Reconnect mid-answer: a snapshot of the text so far, then the live rest.
    resumed, ready = await ChatSocket.open(user, conversation_id, after_seq=frames[-1]["seq"])
    assert ready["active_run"] is not None
    await resumed.send({"type": "stop"})
    rest = await resumed.until("end")
    stored = answer_of(user, conversation_id)
    assert stored["content"] == text_of(frames, "chunk") + text_of(rest, "chunk")
    await resumed.send({"type": "regenerate"})
    again = await resumed.until("end", timeout_s=30)
    await resumed.close()
    assert again[-1]["finish_reason"] in ("length", "stop", "cancelled")
    messages = user.conversation(conversation_id)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "assistant"]
    assert messages[1]["parent_id"] == messages[2]["parent_id"]


@pytest.fixture
def openai_client(parley: ServerProcess, user: ChatUser) -> Iterator[openai.OpenAI]:
    key = create_key(parley, user.token)["key"]
    with openai.OpenAI(base_url=f"{parley.base_url}/v1", api_key=key, max_retries=0) as client:
        yield client


async def test_v1_streamed_and_not_on_a_remote_model(openai_client: openai.OpenAI) -> None:
    def complete() -> Any:
        return openai_client.chat.completions.create(
            model="fault", messages=[{"role": "user", "content": "reasoning"}]
        )

    completion = await asyncio.to_thread(complete)
    message = completion.choices[0].message
    assert message.content == "The answer."
    assert (message.model_extra or {})["reasoning_content"] == "Thinking hard."
    assert completion.usage is not None and completion.usage.completion_tokens == 5

    def stream() -> tuple[str, str, Any]:
        chunks = list(
            openai_client.chat.completions.create(
                model="fault",
                messages=[{"role": "user", "content": "reasoning_content"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        thinking = "".join(
            (c.choices[0].delta.model_extra or {}).get("reasoning_content") or ""
            for c in chunks
            if c.choices
        )
        answer = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        return thinking, answer, chunks[-1].usage

    thinking, answer, usage = await asyncio.to_thread(stream)
    assert (thinking, answer) == ("Thinking hard.", "The answer.")
    assert usage is not None and usage.prompt_tokens == 11


async def test_v1_reports_a_remote_failure(openai_client: openai.OpenAI) -> None:
    def complete(model: str, content: str) -> Any:
        return openai_client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": content}]
        )

    with pytest.raises(openai.APIStatusError) as failed:
        await asyncio.to_thread(complete, "fault", "drop")
    assert failed.value.status_code == 502
    with pytest.raises(openai.APIStatusError) as unavailable:
        await asyncio.to_thread(complete, "gone", "hi")
    assert unavailable.value.status_code == 503


def test_api_v1_chat_on_a_remote_model(parley: ServerProcess, user: ChatUser) -> None:
    response = httpx.post(
        f"{parley.base_url}/api/v1/chat",
        json={"message": "reasoning", "model": "fault"},
        headers=user.headers,
        timeout=30,
    )
    body = response.json()
    assert (body["response"], body["thinking"], body["success"]) == (
        "The answer.",
        "Thinking hard.",
        True,
    )


async def test_metrics_are_labelled_by_the_remote_model(
    parley: ServerProcess, user: ChatUser
) -> None:
    before = scrape(parley)
    _, frames = await ask(user, "hello")
    after = scrape(parley)
    usage = frames[-1]["usage"]
    for sample, moved_by in [
        ("parley_generated_tokens_total", usage["completion_tokens"]),
        ("parley_prompt_tokens_total", usage["prompt_tokens"]),
        ("parley_runs_total", 1),
        ("parley_time_to_first_token_seconds_count", 1),
    ]:
        moved = value(after, sample, model="fault") - value(before, sample, model="fault")
        assert moved == moved_by, sample
