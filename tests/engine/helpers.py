"""Helpers for the engine tests."""

from __future__ import annotations

from pathlib import Path

from parley.config import Settings
from parley.engine.base import ChatTurn, Engine, GenerationRequest, SamplingParams
from parley.engine.config import EngineConfig
from parley.protocol import AnswerProgress, Finished, Pieces


def engine_settings(data_dir: Path, **overrides: object) -> EngineConfig:
    # A small prefill chunk makes the test prompts exercise both chunked and grouped prefill.
    # fp32, because batching may only change rounding: in bf16 a changed batch shape can flip a
    # near-tie between two tokens and the answers diverge from there, which is not a bug.
    # A small KV memory (llama.cpp allocates all of it at load, an even share per run) and
    # one thread (on a CPU shared with other busy processes, llama.cpp's spinning threads and
    # torch's wait for each other: several times slower with two). Nothing saved on disk: an
    # engine loaded later must read everything (tests/engine/llamacpp/test_saved.py saves).
    values: dict[str, object] = {
        "data_dir": data_dir,
        "prefill_chunk_tokens": 40,
        "dtype": "float32",
        "kv_cache_gib": 0.25,
        "max_concurrent_runs": 8,
        "cpu_threads": 1,
        "kv_disk_gib": 0,
    }
    values.update(overrides)
    return Settings.model_validate(values).engine_config()


GREEDY = SamplingParams(max_tokens=24, temperature=0.0)


def request_for(
    request_id: str, question: str, params: SamplingParams = GREEDY
) -> GenerationRequest:
    return GenerationRequest(request_id, (ChatTurn("user", question),), params=params)


def text_of(events: list[AnswerProgress]) -> str:
    return "".join(p.text for e in events if isinstance(e, Pieces) for p in e.pieces)


async def answer(
    engine: Engine, request_id: str, question: str, params: SamplingParams = GREEDY
) -> tuple[str, Finished, list[AnswerProgress]]:
    """The streamed text, the Finished event and every event, in order."""
    request = request_for(request_id, question, params)
    events: list[AnswerProgress] = [event async for event in engine.generate(request)]
    text = text_of(events)
    finished = events[-1]
    assert isinstance(finished, Finished)
    return text, finished, events
