"""llama.cpp keeps a conversation's KV between its turns (real SmolLM2): the next turn reads only
what is new and answers exactly as a fresh read of the whole prompt would, an edited message
reuses only the common start, and kept streams give way to running answers without disturbing
them."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pytest

from parley.engine.base import ChatTurn, Engine, GenerationRequest, SamplingParams
from parley.engine.llamacpp.engine import LlamaCppEngine
from parley.engine.llamacpp.streams import common_prefix
from parley.engine.specs import EngineChoice
from parley.protocol import AnswerProgress, Finished, Pieces
from tests.engine.helpers import GREEDY, text_of
from tests.engine.llamacpp.test_loop import DEEP_NOTES, fresh_llamacpp

pytestmark = pytest.mark.model


@pytest.fixture
def llamacpp(engine_kind: EngineChoice, smollm2: Engine) -> LlamaCppEngine:
    if engine_kind != "llamacpp":
        pytest.skip("llama.cpp keeps a conversation's KV streams")
    assert isinstance(smollm2, LlamaCppEngine)
    return smollm2


async def ask(
    engine: Engine, request_id: str, turns: Sequence[ChatTurn], params: SamplingParams = GREEDY
) -> tuple[str, Finished]:
    request = GenerationRequest(request_id, tuple(turns), params=params)
    events = [event async for event in engine.generate(request)]
    finished = events[-1]
    assert isinstance(finished, Finished)
    return text_of(events), finished


async def fresh_read(
    data_dir: Path, turns: Sequence[ChatTurn], params: SamplingParams = GREEDY
) -> str:
    """The answer of a newly loaded engine, which has nothing kept and reads every token."""
    async with fresh_llamacpp(data_dir) as engine:
        text, finished = await ask(engine, "fresh", turns, params)
    assert finished.usage.cached_tokens == 0
    return text


def prompt_ids(engine: LlamaCppEngine, turns: Sequence[ChatTurn]) -> list[int]:
    return engine._encode(engine.render_prompt(turns, enable_thinking=None))


async def test_the_next_turn_reads_only_what_is_new_and_answers_as_a_fresh_read(
    llamacpp: LlamaCppEngine, model_data_dir: Path
) -> None:
    # Some 500 tokens from the first turn on: every answer is decoded past llama.cpp's first
    # block of KV cells, where a lone token's attention would round otherwise.
    questions = [
        DEEP_NOTES + "Which lighthouse is the oldest?",
        "And which ones are blue?",
        "Which is the newest?",
    ]
    turns: list[ChatTurn] = []
    held = 0  # What the conversation's stream holds after the last answer.
    for i, question in enumerate(questions):
        turns.append(ChatTurn("user", question))
        text, finished = await ask(llamacpp, f"keep-{i}", turns)
        usage = finished.usage
        if i:
            # The whole last prompt and its answer (but its last token, never read) were kept.
            assert usage.cached_tokens >= held
        assert text == await fresh_read(model_data_dir, turns)
        held = usage.prompt_tokens + usage.completion_tokens - 1
        turns.append(ChatTurn("assistant", text))


async def test_an_edited_message_reuses_only_the_common_start(
    llamacpp: LlamaCppEngine, model_data_dir: Path
) -> None:
    # An engine of its own: the old branch stays only while an id is free.
    async with fresh_llamacpp(model_data_dir) as engine:
        first = [ChatTurn("user", DEEP_NOTES + "Which lighthouse is red?")]
        answer, _ = await ask(engine, "edit-1", first)
        history = [*first, ChatTurn("assistant", answer)]
        original = [*history, ChatTurn("user", "Which ones are white?")]
        edited = [*history, ChatTurn("user", "Which ones are green?")]
        await ask(engine, "edit-2", original)
        before = engine.prompt_tokens_kept
        text, finished = await ask(engine, "edit-3", edited)
        common = common_prefix(prompt_ids(engine, original), prompt_ids(engine, edited))
        assert finished.usage.cached_tokens == common
        assert engine.prompt_tokens_kept - before == common
        # The original branch was kept beside the edited one: going back reads nothing again.
        _, back = await ask(engine, "edit-4", original)
        assert back.usage.cached_tokens == back.usage.prompt_tokens - 1
    assert text == await fresh_read(model_data_dir, edited)


async def test_kept_streams_give_way_to_running_answers_without_disturbing_them(
    llamacpp: LlamaCppEngine, model_data_dir: Path
) -> None:
    slots = 8  # engine_settings' max_concurrent_runs
    # Conversations, one after another, until every sequence id holds a kept one.
    conversations = [
        [ChatTurn("user", f"Note {i}: my cat is called Tom number {i}. What is its name?")]
        for i in range(slots)
    ]
    for i, turns in enumerate(conversations):
        text, _ = await ask(llamacpp, f"fill-{i}", turns)
        turns += [ChatTurn("assistant", text), ChatTurn("user", "Tell me more about it.")]
    long = dataclasses.replace(GREEDY, max_tokens=48)
    expected = await fresh_read(model_data_dir, conversations[0], long)
    decoding = asyncio.Event()

    async def running() -> tuple[str, Finished]:
        request = GenerationRequest("running", tuple(conversations[0]), params=long)
        events: list[AnswerProgress] = []
        async for event in llamacpp.generate(request):
            events.append(event)
            if isinstance(event, Pieces):
                decoding.set()
        finished = events[-1]
        assert isinstance(finished, Finished)
        return text_of(events), finished

    task = asyncio.create_task(running())
    await decoding.wait()
    # Newcomers take every other id: the kept streams move away and are evicted meanwhile.
    newcomers = [
        [ChatTurn("user", f"Count from {i} to {i + 5}, please.")] for i in range(slots - 1)
    ]
    await asyncio.gather(*(ask(llamacpp, f"new-{i}", t) for i, t in enumerate(newcomers)))
    text, finished = await task
    assert finished.usage.cached_tokens > 0
    assert text == expected
