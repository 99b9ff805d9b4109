"""A PEFT LoRA adapter (as LLaMA-Factory writes them) is merged into the model at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from parley.engine.base import Engine
from parley.engine.specs import ModelSpec
from tests.engine.helpers import answer, engine_settings

pytestmark = pytest.mark.model

QUESTION = "Name three colours."


def write_adapter(base_folder: Path, target: Path) -> None:
    """A LoRA adapter with random (not zero) weights, so merging it changes the answers."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(base_folder, dtype=torch.float32)
    config = LoraConfig(
        r=8, lora_alpha=64, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    get_peft_model(model, config).save_pretrained(target)


async def test_a_lora_adapter_changes_the_answers(
    smollm2: Engine, model_data_dir: Path, tmp_path: Path
) -> None:
    from parley.engine.transformers.engine import load_engine, weights_folder

    settings = engine_settings(model_data_dir)
    adapter = tmp_path / "adapter"
    write_adapter(weights_folder("smollm2", settings), adapter)
    tuned = load_engine(ModelSpec(id="tuned", path="smollm2", lora=str(adapter)), settings)
    try:
        base_text, _, _ = await answer(smollm2, "base", QUESTION)
        tuned_text, finished, _ = await answer(tuned, "tuned", QUESTION)
    finally:
        await tuned.close()
    assert finished.usage.completion_tokens > 0
    assert tuned_text != base_text


def test_a_missing_adapter_folder_fails_to_load(model_data_dir: Path, tmp_path: Path) -> None:
    from parley.engine.transformers.engine import load_engine

    spec = ModelSpec(id="tuned", path="smollm2", lora=str(tmp_path / "no-adapter"))
    with pytest.raises(Exception, match="no-adapter"):
        load_engine(spec, engine_settings(model_data_dir))
