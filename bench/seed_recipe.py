"""The baseline: what the services Parley replaces do, one fp32 `model.generate` at a time."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedModel
from transformers.generation.streamers import BaseStreamer

from bench.measure import RequestTiming


class _TimingStreamer(BaseStreamer):
    """Records when `generate` produces each new token (its first `put` is the prompt)."""

    def __init__(self, timing: RequestTiming) -> None:
        self._timing = timing
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if self._prompt_seen:
            self._timing.arrived(1)
        self._prompt_seen = True

    def end(self) -> None:
        pass


def seed_model(folder: Path, dummy_config: str | None) -> PreTrainedModel:
    if dummy_config is not None:
        config = AutoConfig.from_pretrained(dummy_config)
        model: PreTrainedModel = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    else:
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    model.eval()
    return model


async def run_seed_recipe(
    model: PreTrainedModel, tokenizer: Any, prompts: list[str], tokens: int
) -> list[RequestTiming]:
    """Every prompt sent at once; the lock serves them one after another, as the seed did."""
    lock = threading.Lock()

    def generate(timing: RequestTiming, prompt: str) -> None:
        with lock:
            seed_generate(model, tokenizer, prompt, tokens, timing)

    async def one(prompt: str) -> RequestTiming:
        timing = RequestTiming()
        await asyncio.to_thread(generate, timing, prompt)
        return timing

    return list(await asyncio.gather(*(one(p) for p in prompts)))


def seed_generate(
    model: PreTrainedModel, tokenizer: Any, prompt: str, tokens: int, timing: RequestTiming
) -> str:
    """One `model.generate` over the whole prompt, as the seed ran it: the answer's text."""
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        output = model.generate(
            **inputs,
            max_new_tokens=tokens,
            min_new_tokens=tokens,  # The seed's way to ignore EOS.
            do_sample=False,
            streamer=_TimingStreamer(timing),
        )
    return str(
        tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    )
