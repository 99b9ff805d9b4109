"""llama.cpp's decode loop on the real SmolLM2: a prompt start another request has read is
copied, not read again, and the answers stay those of each request alone. Each test runs on
engines loaded for it, so nothing an earlier answer kept (test_keep.py) stands in for
the copies."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import llama_cpp as lc
import numpy as np
import pytest

from parley.engine.base import SamplingParams
from parley.engine.llamacpp.engine import LlamaCppEngine, _load_model, _new_context
from parley.engine.llamacpp.loop import KV_BLOCK, MIN_SHARED_TOKENS, PASS_ROWS, put_token
from parley.engine.specs import EngineChoice, embedded_smollm2_gguf
from parley.protocol import AnswerProgress, Pieces
from tests.engine.conftest import load_smollm2
from tests.engine.helpers import GREEDY, answer, request_for, text_of

pytestmark = pytest.mark.model

DOCUMENT = (
    "Read this note and answer the question after it. Note: the lighthouse on the north cape "
    "was built in 1874, painted red and white in 1902, and automated in 1987; its keeper's "
    "cottage is now a small museum that opens every summer. Question: "
)


@contextlib.asynccontextmanager
async def fresh_llamacpp(data_dir: Path) -> AsyncIterator[LlamaCppEngine]:
    """SmolLM2 on llama.cpp, newly loaded: nothing kept yet."""
    engine = load_smollm2("llamacpp", data_dir)
    assert isinstance(engine, LlamaCppEngine)
    try:
        yield engine
    finally:
        await engine.close()


@pytest.fixture
async def llamacpp(
    engine_kind: EngineChoice, model_data_dir: Path
) -> AsyncIterator[LlamaCppEngine]:
    if engine_kind != "llamacpp":
        pytest.skip("prompt starts are copied between llama.cpp's KV streams")
    async with fresh_llamacpp(model_data_dir) as engine:
        yield engine


async def alone(
    data_dir: Path, questions: list[str], params: SamplingParams = GREEDY
) -> list[tuple[str, int]]:
    """Each question's answer and prompt size, asked alone of an engine of its own."""
    answers = []
    async with fresh_llamacpp(data_dir) as engine:
        for i, question in enumerate(questions):
            text, finished, _ = await answer(engine, f"alone-{i}", question, params)
            answers.append((text, finished.usage.prompt_tokens))
    return answers


async def test_requests_arriving_together_read_their_shared_start_once(
    llamacpp: LlamaCppEngine, model_data_dir: Path
) -> None:
    # The chat template's system prompt starts every one; two are the very same question.
    questions = ["Hi!", "What is the capital of France?", "Hi!", "Write a haiku about the sea."]
    expected = await alone(model_data_dir, questions)
    before = llamacpp.prompt_tokens_copied
    together = await asyncio.gather(
        *(answer(llamacpp, f"together-{i}", q) for i, q in enumerate(questions))
    )
    # The same answers, and the whole prompt counted in the usage, copied or read.
    assert [(text, end.usage.prompt_tokens) for text, end, _ in together] == expected
    assert llamacpp.prompt_tokens_copied - before >= MIN_SHARED_TOKENS * (len(questions) - 1)


async def test_a_request_joining_copies_the_start_a_running_one_has_read(
    llamacpp: LlamaCppEngine, model_data_dir: Path
) -> None:
    questions = [DOCUMENT + "When was it automated?", DOCUMENT + "What colours is it?"]
    expected = await alone(model_data_dir, questions)
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


# Twenty short notes: with the chat template some 400 tokens, so the answers are decoded past
# llama.cpp's first block of KV cells.
DEEP_NOTES = (
    "Read these notes and answer the question after them. "
    + " ".join(
        f"Note {i}: the lighthouse on cape {i} was built in {1801 + 7 * i} and is "
        f"{['red', 'white', 'blue', 'green'][i % 4]}."
        for i in range(20)
    )
    + " Question: "
)


async def test_deep_answers_alone_equal_them_decoded_together(
    llamacpp: LlamaCppEngine, model_data_dir: Path
) -> None:
    # Alone, each answer's token is the only one in its pass (ggml would split its attention
    # between threads); together, both are in every pass until one ends.
    params = dataclasses.replace(GREEDY, max_tokens=40)
    questions = [DEEP_NOTES + "Which lighthouse is the oldest?", DEEP_NOTES + "Which are blue?"]
    expected = await alone(model_data_dir, questions, params)
    assert all(prompt_tokens > KV_BLOCK for _, prompt_tokens in expected)
    together = await asyncio.gather(
        *(answer(llamacpp, f"together-{i}", q, params) for i, q in enumerate(questions))
    )
    assert [text for text, _, _ in together] == [text for text, _ in expected]


def test_llamacpp_computes_a_token_alike_in_every_pass_the_loop_makes() -> None:
    """What the loop's layout rests on, on llama.cpp itself (2 threads, flash attention): a
    prompt read `PASS_ROWS` at a time or fewer, alone or beside another stream's token, and a
    deep token decoded beside another stream's or with its predecessor read again, all get the
    same logits to the bit."""
    model = _load_model(embedded_smollm2_gguf())
    vocab = lc.llama_vocab_n_tokens(lc.llama_model_get_vocab(model))
    prompt = list(range(2000, 2000 + KV_BLOCK + 44))
    other = list(range(3000, 3010))

    def passes(chunk: int, beside: bool, deep_steps: int, reread: bool) -> list[np.ndarray]:
        context = _new_context(model, 2048, 512, 2, 2)
        batch = lc.llama_batch_init(512, 0, 1)
        steps = 0

        def decode(entries: list[tuple[int, int, int]]) -> list[np.ndarray]:
            nonlocal steps
            if beside and steps:  # Another stream's next token in every pass after its prompt.
                entries = [*entries, (1, len(other) + steps - 1, 5)]
            for i, (seq_id, position, token) in enumerate(entries):
                put_token(batch, i, token, position, seq_id, True)
            batch.n_tokens = len(entries)
            assert lc.llama_decode(context, batch) == 0
            steps += 1
            rows = [i for i, entry in enumerate(entries) if entry[0] == 0]
            pointer = lc.llama_get_logits(context)
            logits = np.ctypeslib.as_array(pointer, shape=(len(entries), vocab))
            return [logits[i].copy() for i in rows]

        try:
            if beside:
                decode([(1, p, t) for p, t in enumerate(other)])
            tokens = [*prompt, *range(7, 7 + deep_steps)]
            out = []
            for start in range(0, len(prompt), chunk):
                out += decode(
                    [(0, p, prompt[p]) for p in range(start, min(start + chunk, len(prompt)))]
                )
            for position in range(len(prompt), len(tokens)):
                if reread:
                    lc.llama_memory_seq_rm(lc.llama_get_memory(context), 0, position - 1, -1)
                    out += decode(
                        [(0, position - 1, tokens[position - 1]), (0, position, tokens[position])]
                    )[1:]
                else:
                    out += decode([(0, position, tokens[position])])
            return out
        finally:
            lc.llama_batch_free(batch)
            lc.llama_free(context)

    try:
        reference = passes(PASS_ROWS, beside=True, deep_steps=4, reread=False)
        for chunk, beside, reread in [
            (PASS_ROWS, False, True),
            (25, False, True),
            (40, True, False),
        ]:
            got = passes(chunk, beside, deep_steps=4, reread=reread)
            assert all(np.array_equal(a, b) for a, b in zip(reference, got, strict=True)), (
                chunk,
                beside,
            )
    finally:
        lc.llama_model_free(model)
