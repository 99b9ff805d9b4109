"""Engine choice without loading a model: pins, `auto` and its quality gate, the fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parley.config import Settings
from parley.engine.selection import choice
from parley.engine.selection.choice import VerdictsFor, plan_engine
from parley.engine.selection.quality import GatedChoice, Verdict, agreement, perplexity
from parley.engine.specs import ModelSpec, read_models_file

CONFIG = Settings(device="cpu").engine_config()
SMOLLM2 = ModelSpec(id="smollm2", path="smollm2")


def verdict(
    perplexity: float,
    tokens_per_s: float = 80.0,
    choice: str = "llamacpp/Q4_1",
    batched_tokens_per_s: float | None = None,
) -> Verdict:
    return Verdict(
        choice=choice,
        reference="transformers/float32",
        perplexity=perplexity,
        reference_perplexity=10.0,
        greedy_agreement=1.0,
        tokens_per_s=tokens_per_s,
        reference_tokens_per_s=15.0,
        batched_tokens_per_s=batched_tokens_per_s,
    )


def gated(*verdicts: Verdict) -> VerdictsFor:
    """A gate that found these verdicts: the file's own weights first, then Q8_0."""
    return lambda spec, gguf: list(zip([None, "Q8_0"], verdicts, strict=False))


def never_gated(spec: ModelSpec, gguf: Path) -> list[GatedChoice]:
    raise AssertionError("the quality gate should not run")


@pytest.fixture
def llamacpp_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(choice, "llamacpp_unavailable", lambda: None)


def test_the_gate_passes_at_most_five_percent_more_perplexity() -> None:
    assert verdict(10.49).passed
    assert not verdict(10.51).passed
    assert not verdict(float("nan")).passed
    assert verdict(9.0).passed and verdict(9.0).perplexity_increase == pytest.approx(-0.1)


def test_perplexity_and_greedy_agreement() -> None:
    assert perplexity([0.0, 0.0]) == 1.0
    assert perplexity([-1.0, -1.0]) == pytest.approx(2.718281828)
    assert agreement([1, 2, 3, 4], [1, 2, 3, 4]) == 1.0
    assert agreement([1, 2, 3, 4], [1, 2, 9, 4]) == 0.5
    assert agreement([1, 2], [7, 2]) == 0.0


@pytest.mark.usefixtures("llamacpp_importable")
def test_auto_runs_a_gguf_on_llamacpp_when_it_passes_and_is_faster() -> None:
    plan = plan_engine(SMOLLM2, CONFIG, gated(verdict(10.2)))
    assert plan.kind == "llamacpp" and plan.gguf is not None and plan.gguf.suffix == ".gguf"
    assert plan.note is not None and "passes" in plan.note


@pytest.mark.usefixtures("llamacpp_importable")
def test_without_torch_auto_runs_a_gguf_on_llamacpp_ungated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The container image has no torch: no fp32 reference to gate against, nothing to fall
    # back on, and a GPU setting must not import torch to look for one.
    monkeypatch.setattr(choice, "torch_missing", lambda: True)
    config = Settings(device="auto").engine_config()
    plan = plan_engine(SMOLLM2, config, never_gated)
    assert plan.kind == "llamacpp" and plan.gguf is not None and plan.precision is None
    assert plan.note == "torch is not installed: llama.cpp, ungated"
    lora = ModelSpec(id="tuned", path="smollm2", lora="/adapters/tuned")
    assert plan_engine(lora, config, never_gated).kind == "transformers"


@pytest.mark.usefixtures("llamacpp_importable")
def test_auto_picks_the_fastest_precision_that_passes() -> None:
    own, q8 = verdict(10.1, 80.0), verdict(10.3, 110.0, "llamacpp/Q8_0")
    plan = plan_engine(SMOLLM2, CONFIG, gated(own, q8))
    assert plan.kind == "llamacpp" and plan.precision == "Q8_0"
    assert plan.note is not None and "llamacpp/Q4_1 80 tokens/s" in plan.note
    # A faster precision the gate refuses is never taken.
    plan = plan_engine(SMOLLM2, CONFIG, gated(own, verdict(11.0, 200.0, "llamacpp/Q8_0")))
    assert plan.kind == "llamacpp" and plan.precision is None
    # None passes: transformers, saying why for each.
    plan = plan_engine(SMOLLM2, CONFIG, gated(verdict(12.0), verdict(11.0, 200.0, "x/Q8_0")))
    assert plan.kind == "transformers" and plan.note is not None
    assert plan.note.count("fails the quality gate") == 2


@pytest.mark.usefixtures("llamacpp_importable")
def test_auto_weighs_many_streams_as_much_as_one() -> None:
    # Tied at one stream (as Q4_1 and Q8_0 were on an AVX-512 Xeon), far apart at 32.
    own = verdict(10.1, 64.0, batched_tokens_per_s=200.0)
    q8 = verdict(10.3, 64.0, "llamacpp/Q8_0", batched_tokens_per_s=330.0)
    plan = plan_engine(SMOLLM2, CONFIG, gated(own, q8))
    assert plan.precision == "Q8_0"
    assert plan.note is not None and "llamacpp/Q4_1 64 tokens/s (200 with 32 streams)" in plan.note
    # A little slower alone but much faster together still wins; much slower alone does not.
    assert (
        plan_engine(
            SMOLLM2, CONFIG, gated(verdict(10.1, 70.0, batched_tokens_per_s=200.0), q8)
        ).precision
        == "Q8_0"
    )
    slow_alone = verdict(10.3, 20.0, "llamacpp/Q8_0", batched_tokens_per_s=330.0)
    assert plan_engine(SMOLLM2, CONFIG, gated(own, slow_alone)).precision is None


@pytest.mark.usefixtures("llamacpp_importable")
def test_a_llamacpp_weight_type_as_dtype_pins_llamacpp_at_that_precision() -> None:
    plan = plan_engine(ModelSpec(id="q", path="smollm2", dtype="q8_0"), CONFIG, never_gated)
    assert plan.kind == "llamacpp" and plan.precision == "Q8_0"
    with pytest.raises(ValueError, match="transformers takes a torch dtype"):
        plan_engine(
            ModelSpec(id="t", path="smollm2", engine="transformers", dtype="Q8_0"),
            CONFIG,
            never_gated,
        )


@pytest.mark.usefixtures("llamacpp_importable")
def test_auto_never_picks_a_choice_the_gate_refuses() -> None:
    plan = plan_engine(SMOLLM2, CONFIG, gated(verdict(12.0)))
    assert plan.kind == "transformers"
    assert plan.note is not None and "fails the quality gate" in plan.note and "+20.0%" in plan.note


@pytest.mark.usefixtures("llamacpp_importable")
def test_auto_keeps_transformers_when_llamacpp_decoded_slower() -> None:
    plan = plan_engine(SMOLLM2, CONFIG, gated(verdict(10.0, tokens_per_s=5.0)))
    assert plan.kind == "transformers" and plan.note is not None and "slower" in plan.note


def test_without_llamacpp_auto_serves_on_transformers_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(choice, "llamacpp_unavailable", lambda: "no module named llama_cpp")
    plan = plan_engine(SMOLLM2, CONFIG, never_gated)
    assert plan.kind == "transformers"
    assert plan.note == "llama.cpp is not available: no module named llama_cpp"


@pytest.mark.usefixtures("llamacpp_importable")
def test_folders_lora_dummy_weights_and_torch_dtypes_stay_on_transformers(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    folder = ModelSpec(id="folder", path=str(tmp_path))
    assert plan_engine(folder, CONFIG, never_gated).kind == "transformers"
    for spec in (
        ModelSpec(id="a", path="smollm2", lora=str(tmp_path)),
        ModelSpec(id="b", path="smollm2", dummy_config=str(tmp_path / "config.json")),
        ModelSpec(id="c", path="smollm2", dtype="bfloat16"),
    ):
        plan = plan_engine(spec, CONFIG, never_gated)
        assert plan.kind == "transformers" and plan.note is not None
    pinned = ModelSpec(id="d", path="smollm2", engine="transformers")
    assert plan_engine(pinned, CONFIG, never_gated).kind == "transformers"


def test_a_pinned_llamacpp_is_refused_where_it_cannot_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match=r"runs \.gguf files"):
        plan_engine(ModelSpec(id="f", path=str(tmp_path), engine="llamacpp"), CONFIG, never_gated)
    lora = ModelSpec(id="l", path="smollm2", engine="llamacpp", lora=str(tmp_path))
    with pytest.raises(ValueError, match="LoRA"):
        plan_engine(lora, CONFIG, never_gated)
    monkeypatch.setattr(choice, "llamacpp_unavailable", lambda: "the build failed")
    with pytest.raises(RuntimeError, match="the build failed"):
        plan_engine(ModelSpec(id="p", path="smollm2", engine="llamacpp"), CONFIG, never_gated)
    # Pinned, it is not gated either: the models file's word is final.
    monkeypatch.setattr(choice, "llamacpp_unavailable", lambda: None)
    assert (
        plan_engine(ModelSpec(id="p", path="smollm2", engine="llamacpp"), CONFIG, never_gated).kind
        == "llamacpp"
    )


def test_models_file_pins_an_engine_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    listed = tmp_path / "models.json"
    listed.write_text(
        json.dumps([{"id": "fast", "path": "smollm2", "engine": "llamacpp"}]), encoding="utf-8"
    )
    assert read_models_file(listed)[0].engine == "llamacpp"
    listed.write_text(
        json.dumps([{"id": "odd", "path": "smollm2", "engine": "onnx"}]), encoding="utf-8"
    )
    with pytest.raises(ValueError, match="engine 'onnx'"):
        read_models_file(listed)
    listed.write_text(
        json.dumps([{"id": "odd", "path": "smollm2", "dtype": "int3"}]), encoding="utf-8"
    )
    with pytest.raises(ValueError, match=r"unknown dtype 'int3'.*llama\.cpp weight type"):
        read_models_file(listed)
    listed.write_text(
        json.dumps([{"id": "q", "path": "smollm2", "dtype": "Q8_0"}]), encoding="utf-8"
    )
    assert read_models_file(listed)[0].dtype == "Q8_0"
