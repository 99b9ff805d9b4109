"""The quality gate by hand: each engine and precision against fp32 transformers, one model.

    python -m bench.quality [--model smollm2]

Scores fp32 transformers (the reference), llama.cpp on the GGUF (when llama-cpp-python is
installed) at each precision `auto` tries (the file's own, and Q8_0 for a small file),
transformers in bf16, and a deliberately broken choice (transformers with every
linear weight rounded to 2 bits) that the gate must refuse; prints the verdicts and writes
`bench/results/quality.json`. The server gates llama.cpp itself on first use
(engine/selection/quality.py).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import tempfile
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel

from parley.config import Settings
from parley.engine.selection.choice import llamacpp_unavailable
from parley.engine.selection.quality import PROMPTS, Scorer, evaluate, prompt_ids, quality_text
from parley.engine.specs import gguf_file
from parley.engine.transformers.engine import TorchScorer, weights_folder


def fake_quantized(model: PreTrainedModel, bits: int) -> PreTrainedModel:
    """A copy whose linear weights are rounded to `bits` bits per output row (symmetric): a
    precision far too lossy, for showing that the gate refuses it."""
    broken = copy.deepcopy(model)
    levels = 2 ** (bits - 1) - 1
    with torch.no_grad():
        for module in broken.modules():
            if isinstance(module, torch.nn.Linear):
                weight = module.weight
                scale = weight.abs().amax(dim=1, keepdim=True).clamp(min=1e-8) / levels
                weight.copy_((weight / scale).round().clamp(-levels, levels) * scale)
    return broken


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--model", default="smollm2", help="'smollm2' or a .gguf file")
    parser.add_argument("--cpu-threads", type=int, default=0, help="0: one per core")
    parser.add_argument("--out", type=Path, default=Path("bench/results/quality.json"))
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "parley")
    args = parser.parse_args()
    threads = args.cpu_threads or os.cpu_count() or 1
    torch.set_num_threads(threads)
    settings = Settings(data_dir=args.data_dir, cpu_threads=threads)
    folder = weights_folder(args.model, settings.engine_config())
    tokenizer = AutoTokenizer.from_pretrained(folder)
    text_ids = tokenizer.encode(quality_text(), add_special_tokens=False)
    prompts = prompt_ids(tokenizer, PROMPTS)
    reference = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    candidates: list[Scorer] = []
    gguf = gguf_file(args.model)
    closers = []
    if gguf is not None and llamacpp_unavailable() is None:
        from parley.engine.llamacpp.engine import LlamaScorer
        from parley.engine.llamacpp.weights import requantized
        from parley.engine.selection.quality import auto_precisions

        for precision in auto_precisions(gguf):
            file = (
                gguf if precision is None else requantized(gguf, precision, args.data_dir, threads)
            )
            llama = LlamaScorer(file, threads)
            candidates.append(llama)
            closers.append(llama.close)
    bf16 = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16).eval()
    candidates.append(TorchScorer(bf16, "transformers/bfloat16"))
    candidates.append(TorchScorer(fake_quantized(reference, 2), "transformers/int2 (broken)"))
    try:
        verdicts = evaluate(
            TorchScorer(reference, "transformers/float32"), candidates, text_ids, prompts
        )
    finally:
        for close in closers:
            close()
    print(f"{len(text_ids)} text tokens, {len(prompts)} prompts; reference transformers/float32")
    for verdict in verdicts:
        print(
            f"  {verdict.summary()}; {verdict.speeds()} "
            f"(reference {verdict.reference_tokens_per_s:.0f})"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "command": "python -m bench.quality",
        "model": args.model,
        "text_tokens": len(text_ids),
        "machine": {
            "platform": platform.platform(),
            "load_average_1m_at_end": os.getloadavg()[0],
            "threads": threads,
        },
        "verdicts": [
            {**asdict(v), "perplexity_increase": v.perplexity_increase, "passed": v.passed}
            for v in verdicts
        ],
    }
    args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
