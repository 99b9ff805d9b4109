"""The quality gate on the real SmolLM2: a deliberately broken precision is refused, llama.cpp
on the shipped GGUF passes, and verdicts are kept per machine."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from bench.quality import fake_quantized
from transformers import AutoModelForCausalLM, AutoTokenizer

from parley.engine.selection.choice import llamacpp_unavailable, plan_engine
from parley.engine.selection.quality import (
    PROMPTS,
    evaluate,
    llamacpp_verdicts,
    prompt_ids,
    quality_text,
    verdict_path,
)
from parley.engine.specs import ModelSpec, embedded_smollm2_gguf
from parley.engine.transformers.engine import TorchScorer, weights_folder
from tests.engine.helpers import engine_settings

pytestmark = pytest.mark.model


def test_the_gate_refuses_a_deliberately_broken_precision(
    model_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = weights_folder("smollm2", engine_settings(model_data_dir))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    text_ids = tokenizer.encode(quality_text(), add_special_tokens=False)
    prompts = prompt_ids(tokenizer, PROMPTS[:2])
    reference = TorchScorer(model, "transformers/float32")
    same, broken = evaluate(
        reference,
        [reference, TorchScorer(fake_quantized(model, 2), "transformers/int2")],
        text_ids,
        prompts,
    )
    assert same.passed and same.perplexity_increase == pytest.approx(0.0)
    assert same.greedy_agreement == 1.0
    assert not broken.passed
    assert broken.perplexity_increase > 0.05
    # And `auto` never picks it, whatever its speed.
    from parley.engine.selection import choice

    monkeypatch.setattr(choice, "llamacpp_unavailable", lambda: None)
    plan = plan_engine(
        ModelSpec(id="smollm2", path="smollm2"),
        engine_settings(model_data_dir),
        lambda spec, gguf: [(None, broken)],
    )
    assert plan.kind == "transformers" and plan.note == broken.summary()


@pytest.mark.skipif(llamacpp_unavailable() is not None, reason=str(llamacpp_unavailable()))
def test_llamacpp_on_the_shipped_gguf_and_its_q8_0_pass_and_their_verdicts_are_kept(
    model_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from parley.engine.llamacpp.weights import file_precision, requantized_path

    def not_here(*args: object, **kwargs: object) -> None:
        raise AssertionError("the gate loads its fp32 reference in a process of its own")

    # The spawned child imports transformers afresh, without this patch.
    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", not_here)
    settings = engine_settings(model_data_dir)
    spec = ModelSpec(id="smollm2", path="smollm2")
    gguf = embedded_smollm2_gguf()
    choices = llamacpp_verdicts(spec, gguf, settings)
    assert [(p, v.choice) for p, v in choices] == [
        (None, "llamacpp/Q4_1"),
        ("Q8_0", "llamacpp/Q8_0"),
    ]
    assert all(v.passed for _, v in choices), [v.summary() for _, v in choices]
    # Both decode speeds were measured: one stream, and 32 in one batch (auto ranks by both).
    assert all(v.tokens_per_s > 0 and (v.batched_tokens_per_s or 0) > 0 for _, v in choices)
    converted = requantized_path(gguf, "Q8_0", settings.data_dir)
    assert file_precision(converted) == "Q8_0"
    kept = verdict_path(settings.data_dir, gguf, "llamacpp")
    assert kept.is_file() and verdict_path(settings.data_dir, converted, "llamacpp").is_file()
    # A second look reads the kept verdicts instead of measuring again.
    own = choices[0][1]
    original = kept.read_text(encoding="utf-8")
    try:
        kept.write_text(original.replace(str(own.tokens_per_s), "1.5"), encoding="utf-8")
        assert llamacpp_verdicts(spec, gguf, settings)[0][1].tokens_per_s == 1.5
    finally:
        kept.write_text(original, encoding="utf-8")
