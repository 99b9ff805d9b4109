"""Both engines (transformers, llama.cpp) on the real SmolLM2: batching must not change answers,
a cancel frees its slot within one step, rows join and leave mid-batch."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from parley.engine.base import ChatTurn, Engine, EngineError, GenerationRequest, SamplingParams
from parley.engine.batched import BatchedEngine
from parley.engine.selection.manager import build_engine
from parley.engine.specs import EngineChoice, ModelSpec
from parley.protocol import Finished, Pieces, Prefilling, Queued, ToolSpec
from tests.engine.helpers import GREEDY, answer, engine_settings, request_for

pytestmark = pytest.mark.model

QUESTIONS = [
    "Hi!",
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Explain in detail how a bicycle works, including the gears, the brakes and the chain, "
    "for a curious child of ten who likes to take things apart.",
]


@pytest.fixture(scope="session")
async def sequential_answers(smollm2: Engine) -> list[str]:
    """Each question alone: the reference every batched run must reproduce."""
    return [(await answer(smollm2, f"alone-{i}", q))[0] for i, q in enumerate(QUESTIONS)]


async def test_greedy_batched_equals_one_at_a_time(
    smollm2: Engine, sequential_answers: list[str]
) -> None:
    async def staggered(index: int, question: str) -> str:
        # Later requests join a batch that is already decoding.
        await asyncio.sleep(0.05 * index)
        return (await answer(smollm2, f"batched-{index}", question))[0]

    batched = await asyncio.gather(*(staggered(i, q) for i, q in enumerate(QUESTIONS)))
    assert batched == sequential_answers
    assert all(sequential_answers)


async def test_rows_leave_and_join_mid_batch_and_every_answer_stays_intact(
    smollm2: Engine, sequential_answers: list[str]
) -> None:
    async def run(index: int, question: str, max_tokens: int) -> str:
        await asyncio.sleep(0.05 * index)  # Later ones join while earlier ones decode.
        params = dataclasses.replace(GREEDY, max_tokens=max_tokens)
        return (await answer(smollm2, f"mixed-{index}", question, params))[0]

    # Different lengths: rows leave at different steps while the others go on.
    lengths = [3, GREEDY.max_tokens, 9, 15]
    texts = await asyncio.gather(
        *(run(i, q, n) for i, (q, n) in enumerate(zip(QUESTIONS, lengths, strict=True)))
    )
    for text, reference in zip(texts, sequential_answers, strict=True):
        assert text and reference.startswith(text)
    assert texts[1] == sequential_answers[1]


async def test_a_row_leaving_mid_batch_leaves_the_others_answers_unchanged(
    smollm2: Engine, sequential_answers: list[str]
) -> None:
    """On llama.cpp the row with the highest sequence id then moves into the gap (its KV
    stream copied) so the batch stays one forward pass: the moved answer must not change."""
    short = dataclasses.replace(GREEDY, max_tokens=3)
    lengths = [GREEDY, short, GREEDY, GREEDY]
    texts = await asyncio.gather(
        *(
            answer(smollm2, f"gap-{i}", q, params)
            for i, (q, params) in enumerate(zip(QUESTIONS, lengths, strict=True))
        )
    )
    assert sequential_answers[1].startswith(texts[1][0])
    assert [texts[i][0] for i in (0, 2, 3)] == [sequential_answers[i] for i in (0, 2, 3)]


async def test_a_cancel_ends_the_stream_within_one_step(smollm2: Engine) -> None:
    tokens_at_cancel = -1
    async for event in smollm2.generate(request_for("one-step", QUESTIONS[3])):
        if isinstance(event, Pieces) and tokens_at_cancel < 0 and event.completion_tokens >= 3:
            tokens_at_cancel = event.completion_tokens
            await smollm2.cancel("one-step")
        if isinstance(event, Finished):
            assert event.finish_reason == "cancelled"
            # The step already running when the cancel came may add its token; no more.
            assert event.usage.completion_tokens <= tokens_at_cancel + 1
            return
    raise AssertionError("the stream ended without Finished")


async def test_cancel_mid_batch_frees_the_row_and_others_finish_intact(
    smollm2: Engine, sequential_answers: list[str]
) -> None:
    async def cancel_after_two_deltas() -> Finished:
        request = request_for("victim", QUESTIONS[3])
        deltas = 0
        last = None
        async for event in smollm2.generate(request):
            if isinstance(event, Pieces):
                deltas += 1
                if deltas == 2:
                    await smollm2.cancel("victim")
            last = event
        assert isinstance(last, Finished)
        return last

    victim, first, second = await asyncio.gather(
        cancel_after_two_deltas(),
        answer(smollm2, "keep-1", QUESTIONS[1]),
        answer(smollm2, "keep-2", QUESTIONS[2]),
    )
    assert victim.finish_reason == "cancelled"
    assert victim.usage.completion_tokens < GREEDY.max_tokens
    assert [first[0], second[0]] == sequential_answers[1:3]


async def test_a_queued_run_starts_when_a_slot_frees(
    one_slot_smollm2: Engine, sequential_answers: list[str]
) -> None:
    first, second = await asyncio.gather(
        answer(one_slot_smollm2, "first", QUESTIONS[1]),
        answer(one_slot_smollm2, "second", QUESTIONS[2]),
    )
    assert [first[0], second[0]] == sequential_answers[1:3]
    assert not any(isinstance(e, Queued) for e in first[2])
    assert second[2][0] == Queued(position=1)
    assert [type(e) for e in second[2]].index(Prefilling) > 0


async def test_cancelling_the_running_request_lets_the_queued_one_run(
    one_slot_smollm2: Engine, sequential_answers: list[str]
) -> None:
    async def cancelled_after_first_delta() -> Finished:
        request = request_for("hog", QUESTIONS[3])
        async for event in one_slot_smollm2.generate(request):
            if isinstance(event, Pieces):
                await one_slot_smollm2.cancel("hog")
            if isinstance(event, Finished):
                return event
        raise AssertionError("the stream ended without Finished")

    hog, waiter = await asyncio.gather(
        cancelled_after_first_delta(), answer(one_slot_smollm2, "waiter", QUESTIONS[1])
    )
    assert hog.finish_reason == "cancelled"
    assert waiter[0] == sequential_answers[1]
    assert waiter[2][0] == Queued(position=1)


async def test_closing_the_stream_early_frees_the_slot(smollm2: Engine) -> None:
    request = request_for("walk-away", QUESTIONS[3])
    stream = smollm2.generate(request)
    async for event in stream:
        if isinstance(event, Pieces):
            break
    await stream.aclose()  # type: ignore[attr-defined]
    # The engine still serves: a new request completes.
    # A question both engines answer in a few words, so it ends with "stop".
    text, finished, _ = await answer(smollm2, "after", QUESTIONS[0])
    assert finished.finish_reason == "stop" and text


async def test_stop_string_ends_the_answer_before_it(
    smollm2: Engine, sequential_answers: list[str]
) -> None:
    reference = sequential_answers[2]
    stop = reference[10:14]  # Cut anywhere, likely across tokens.
    params = dataclasses.replace(GREEDY, stop=(stop,))
    text, finished, _ = await answer(smollm2, "stopped", QUESTIONS[2], params)
    assert text == reference[: reference.index(stop)]
    assert finished.finish_reason == "stop"


async def test_max_tokens_ends_with_length(smollm2: Engine) -> None:
    params = SamplingParams(max_tokens=5, temperature=0.0, ignore_eos=True)
    _, finished, events = await answer(smollm2, "short", QUESTIONS[0], params)
    assert finished.finish_reason == "length"
    assert finished.usage.completion_tokens == 5
    assert isinstance(events[0], Prefilling)
    assert events[0].prompt_tokens == finished.usage.prompt_tokens


async def test_same_seed_samples_the_same_answer(smollm2: Engine) -> None:
    params = SamplingParams(max_tokens=12, temperature=0.9, top_p=0.9, top_k=50, seed=7)
    first, _, _ = await answer(smollm2, "seed-a", QUESTIONS[2], params)
    second, _, _ = await answer(smollm2, "seed-b", QUESTIONS[2], params)
    other, _, _ = await answer(smollm2, "seed-c", QUESTIONS[2], dataclasses.replace(params, seed=8))
    assert first == second
    assert other != first


async def test_a_prompt_beyond_the_context_is_refused(smollm2: Engine) -> None:
    too_long = "word " * smollm2.card.context_length
    with pytest.raises(EngineError):
        async for _ in smollm2.generate(GenerationRequest("huge", (ChatTurn("user", too_long),))):
            pass


async def test_the_prompt_count_includes_the_offered_tools(smollm2: Engine) -> None:
    turns = (ChatTurn("user", "What is the weather in Paris?"),)
    weather = ToolSpec(
        "get_weather",
        "The weather in a city now.",
        {"type": "object", "properties": {"city": {"type": "string"}}},
    )
    plain = await smollm2.prompt_tokens(turns, enable_thinking=None)
    offered = await smollm2.prompt_tokens(turns, enable_thinking=None, tools=[weather])
    assert offered > plain + 20
    # Exactly the prompt the request with the tools renders and reads.
    assert isinstance(smollm2, BatchedEngine)
    rendered = smollm2.render_request(GenerationRequest("r", turns, tools=(weather,)))
    assert offered == smollm2.count_tokens(rendered)


async def test_converted_gguf_is_reused_on_the_next_load(
    transformers_smollm2: Engine, model_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from parley.engine.transformers import engine as transformers_engine

    loads: list[dict[str, object]] = []
    original = transformers_engine.AutoModelForCausalLM.from_pretrained

    def recording(*args: object, **kwargs: object) -> object:
        loads.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(transformers_engine.AutoModelForCausalLM, "from_pretrained", recording)
    converted = model_data_dir / "models" / "SmolLM2-135M-Instruct.Q4_1"
    weights_written = (converted / "model.safetensors").stat().st_mtime_ns
    folders_before = {p.name for p in converted.parent.iterdir() if p.is_dir()}
    engine = transformers_engine.load_engine("smollm2", engine_settings(model_data_dir))
    await engine.close()
    assert loads and not any("gguf_file" in kwargs for kwargs in loads)
    assert (converted / "model.safetensors").stat().st_mtime_ns == weights_written
    # Nor was a staging folder made (the folder is shared with other test sessions: conftest.py).
    assert {p.name for p in converted.parent.iterdir() if p.is_dir()} == folders_before


async def test_cpu_threads_setting_sets_torch_threads(model_data_dir: Path) -> None:
    import torch

    from parley.engine.transformers.engine import load_engine

    before = torch.get_num_threads()
    try:
        engine = load_engine("smollm2", engine_settings(model_data_dir, cpu_threads=1))
        await engine.close()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


async def test_a_long_prompt_is_read_in_chunks_between_decode_steps(smollm2: Engine) -> None:
    """While a long prompt is prefilled chunk by chunk, the running stream keeps getting tokens."""
    order: list[tuple[str, object]] = []
    running_streams = asyncio.Event()

    async def stream(request_id: str, question: str, params: SamplingParams) -> None:
        async for event in smollm2.generate(request_for(request_id, question, params)):
            order.append((request_id, event))
            if isinstance(event, Pieces):
                running_streams.set()

    async def join_later() -> None:
        await running_streams.wait()
        await stream("long", long_question, GREEDY)

    long_question = "Please summarise this. " + "The quick brown fox jumps over the lazy dog. " * 40
    running = stream("running", QUESTIONS[1], SamplingParams(max_tokens=64, ignore_eos=True))
    await asyncio.gather(running, join_later())
    start = order.index(next(item for item in order if item[0] == "long"))
    first_token = order.index(
        next(item for item in order if item[0] == "long" and isinstance(item[1], Pieces))
    )
    during_prefill = [e for rid, e in order[start:first_token] if rid == "running"]
    long_prompt = [ChatTurn("user", long_question)]
    chunks = await smollm2.prompt_tokens(long_prompt, enable_thinking=None) // 40
    assert chunks >= 8
    # One decode step per chunk; a delta may be empty-held, so allow a little slack.
    assert len([e for e in during_prefill if isinstance(e, Pieces)]) >= chunks // 2


async def test_a_configured_chat_template_gets_the_thinking_switch(
    engine_kind: EngineChoice, smollm2: Engine, model_data_dir: Path, tmp_path: Path
) -> None:
    # SmolLM2's own template never reads enable_thinking: nothing to turn off.
    assert smollm2.card.thinking_toggle is False
    template = tmp_path / "template.jinja"
    template.write_text(
        "{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}[assistant]"
        "{% if enable_thinking is defined and not enable_thinking %}<think></think>{% endif %}",
        encoding="utf-8",
    )
    spec = ModelSpec(
        id="templated", path="smollm2", chat_template=str(template), engine=engine_kind
    )
    engine = build_engine(spec, engine_settings(model_data_dir)).engine
    try:
        assert engine.card.engine == engine_kind and engine.card.thinking_toggle is True
        assert isinstance(engine, BatchedEngine)
        turns = [ChatTurn("user", "Hi")]
        assert engine.render_prompt(turns, enable_thinking=None).text == "[user]Hi[assistant]"
        assert engine.render_prompt(turns, enable_thinking=True).text == "[user]Hi[assistant]"
        assert (
            engine.render_prompt(turns, enable_thinking=False).text
            == "[user]Hi[assistant]<think></think>"
        )
    finally:
        await engine.close()
