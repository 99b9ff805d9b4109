"""The OpenAI-compatible /v1 routes, driven by the official `openai` package."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import ServerProcess
from tests.integration.compat_support import bearer, create_key, register

THINKING = "Let me think about that."


@pytest.fixture(scope="module")
def api_key(scripted_server: ServerProcess) -> str:
    _, token = register(scripted_server)
    return create_key(scripted_server, token)["key"]


@pytest.fixture(scope="module")
def client(scripted_server: ServerProcess, api_key: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=f"{scripted_server.base_url}/v1", api_key=api_key, max_retries=0
    ) as client:
        yield client


def reasoning_of(part: Any) -> str | None:
    """`reasoning_content` is not in the openai package's types; it arrives as an extra."""
    extra = part.model_extra or {}
    value = extra.get("reasoning_content")
    return value if isinstance(value, str) else None


def test_models_list(client: openai.OpenAI) -> None:
    models = client.models.list()
    assert [model.id for model in models.data] == ["scripted"]
    assert models.data[0].object == "model"


def test_chat_completion_separates_reasoning(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="scripted",
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "hello there"},
        ],
        temperature=0.2,
        top_p=0.9,
        seed=7,
        stop=["\n\n\n"],
    )
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "You said: hello there"
    assert reasoning_of(choice.message) == THINKING
    assert choice.finish_reason == "stop"
    assert completion.object == "chat.completion"
    assert completion.model == "scripted"
    assert completion.usage is not None
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    assert completion.usage.completion_tokens > 0


def test_content_parts_and_length_limit(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="scripted",
        messages=[{"role": "user", "content": [{"type": "text", "text": "a b c d e f g"}]}],
        max_completion_tokens=4,
    )
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None and completion.usage.completion_tokens == 4
    legacy = client.chat.completions.create(
        model="scripted", messages=[{"role": "user", "content": "x y z"}], max_tokens=2
    )
    assert legacy.choices[0].finish_reason == "length"


def test_thinking_can_be_turned_off(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="scripted",
        messages=[{"role": "user", "content": "no thoughts"}],
        extra_body={"chat_template_kwargs": {"enable_thinking": False}},
    )
    assert completion.choices[0].message.content == "You said: no thoughts"
    assert reasoning_of(completion.choices[0].message) is None


def test_streaming_chat_completion(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="scripted",
        messages=[{"role": "user", "content": "stream this"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    reasoning, content, finishes, usage = [], [], [], []
    with stream:
        for chunk in stream:
            assert chunk.object == "chat.completion.chunk"
            if chunk.usage is not None:
                usage.append(chunk.usage)
            for choice in chunk.choices:
                if choice.delta.content:
                    content.append(choice.delta.content)
                if (text := reasoning_of(choice.delta)) is not None:
                    reasoning.append(text)
                if choice.finish_reason is not None:
                    finishes.append(choice.finish_reason)
    assert "".join(reasoning) == THINKING
    assert "".join(content) == "You said: stream this"
    assert len(reasoning) > 1 and len(content) > 1
    assert finishes == ["stop"]
    assert len(usage) == 1 and usage[0].completion_tokens > 0


def test_stream_ends_with_done(scripted_server: ServerProcess, api_key: str) -> None:
    with httpx.stream(
        "POST",
        f"{scripted_server.base_url}/v1/chat/completions",
        json={"model": "scripted", "stream": True, "messages": [{"role": "user", "content": "x"}]},
        headers=bearer(api_key),
    ) as response:
        if not scripted_server.proxied:
            assert response.headers["x-accel-buffering"] == "no"
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"


def test_async_client_streams(scripted_server: ServerProcess, api_key: str) -> None:

    async def run() -> str:
        async with openai.AsyncOpenAI(
            base_url=f"{scripted_server.base_url}/v1", api_key=api_key, max_retries=0
        ) as client:
            stream = await client.chat.completions.create(
                model="scripted", messages=[{"role": "user", "content": "async"}], stream=True
            )
            parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
            return "".join(parts)

    assert asyncio.run(run()) == "You said: async"


def test_bad_key_is_an_authentication_error(scripted_server: ServerProcess) -> None:
    with (
        openai.OpenAI(
            base_url=f"{scripted_server.base_url}/v1", api_key="pk-wrong", max_retries=0
        ) as bad,
        pytest.raises(openai.AuthenticationError) as caught,
    ):
        bad.models.list()
    body = caught.value.body
    assert isinstance(body, dict) and body["code"] == "not_authenticated"
    assert body["type"] == "authentication_error"


def test_out_of_range_parameters_use_openais_error_shape(
    scripted_server: ServerProcess, client: openai.OpenAI, api_key: str
) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client.chat.completions.create(
            model="scripted", messages=[{"role": "user", "content": "x"}], temperature=2.5
        )
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["param"] == "temperature"
    for bad in (
        {"top_p": 0},
        {"max_tokens": 0},
        {"max_completion_tokens": 10_000_000},
        {"n": 2},
        {"stop": ["a", "b", "c", "d", "e"]},
        {"messages": []},
        {"messages": [{"role": "system", "content": "only"}]},
        {"messages": [{"role": "wizard", "content": "x"}]},
    ):
        body = {"model": "scripted", "messages": [{"role": "user", "content": "x"}], **bad}
        answer = httpx.post(
            f"{scripted_server.base_url}/v1/chat/completions", json=body, headers=bearer(api_key)
        )
        assert answer.status_code == 422, (bad, answer.text)
        error = answer.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert error["type"] == "invalid_request_error"


def test_unknown_model_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(
            model="gpt-nonexistent", messages=[{"role": "user", "content": "x"}]
        )
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "model_not_found"


def test_generation_failure_is_reported(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(
            model="scripted", messages=[{"role": "user", "content": "[[fail]]"}]
        )
    assert caught.value.status_code == 502


def test_a_message_over_the_limit_is_too_long(scripted_server: ServerProcess, api_key: str) -> None:
    """The message limit is the chat layer's, so it holds here as over the socket."""
    body = {"model": "scripted", "messages": [{"role": "user", "content": "x" * 32_001}]}
    answer = httpx.post(
        f"{scripted_server.base_url}/v1/chat/completions", json=body, headers=bearer(api_key)
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "too_long" and error["type"] == "invalid_request_error"
    assert error["message"] == "Messages are limited to 32000 characters."
