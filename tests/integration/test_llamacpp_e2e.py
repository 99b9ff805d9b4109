"""End to end on the llama.cpp engine (the real SmolLM2 GGUF), and the fallback without it."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import httpx
import pytest

from parley.engine.selection.choice import llamacpp_unavailable
from tests.conftest import ServerFactory, ServerProcess
from tests.integration.ws import ChatSocket, ChatUser, new_user, text_of

pytestmark = pytest.mark.model

QUESTIONS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Name three colours.",
    "Say hello in Spanish.",
]


def models_file(path: Path, engine: str, **fields: str) -> str:
    entry = {"id": "smollm2", "path": "smollm2", "engine": engine, **fields}
    path.write_text(json.dumps([entry]), encoding="utf-8")
    return str(path)


def default_model(server: ServerProcess, user: ChatUser) -> dict[str, object]:
    with httpx.Client(base_url=server.base_url, headers=user.headers) as client:
        listing = client.get("/api/models").json()
    model: dict[str, object] = listing["models"][0]
    return model


async def ask(user: ChatUser, question: str) -> tuple[str, str]:
    """The answer as streamed and as stored, of one question on a conversation of its own."""
    conversation_id = user.new_conversation(title=question)
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say(question, temperature=0)
    frames = await socket.until("end", "error", timeout_s=300)
    await socket.close()
    assert frames[-1]["type"] == "end", frames[-1]
    stored = user.conversation(conversation_id)["messages"][-1]
    assert stored["status"] == "complete"
    return text_of(frames, "chunk"), stored["content"]


@pytest.mark.skipif(llamacpp_unavailable() is not None, reason=str(llamacpp_unavailable()))
async def test_every_answer_streamed_on_llamacpp_equals_what_is_stored(
    server_factory: ServerFactory, model_data_dir: Path, tmp_path: Path
) -> None:
    server = server_factory(
        data_dir=model_data_dir,
        models_file=models_file(tmp_path / "models.json", "llamacpp"),
        max_new_tokens="24",
        kv_cache_gib="0.25",
    ).start(timeout_s=300)
    user = new_user(server)
    # All at once: they decode together in one batch.
    answers = await asyncio.gather(*(ask(user, q) for q in QUESTIONS))
    for streamed, stored in answers:
        assert streamed.strip() and streamed == stored
    model = default_model(server, user)
    assert model["state"] == "loaded"
    assert (model["engine"], model["dtype"]) == ("llamacpp", "Q4_1")
    # SmolLM2's chat template never reads enable_thinking.
    assert model["thinking_toggle"] is False


@pytest.mark.skipif(llamacpp_unavailable() is not None, reason=str(llamacpp_unavailable()))
async def test_a_next_turn_reports_the_prompt_tokens_it_did_not_read_again(
    server_factory: ServerFactory, model_data_dir: Path, tmp_path: Path
) -> None:
    server = server_factory(
        data_dir=model_data_dir,
        models_file=models_file(tmp_path / "models.json", "llamacpp"),
        max_new_tokens="16",
        kv_cache_gib="0.25",
    ).start(timeout_s=300)
    user = new_user(server)
    conversation_id = user.new_conversation(title="turns")
    socket, _ = await ChatSocket.open(user, conversation_id)
    usages = []
    for question in QUESTIONS[:2]:
        await socket.say(question, temperature=0)
        frames = await socket.until("end", "error", timeout_s=300)
        assert frames[-1]["type"] == "end", frames[-1]
        usages.append(frames[-1]["usage"])
    await socket.close()
    # The first turn's prompt and answer were kept: the second read only what followed them.
    assert usages[1]["cached_tokens"] >= usages[0]["prompt_tokens"]
    assert user.conversation(conversation_id)["messages"][-1]["usage"] == usages[1]

    turn = {
        "model": "smollm2",
        "messages": [{"role": "user", "content": QUESTIONS[2]}],
        "temperature": 0,
    }
    with httpx.Client(base_url=server.base_url, headers=user.headers, timeout=300) as client:
        openai = [client.post("/v1/chat/completions", json=turn).json()["usage"] for _ in "ab"]
        simple = client.post("/api/v1/chat", json=turn).json()["usage"]
    # Asked again, the same prompt is read but for its last token (its logits pick the first).
    for usage in (openai[1], simple):
        assert usage["prompt_tokens_details"]["cached_tokens"] == usage["prompt_tokens"] - 1


@pytest.mark.skipif(llamacpp_unavailable() is not None, reason=str(llamacpp_unavailable()))
async def test_a_weight_type_as_dtype_converts_the_gguf_and_serves_it(
    server_factory: ServerFactory, model_data_dir: Path, tmp_path: Path
) -> None:
    server = server_factory(
        data_dir=model_data_dir,
        models_file=models_file(tmp_path / "models.json", "auto", dtype="q8_0"),
        max_new_tokens="16",
        kv_cache_gib="0.25",
    ).start(timeout_s=300)
    user = new_user(server)
    streamed, stored = await ask(user, QUESTIONS[0])
    assert streamed.strip() and streamed == stored
    model = default_model(server, user)
    assert (model["engine"], model["dtype"]) == ("llamacpp", "Q8_0")
    assert list((model_data_dir / "models").glob("SmolLM2-135M-Instruct.Q4_1.Q8_0-*.gguf"))


async def test_without_llamacpp_the_server_serves_on_transformers_and_says_why(
    server_factory: ServerFactory, model_data_dir: Path, tmp_path: Path
) -> None:
    # What a failed build leaves behind: a llama_cpp that cannot be imported.
    broken = tmp_path / "broken"
    (broken / "llama_cpp").mkdir(parents=True)
    (broken / "llama_cpp" / "__init__.py").write_text(
        'raise ImportError("libllama.so: cannot open shared object file")\n', encoding="utf-8"
    )
    server = server_factory(
        data_dir=model_data_dir,
        models_file=models_file(tmp_path / "models.json", "auto"),
        max_new_tokens="12",
    )
    server.env["PYTHONPATH"] = os.pathsep.join(
        [str(broken), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    server.start(timeout_s=300)
    user = new_user(server)
    streamed, stored = await ask(user, QUESTIONS[0])
    assert streamed.strip() and streamed == stored
    model = default_model(server, user)
    assert model["engine"] == "transformers"
    assert "llama.cpp is not available" in str(model["engine_note"])
    assert "libllama.so" in str(model["engine_note"])


@pytest.mark.skipif(llamacpp_unavailable() is not None, reason=str(llamacpp_unavailable()))
async def test_a_conversation_of_7000_tokens_is_answered_whole_when_alone(
    server_factory: ServerFactory, model_data_dir: Path, tmp_path: Path
) -> None:
    # 1 GiB of SmolLM2's KV: 64 streams of 512 tokens and one of its whole 8,192.
    server = server_factory(
        data_dir=model_data_dir,
        models_file=models_file(tmp_path / "models.json", "llamacpp"),
        max_new_tokens="8",
        kv_cache_gib="1",
    ).start(timeout_s=300)
    user = new_user(server)
    notes = " ".join(
        f"Note {i}: the lighthouse on cape {i} was built in {1500 + i} and is "
        f"{['red', 'white', 'blue', 'green'][i % 4]}."
        for i in range(268)
    )
    conversation_id = user.new_conversation(title="long")
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say(notes + " Which lighthouse is the oldest?", temperature=0)
    frames = await socket.until("end", "error", timeout_s=600)
    await socket.close()
    assert frames[-1]["type"] == "end", frames[-1]
    assert text_of(frames, "chunk").strip()
    # Read whole: nothing trimmed, nothing cut to a share of the pool.
    assert frames[-1]["usage"]["prompt_tokens"] >= 7000
    # The model, loaded now, reports the longest conversation it holds.
    assert default_model(server, user)["context_length"] == 8192


async def next_turn(user: ChatUser, conversation_id: str, question: str) -> dict[str, int]:
    """The `end` frame's usage of one more turn of a conversation."""
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say(question, temperature=0)
    frames = await socket.until("end", "error", timeout_s=300)
    await socket.close()
    assert frames[-1]["type"] == "end", frames[-1]
    usage: dict[str, int] = frames[-1]["usage"]
    return usage


@pytest.mark.skipif(llamacpp_unavailable() is not None, reason=str(llamacpp_unavailable()))
async def test_after_a_restart_a_conversation_goes_on_from_its_saved_state(
    server_factory: ServerFactory, tmp_path: Path
) -> None:
    settings = {
        "models_file": models_file(tmp_path / "models.json", "llamacpp"),
        "max_new_tokens": "16",
        "kv_cache_gib": "0.25",
        "kv_disk_gib": "0.5",
    }
    server = server_factory(data_dir=tmp_path / "data", **settings).start(timeout_s=300)
    user = new_user(server)
    conversation_id = user.new_conversation(title="restart")
    first = await next_turn(user, conversation_id, QUESTIONS[0])
    server.stop()  # A clean stop saves the conversation's KV stream.
    assert list((server.data_dir / "kv").glob("*.kv"))

    user.server = server_factory(data_dir=server.data_dir, **settings).start(timeout_s=300)
    second = await next_turn(user, conversation_id, QUESTIONS[1])
    # The first turn's prompt and answer were restored: the second read only what followed.
    assert second["cached_tokens"] >= first["prompt_tokens"]
