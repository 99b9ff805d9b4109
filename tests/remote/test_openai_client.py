"""The HTTP side of a remote: model list, /tokenize, one stream, against the fault server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from parley.engine.remote.client import OpenAIClient
from parley.engine.remote.stream import (
    RemoteStreamFailed,
    RemoteUnavailable,
    StreamDelta,
    ToolCallAssembler,
    ToolCallPiece,
    chunk_delta,
    summarise_error,
)
from parley.protocol import ToolCall
from tests.remote.fault_server import CONTEXT_LENGTH, MODEL, FaultServer


@pytest.fixture
async def client(fault: FaultServer) -> AsyncIterator[OpenAIClient]:
    remote = OpenAIClient(fault.base_url, api_key="k", idle_timeout_s=1.0)
    yield remote
    await remote.close()


async def stream(client: OpenAIClient, message: str, **extra: Any) -> list[StreamDelta]:
    body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": message}],
        "stream": True,
        "stream_options": {"include_usage": True},
        **extra,
    }
    async with client.chat_stream(body, cancelled=asyncio.Event()) as deltas:
        assert deltas is not None
        return [delta async for delta in deltas]


def text(deltas: list[StreamDelta]) -> tuple[str, str]:
    return "".join(d.reasoning for d in deltas), "".join(d.content for d in deltas)


def test_error_bodies_are_summarised_to_one_short_line() -> None:
    assert summarise_error(400, b'{"error": {"message": "max_tokens is too large"}}') == (
        "HTTP 400 Bad Request: max_tokens is too large"
    )
    assert (
        summarise_error(422, '{"detail": "bad field"}')
        == "HTTP 422 Unprocessable Entity: bad field"
    )
    assert summarise_error(502, b"<html><body>Bad gateway</body></html>") == "HTTP 502 Bad Gateway"
    long = summarise_error(500, '{"error": "<b>boom</b>\\n\\u001b[31m' + "x" * 500 + '"}')
    assert long.startswith("HTTP 500 Internal Server Error: boom ") and len(long) < 260
    assert "<" not in long and "\x1b" not in long and "\n" not in long
    assert summarise_error(None, b"{}") == "no details given"


async def test_models_are_listed_with_their_context_length(client: OpenAIClient) -> None:
    [model] = await client.models()
    assert (model.id, model.context_length) == (MODEL, CONTEXT_LENGTH)


async def test_a_failing_model_list_or_an_unreachable_remote_is_unavailable(
    client: OpenAIClient, fault: FaultServer
) -> None:
    fault.models_status = 500
    with pytest.raises(RemoteUnavailable, match="HTTP 500"):
        await client.models()
    unreachable = OpenAIClient("http://127.0.0.1:9/v1", api_key=None, idle_timeout_s=1.0)
    with pytest.raises(RemoteUnavailable, match="unreachable"):
        await unreachable.models()
    with pytest.raises(RemoteUnavailable, match="unreachable"):
        await stream(unreachable, "hi")
    await unreachable.close()


async def test_tokenize_is_used_where_it_exists_and_not_asked_again_where_not(
    client: OpenAIClient, fault: FaultServer
) -> None:
    messages = [{"role": "user", "content": "one two three"}]
    assert await client.count_prompt_tokens(MODEL, messages) == 3 + 4
    fault.tokenize = False
    other = OpenAIClient(fault.base_url, api_key=None, idle_timeout_s=1.0)
    assert await other.count_prompt_tokens(MODEL, messages) is None
    assert await other.count_prompt_tokens(MODEL, messages) is None
    assert fault.tokenize_calls == 2  # one each: the second client learnt there is none
    await other.close()


async def test_a_stream_gives_text_finish_and_usage_and_sends_the_key(
    client: OpenAIClient, fault: FaultServer
) -> None:
    deltas = await stream(client, "hello")
    assert text(deltas) == ("", "Hello from the fault server.")
    assert [d.finish_reason for d in deltas if d.finish_reason] == ["stop"]
    usage = [d.usage for d in deltas if d.usage]
    assert [(u.prompt_tokens, u.completion_tokens) for u in usage] == [(11, 6)]
    assert fault.chat_requests()[0].body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("field", ["reasoning", "reasoning_content"])
async def test_both_reasoning_fields_are_read(client: OpenAIClient, field: str) -> None:
    assert text(await stream(client, field)) == ("Thinking hard.", "The answer.")


async def test_busy_answers_are_retried_before_the_stream(
    client: OpenAIClient, fault: FaultServer
) -> None:
    fault.busy_left = 2
    assert text(await stream(client, "hello"))[1] == "Hello from the fault server."
    assert [r.status for r in fault.chat_requests()] == [429, 429, 200]
    fault.reset()
    fault.busy_left, fault.busy_status = 1, 503
    assert text(await stream(client, "hello"))[1] == "Hello from the fault server."
    assert [r.status for r in fault.chat_requests()] == [503, 200]


async def test_busy_past_the_retries_or_a_long_retry_after_is_unavailable(
    client: OpenAIClient, fault: FaultServer
) -> None:
    fault.busy_left = 100
    with pytest.raises(RemoteUnavailable, match=r"busy .*429"):
        await stream(client, "hello")
    assert len(fault.chat_requests()) == 5  # the first try and four retries
    fault.reset()
    fault.busy_left, fault.busy_retry_after = 100, "3600"
    with pytest.raises(RemoteUnavailable, match="busy"):
        await stream(client, "hello")
    assert len(fault.chat_requests()) == 1


async def test_a_cancel_during_the_backoff_gives_up_at_once(
    client: OpenAIClient, fault: FaultServer
) -> None:
    fault.busy_left, fault.busy_retry_after = 100, None  # our own backoff: 0.5 s first
    cancelled = asyncio.Event()
    body = {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "stream": True}
    asyncio.get_running_loop().call_later(0.1, cancelled.set)
    async with client.chat_stream(body, cancelled=cancelled) as deltas:
        assert deltas is None
    assert len(fault.chat_requests()) == 1


async def test_an_error_answer_is_not_retried_and_is_summarised(
    client: OpenAIClient, fault: FaultServer
) -> None:
    with pytest.raises(RemoteUnavailable) as caught:
        await stream(client, "refuse")
    assert caught.value.message.startswith("The remote model refused the request (HTTP 500")
    assert "<html>" not in caught.value.message and len(caught.value.message) < 300
    assert len(fault.chat_requests()) == 1


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ("drop", "connection to the remote model broke"),
        ("stall", "idle timeout"),
        ("stall-first", "idle timeout"),
        ("error-mid", r"failed mid-answer \(CUDA out of memory at kernel\)"),
    ],
)
async def test_a_broken_stream_fails_after_the_text_so_far(
    client: OpenAIClient, fault: FaultServer, behaviour: str, reason: str
) -> None:
    received: list[StreamDelta] = []
    body = {"model": MODEL, "messages": [{"role": "user", "content": behaviour}], "stream": True}
    with pytest.raises(RemoteStreamFailed, match=reason):
        async with client.chat_stream(body, cancelled=asyncio.Event()) as deltas:
            assert deltas is not None
            async for delta in deltas:
                received.append(delta)
    expected = "" if behaviour == "stall-first" else "Partial answer"
    assert text(received)[1].startswith(expected)
    if behaviour.startswith("stall"):
        # Giving up closed the connection: the remote sees it.
        assert fault.chat_requests()[0].client_closed.wait(5)


def _pieces_of(*tool_calls: object) -> tuple[ToolCallPiece, ...]:
    return chunk_delta({"choices": [{"delta": {"tool_calls": list(tool_calls)}}]}).tool_calls


def test_streamed_call_pieces_are_joined_by_index() -> None:
    assembler = ToolCallAssembler()
    for chunk in (
        _pieces_of({"index": 0, "id": "call_a", "type": "function", "function": {"name": "f"}}),
        _pieces_of({"index": 0, "function": {"arguments": '{"x": '}}),
        _pieces_of(
            {"index": 1, "id": "call_b", "function": {"name": "g", "arguments": ""}},
            {"index": 0, "function": {"arguments": "1}"}},
        ),
        _pieces_of({"index": 1, "function": {"arguments": "{}"}}, "not a piece"),
    ):
        for piece in chunk:
            assembler.add(piece)
    assert assembler.calls(lambda: "unused") == [
        ToolCall("call_a", "f", '{"x": 1}'),
        ToolCall("call_b", "g", "{}"),
    ]


def test_whole_calls_without_an_index_or_an_id() -> None:
    """Ollama's way: each call whole in one piece, arguments an object, sometimes no index."""
    assembler = ToolCallAssembler()
    for piece in _pieces_of(
        {"id": "call_a", "function": {"name": "f", "arguments": {"x": 1}}},
        {"id": "call_b", "function": {"name": "g", "arguments": {}}},
        {"index": 5, "function": {"arguments": "{}"}},
    ):
        assembler.add(piece)
    ids = iter(["call_new"])
    assert assembler.calls(lambda: next(ids)) == [
        ToolCall("call_a", "f", '{"x": 1}'),
        ToolCall("call_b", "g", "{}"),
    ]
    named = ToolCallAssembler()
    named.add(ToolCallPiece(None, name="h"))
    assert named.calls(lambda: next(ids)) == [ToolCall("call_new", "h", "{}")]


def test_the_remote_count_of_cached_prompt_tokens_is_passed_through() -> None:
    usage = {"prompt_tokens": 40, "completion_tokens": 3, "total_tokens": 43}
    plain = chunk_delta({"choices": [], "usage": usage}).usage
    cached = chunk_delta(
        {"choices": [], "usage": {**usage, "prompt_tokens_details": {"cached_tokens": 32}}}
    ).usage
    assert plain is not None and plain.cached_tokens == 0
    assert cached is not None and cached.cached_tokens == 32
