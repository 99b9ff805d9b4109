"""llama.cpp's decode loop on the real SmolLM2: a prompt start another request has read is
copied, not read again, and the answers stay those of each request alone."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from parley.engine.base import Engine
from parley.engine.llamacpp import LlamaCppEngine
from parley.engine.llamacpp_loop import MIN_SHARED_TOKENS
from parley.engine.specs import EngineChoice
from parley.protocol import AnswerProgress, Pieces
from tests.engine.helpers import GREEDY, answer, request_for, text_of

pytestmark = pytest.mark.model

DOCUMENT = (
    "Read this note and answer the question after it. Note: the lighthouse on the north cape "
    "was built in 1874, painted red and white in 1902, and automated in 1987; its keeper's "
    "cottage is now a small museum that opens every summer. Question: "
)


@pytest.fixture
def llamacpp(engine_kind: EngineChoice, smollm2: Engine) -> LlamaCppEngine:
    if engine_kind != "llamacpp":
        pytest.skip("prompt starts are copied between llama.cpp's KV streams")
    assert isinstance(smollm2, LlamaCppEngine)
    return smollm2


async def alone(engine: Engine, questions: list[str]) -> list[tuple[str, int]]:
    """Each question's answer and prompt size, asked alone."""
    answers = []
    for i, question in enumerate(questions):
        text, finished, _ = await answer(engine, f"alone-{i}", question)
        answers.append((text, finished.usage.prompt_tokens))
    return answers


async def test_requests_arriving_together_read_their_shared_start_once(
    llamacpp: LlamaCppEngine,
) -> None:
    # The chat template's system prompt starts every one; two are the very same question.
    questions = ["Hi!", "What is the capital of France?", "Hi!", "Write a haiku about the sea."]
    expected = await alone(llamacpp, questions)
    before = llamacpp.prompt_tokens_copied
    together = await asyncio.gather(
        *(answer(llamacpp, f"together-{i}", q) for i, q in enumerate(questions))
    )
    # The same answers, and the whole prompt counted in the usage, copied or read.
    assert [(text, end.usage.prompt_tokens) for text, end, _ in together] == expected
    assert llamacpp.prompt_tokens_copied - before >= MIN_SHARED_TOKENS * (len(questions) - 1)


async def test_a_request_joining_copies_the_start_a_running_one_has_read(
    llamacpp: LlamaCppEngine,
) -> None:
    questions = [DOCUMENT + "When was it automated?", DOCUMENT + "What colours is it?"]
    expected = await alone(llamacpp, questions)
    decoding = asyncio.Event()

    async def first() -> str:
        request = request_for("running", questions[0], dataclasses.replace(GREEDY, max_tokens=48))
        events: list[AnswerProgress] = []
        async for event in llamacpp.generate(request):
            events.append(event)
            if isinstance(event, Pieces):
                decoding.set()
        return text_of(events)

    running = asyncio.create_task(first())
    await decoding.wait()  # The first has read its prompt and decodes when the second joins.
    before = llamacpp.prompt_tokens_copied
    joined, _, _ = await answer(llamacpp, "joining", questions[1])
    assert joined == expected[1][0]
    assert (await running).startswith(expected[0][0])
    # The system prompt and the whole note (some 60 tokens) were copied.
    assert llamacpp.prompt_tokens_copied - before >= 60
