"""The remote engine against the fault server: the Engine contract, its limit as the model's
slot count in the chat layer's admission, the token estimate."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace

import pytest

from parley.chat.prepare.fairness import Admission
from parley.engine.base import ChatTurn, EngineError, GenerationRequest, SamplingParams
from parley.engine.remote.engine import (
    DEFAULT_REMOTE_CONTEXT,
    RemoteEngine,
    RemoteModelUnavailable,
    estimate_prompt_tokens,
)
from parley.engine.specs import RemoteSpec
from parley.engine.structured import InvalidOutput
from parley.protocol import (
    AnswerProgress,
    Finished,
    ForcedTool,
    JsonOutput,
    Pieces,
    Prefilling,
    Queued,
    ToolCall,
    ToolSpec,
)
from tests.remote.fault_server import CONTEXT_LENGTH, DEFAULT_ANSWER, MODEL, FaultServer


def spec_for(fault: FaultServer, **fields: object) -> RemoteSpec:
    return replace(
        RemoteSpec(id="remote", base_url=fault.base_url, model=MODEL, idle_timeout_s=1.0),
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture
async def engine(fault: FaultServer) -> AsyncIterator[RemoteEngine]:
    remote = await RemoteEngine.connect(spec_for(fault))
    yield remote
    await remote.close()


def request(content: str, request_id: str = "r1", **params: object) -> GenerationRequest:
    return GenerationRequest(
        request_id=request_id,
        turns=(ChatTurn("system", "Be brief."), ChatTurn("user", content)),
        params=SamplingParams(**params),  # type: ignore[arg-type]
    )


async def collect(stream: AsyncIterator[AnswerProgress]) -> list[AnswerProgress]:
    return [progress async for progress in stream]


def split(progress: list[AnswerProgress]) -> tuple[str, str]:
    pieces = [p for item in progress if isinstance(item, Pieces) for p in item.pieces]
    return (
        "".join(p.text for p in pieces if p.channel == "thinking"),
        "".join(p.text for p in pieces if p.channel == "answer"),
    )


async def test_connect_reads_the_context_and_the_card(engine: RemoteEngine) -> None:
    assert engine.card.context_length == CONTEXT_LENGTH
    assert engine.card.name == "remote" and engine.card.device.startswith("remote 127.0.0.1:")


async def test_the_configured_context_wins_and_a_silent_remote_gets_the_default(
    fault: FaultServer,
) -> None:
    configured = await RemoteEngine.connect(spec_for(fault, context_length=512))
    assert configured.card.context_length == 512
    await configured.close()
    fault.advertised_context = None
    silent = await RemoteEngine.connect(spec_for(fault))
    assert silent.card.context_length == DEFAULT_REMOTE_CONTEXT
    await silent.close()


async def test_connect_refuses_a_remote_without_the_model(fault: FaultServer) -> None:
    fault.listed = ["other"]
    with pytest.raises(RemoteModelUnavailable, match="lists: other"):
        await RemoteEngine.connect(spec_for(fault))


async def test_a_missing_api_key_variable_is_named(fault: FaultServer) -> None:
    with pytest.raises(RemoteModelUnavailable, match="PARLEY_TEST_NO_SUCH_KEY"):
        await RemoteEngine.connect(spec_for(fault, api_key_env="PARLEY_TEST_NO_SUCH_KEY"))


async def test_an_answer_streams_prefill_pieces_and_finish(engine: RemoteEngine) -> None:
    progress = await collect(engine.generate(request("hello")))
    assert isinstance(progress[0], Prefilling)
    assert split(progress) == ("", "Hello from the fault server.")
    last = progress[-1]
    assert isinstance(last, Finished) and last.finish_reason == "stop"
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (11, 6)
    counts = [p.completion_tokens for p in progress if isinstance(p, Pieces)]
    assert counts == sorted(counts) and counts[-1] == 6


async def test_without_usage_the_counts_are_its_own(engine: RemoteEngine) -> None:
    turns = request("no-usage").turns
    counted = await engine.prompt_tokens(turns, enable_thinking=None)
    last = (await collect(engine.generate(request("no-usage"))))[-1]
    assert isinstance(last, Finished)
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (counted, 6)


async def test_prompt_tokens_use_tokenize_else_the_estimate(
    engine: RemoteEngine, fault: FaultServer
) -> None:
    turns = (ChatTurn("user", "one two three four"),)
    assert await engine.prompt_tokens(turns, enable_thinking=None) == 4 + 4
    fault.tokenize = False
    other = await RemoteEngine.connect(spec_for(fault))
    assert await other.prompt_tokens(turns, enable_thinking=None) == estimate_prompt_tokens(turns)
    await other.close()


@pytest.mark.parametrize("field", ["reasoning", "reasoning_content"])
async def test_reasoning_fields_are_thinking(engine: RemoteEngine, field: str) -> None:
    assert split(await collect(engine.generate(request(field)))) == (
        "Thinking hard.",
        "The answer.",
    )


async def test_inline_think_is_split(engine: RemoteEngine) -> None:
    assert split(await collect(engine.generate(request("think")))) == ("Pondering deeply", "Done.")


async def test_the_request_carries_the_run_choices(
    engine: RemoteEngine, fault: FaultServer
) -> None:
    choices = request("hello", max_tokens=9, temperature=0.1, top_p=0.5, stop=("\n\n",), seed=3)
    await collect(engine.generate(replace(choices, enable_thinking=False)))
    body = fault.chat_requests("hello")[0].body
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello"},
    ]
    assert (body["max_tokens"], body["temperature"], body["top_p"]) == (9, 0.1, 0.5)
    assert (body["stop"], body["seed"]) == (["\n\n"], 3)
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert "ignore_eos" not in body


async def test_the_request_carries_tools_and_the_tool_history(engine: RemoteEngine) -> None:
    call = ToolCall("call_1", "get_time", '{"zone": "UTC"}')
    weather = ToolSpec("get_time", "The time.", {"type": "object", "properties": {}})
    turns = (
        ChatTurn("user", "time?"),
        ChatTurn("assistant", "", tool_calls=(call,)),
        ChatTurn("tool", "noon", tool_call_id="call_1"),
    )
    body = engine.request_body(
        GenerationRequest(
            "r1",
            turns,
            tools=(weather,),
            tool_choice=ForcedTool("get_time"),
            parallel_tool_calls=False,
        )
    )
    assert body["messages"] == [
        {"role": "user", "content": "time?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_time", "arguments": '{"zone": "UTC"}'},
                }
            ],
        },
        {"role": "tool", "content": "noon", "tool_call_id": "call_1"},
    ]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_time",
                "description": "The time.",
                "parameters": {"type": "object", "properties": {}},
            },
        }
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_time"}}
    assert body["parallel_tool_calls"] is False
    plain = engine.request_body(request("hello"))
    assert not {"tools", "tool_choice", "parallel_tool_calls"} & plain.keys()


async def test_cancel_ends_the_answer_and_closes_the_stream(
    engine: RemoteEngine, fault: FaultServer
) -> None:
    progress: list[AnswerProgress] = []
    async for item in engine.generate(request("slow")):
        progress.append(item)
        if len([p for p in progress if isinstance(p, Pieces)]) == 3:
            await engine.cancel("r1")
    last = progress[-1]
    assert isinstance(last, Finished) and last.finish_reason == "cancelled"
    assert last.usage.completion_tokens == 3
    assert fault.chat_requests("slow")[0].client_closed.wait(5)


async def test_no_check_cuts_into_a_streaming_answer(
    engine: RemoteEngine, fault: FaultServer
) -> None:
    """llama-cpp-python's server cuts its answer short for any new request, a health check's
    too: while an answer streams the stream is the check, and /v1/models is not asked."""
    asked = fault.models_calls
    async for item in engine.generate(request("slow")):
        if isinstance(item, Pieces):
            await engine.check()
            await engine.cancel("r1")
    assert fault.models_calls == asked


async def test_closing_the_stream_early_closes_the_remote_stream(
    engine: RemoteEngine, fault: FaultServer
) -> None:
    stream = engine.generate(request("slow"))
    async with contextlib.aclosing(stream):
        async for item in stream:
            if isinstance(item, Pieces):
                break
    assert fault.chat_requests("slow")[0].client_closed.wait(5)


async def test_a_broken_stream_yields_the_text_then_fails(engine: RemoteEngine) -> None:
    progress: list[AnswerProgress] = []
    with pytest.raises(EngineError, match="connection to the remote model broke") as caught:
        async for item in engine.generate(request("drop")):
            progress.append(item)
    assert caught.value.code == "generation_failed"
    assert split(progress) == ("", "Partial answer then")


async def test_an_inline_tag_held_back_is_flushed_before_the_failure(
    engine: RemoteEngine, fault: FaultServer
) -> None:
    # "Partial answer" is answer text; nothing is lost even when the stream stalls.
    progress: list[AnswerProgress] = []
    with pytest.raises(EngineError, match="idle timeout"):
        async for item in engine.generate(request("stall")):
            progress.append(item)
    assert split(progress)[1] == "Partial answer"


async def test_a_refusal_is_unavailable(engine: RemoteEngine) -> None:
    with pytest.raises(RemoteModelUnavailable, match="HTTP 500") as caught:
        await collect(engine.generate(request("refuse")))
    assert caught.value.code == "model_unavailable"


async def test_max_concurrency_is_the_models_slot_count(fault: FaultServer) -> None:
    engine = await RemoteEngine.connect(spec_for(fault, max_concurrency=1))
    assert engine.card.max_concurrency == 1
    admission = Admission(per_user=10, slots=8)

    def answer(user: str, content: str, name: str) -> AsyncGenerator[AnswerProgress, None]:
        return admission.generate(admission.enter(user), "remote", engine, request(content, name))

    first = answer("alice", "slow", "first")
    assert isinstance(await anext(first), Prefilling)
    second = answer("bob", "hello", "second")
    third = answer("carol", "hello", "third")
    assert await anext(second) == Queued(1)
    assert await anext(third) == Queued(2)
    # The second leaves the line: the third moves up.
    await second.aclose()
    assert await anext(third) == Queued(1)
    assert fault.chat_requests("hello") == []
    await engine.cancel("first")
    await collect(first)
    third_rest = await collect(third)
    assert split(third_rest) == ("", "Hello from the fault server.")
    assert admission.waiting("remote") == 0
    await engine.close()


async def test_close_cancels_running_answers(fault: FaultServer) -> None:
    engine = await RemoteEngine.connect(spec_for(fault))
    stream = engine.generate(request("slow"))
    assert isinstance(await anext(stream), Prefilling)
    assert isinstance(await anext(stream), Pieces)
    closing = asyncio.ensure_future(engine.close())
    rest = await collect(stream)
    await closing
    assert isinstance(rest[-1], Finished) and rest[-1].finish_reason == "cancelled"


def test_the_estimate_counts_calls_and_offered_tools() -> None:
    plain = [ChatTurn("user", "time?")]
    call = ToolCall("call_1", "get_time", '{"zone": "Europe/Oslo"}')
    with_call = [*plain, ChatTurn("assistant", "", tool_calls=(call,))]
    spec = ToolSpec("get_time", "The time now.", {"type": "object", "properties": {}})
    bare = estimate_prompt_tokens(plain)
    assert estimate_prompt_tokens(with_call) > estimate_prompt_tokens(
        [*plain, ChatTurn("assistant", "")]
    )
    assert estimate_prompt_tokens(plain, [spec]) > bare + 20


def test_the_estimate_errs_high() -> None:
    english = "The quick brown fox jumps over the lazy dog. " * 20
    # About 10 tokens a sentence for any English tokenizer; the estimate must be above.
    assert estimate_prompt_tokens([ChatTurn("user", english)]) > 200
    assert estimate_prompt_tokens([ChatTurn("user", "1234567890")]) >= 10 + 8
    assert estimate_prompt_tokens([ChatTurn("user", "你好世界")]) >= 6 + 8
    assert estimate_prompt_tokens([]) > 0


async def test_a_response_format_is_passed_through_and_the_answer_checked(
    engine: RemoteEngine, fault: FaultServer
) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    asked = replace(request("hello"), output=JsonOutput(schema))
    assert engine.request_body(asked)["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": schema, "strict": True},
    }
    # The fault server answers prose: the answer streams, then fails naming why.
    progress: list[AnswerProgress] = []
    with pytest.raises(InvalidOutput, match="not JSON"):
        async for event in engine.generate(replace(asked, output=JsonOutput())):
            progress.append(event)
    assert split(progress) == ("", "Hello from the fault server.")
    assert fault.chat_requests("hello")[-1].body["response_format"] == {"type": "json_object"}


async def test_logprobs_are_asked_of_the_remote_and_passed_through(
    engine: RemoteEngine, fault: FaultServer
) -> None:
    events = await collect(engine.generate(request("hello", logprobs=2)))
    assert fault.chat_requests()[-1].body["top_logprobs"] == 2
    assert fault.chat_requests()[-1].body["logprobs"] is True
    entries = [entry for e in events if isinstance(e, Pieces) for entry in e.logprobs]
    assert "".join(entry.token for entry in entries) == "".join(DEFAULT_ANSWER)
    assert [entry.logprob for entry in entries] == [-0.25 * i for i in range(len(entries))]
    assert entries[1].token_bytes == b" from"
    assert [top.token for top in entries[1].top] == [" from", "alt0"]
    plain = await collect(engine.generate(request("hello", request_id="r2")))
    assert "logprobs" not in fault.chat_requests()[-1].body
    assert all(not e.logprobs for e in plain if isinstance(e, Pieces))


async def test_embeddings_pass_through_in_order(engine: RemoteEngine, fault: FaultServer) -> None:
    embeddings = await engine.embed(["one", "three", (1, 2)])
    assert fault.embedding_bodies[-1] == {
        "model": MODEL,
        "input": ["one", "three", [1, 2]],
        "encoding_format": "float",
    }
    # The remote listed them last first: its indices put them back in order.
    assert embeddings.vectors == ((3.0, 0.0, 1.0), (5.0, 1.0, 1.0), (2.0, 2.0, 1.0))
    assert embeddings.prompt_tokens == 9


async def test_an_embeddings_refusal_keeps_the_remotes_reason(engine: RemoteEngine) -> None:
    with pytest.raises(EngineError) as caught:
        await engine.embed(["refuse"])
    assert caught.value.kind == "malformed"
    assert "does not support embeddings" in caught.value.message
