"""The quality gate: is a lossy engine or precision close enough to fp32 transformers?

Two measures on the same model, the reference being fp32 transformers:
- perplexity on a fixed English text shipped with Parley (quality_data/text.txt), every token
  scored from the same token ids, and
- greedy agreement on fixed prompts: the share of answer tokens equal to the reference's up to
  the first that differs, averaged over the prompts.

A choice passes when its perplexity is at most `MAX_PERPLEXITY_INCREASE` (5%) above the
reference's. Verdicts are kept under `<data_dir>/quality/`, keyed by the model file, the choice,
the library versions and the CPU, so the gate runs once per machine; `auto` engine choice
(choice.py) reads them. The gate also times each choice: greedy decoding of one stream, and of
`BATCHED_STREAMS` streams together where the choice batches them (llama.cpp), since a precision
that ties at one conversation can be far faster at many (measured: Q8_0 and Q4_1 both 64
tokens/s for one stream; 205 and 146 for 32 over the WebSocket). `python -m bench.quality`
runs it by hand and writes the results.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from importlib import metadata
from importlib.resources import files
from pathlib import Path
from typing import Any, Protocol

from parley.engine.config import EngineConfig
from parley.engine.specs import ModelSpec

log = logging.getLogger(__name__)

MAX_PERPLEXITY_INCREASE = 0.05
GREEDY_TOKENS = 24
BATCHED_STREAMS = 32
# Saved verdicts of an older format are gated again rather than read with fields missing.
_VERDICT_FORMAT = 2
PROMPTS = (
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Give me three tips for learning a new language.",
    "How does a refrigerator keep food cold?",
)


def prompt_ids(tokenizer: Any, questions: Sequence[str]) -> list[list[int]]:
    """Each question as a user turn in the model's chat template, ready for an answer."""
    return [
        tokenizer.encode(
            str(
                tokenizer.apply_chat_template(
                    [{"role": "user", "content": question}],
                    tokenize=False,
                    add_generation_prompt=True,
                )
            ),
            add_special_tokens=False,
        )
        for question in questions
    ]


def quality_text() -> str:
    return (
        files("parley.engine.selection")
        .joinpath("quality_data/text.txt")
        .read_text(encoding="utf-8")
    )


class Scorer(Protocol):
    """One engine and precision, reduced to what the gate asks of it."""

    name: str

    def log_likelihoods(self, ids: Sequence[int]) -> list[float]:
        """log p(ids[i] | ids[:i]) for every i >= 1."""
        ...

    def greedy(self, prompt_ids: Sequence[int], tokens: int) -> list[int]:
        """`tokens` greedy answer tokens (end of turn ignored)."""
        ...

    def batched_tokens_per_s(self, prompt_ids: Sequence[int], streams: int) -> float | None:
        """Greedy decoding speed of `streams` answers to the prompt decoded together (tokens
        per second, all streams counted); None where the scorer does not batch."""
        ...


@dataclass(frozen=True, slots=True)
class Verdict:
    choice: str
    reference: str
    perplexity: float
    reference_perplexity: float
    greedy_agreement: float
    # Greedy decoding speed of one stream, as measured during the gate.
    tokens_per_s: float
    reference_tokens_per_s: float
    # All streams' tokens per second with BATCHED_STREAMS decoded together; None: not measured.
    batched_tokens_per_s: float | None
    threshold: float = MAX_PERPLEXITY_INCREASE

    @property
    def perplexity_increase(self) -> float:
        return self.perplexity / self.reference_perplexity - 1

    @property
    def ranking_speed(self) -> float:
        """What `auto` ranks passing choices by: one conversation and many weigh the same (the
        geometric mean of one stream's speed and the batched one), or one stream's alone."""
        if self.batched_tokens_per_s is None:
            return self.tokens_per_s
        return math.sqrt(self.tokens_per_s * self.batched_tokens_per_s)

    @property
    def passed(self) -> bool:
        return math.isfinite(self.perplexity) and self.perplexity_increase <= self.threshold

    def speeds(self) -> str:
        batched = self.batched_tokens_per_s
        many = "" if batched is None else f" ({batched:.0f} with {BATCHED_STREAMS} streams)"
        return f"{self.choice} {self.tokens_per_s:.0f} tokens/s{many}"

    def summary(self) -> str:
        verdict = "passes" if self.passed else "fails"
        return (
            f"{self.choice} {verdict} the quality gate: perplexity {self.perplexity:.3f} vs "
            f"{self.reference_perplexity:.3f} ({self.perplexity_increase:+.1%}, limit "
            f"+{self.threshold:.0%}), greedy agreement {self.greedy_agreement:.0%}"
        )


def perplexity(log_likelihoods: Sequence[float]) -> float:
    return math.exp(-sum(log_likelihoods) / len(log_likelihoods))


def agreement(reference: Sequence[int], candidate: Sequence[int]) -> float:
    """Share of tokens equal to the reference's up to the first that differs."""
    same = next(
        (i for i, (a, b) in enumerate(zip(reference, candidate, strict=False)) if a != b),
        min(len(reference), len(candidate)),
    )
    return same / len(reference) if reference else 1.0


@dataclass(frozen=True, slots=True)
class _Scores:
    perplexity: float
    answers: list[list[int]]
    tokens_per_s: float
    batched_tokens_per_s: float | None


def _score(scorer: Scorer, text_ids: Sequence[int], prompts: Sequence[Sequence[int]]) -> _Scores:
    ppl = perplexity(scorer.log_likelihoods(text_ids))
    started = time.perf_counter()
    answers = [scorer.greedy(prompt, GREEDY_TOKENS) for prompt in prompts]
    elapsed = time.perf_counter() - started
    batched = scorer.batched_tokens_per_s(prompts[0], BATCHED_STREAMS)
    return _Scores(ppl, answers, GREEDY_TOKENS * len(prompts) / elapsed, batched)


def evaluate(
    reference: Scorer,
    candidates: Sequence[Scorer],
    text_ids: Sequence[int],
    prompts: Sequence[Sequence[int]],
    threshold: float = MAX_PERPLEXITY_INCREASE,
) -> list[Verdict]:
    """Score the reference once and every candidate against it."""
    ref = _score(reference, text_ids, prompts)
    verdicts = []
    for candidate in candidates:
        got = _score(candidate, text_ids, prompts)
        agreements = [agreement(a, b) for a, b in zip(ref.answers, got.answers, strict=True)]
        verdicts.append(
            Verdict(
                choice=candidate.name,
                reference=reference.name,
                perplexity=got.perplexity,
                reference_perplexity=ref.perplexity,
                greedy_agreement=sum(agreements) / len(agreements),
                tokens_per_s=got.tokens_per_s,
                reference_tokens_per_s=ref.tokens_per_s,
                batched_tokens_per_s=got.batched_tokens_per_s,
                threshold=threshold,
            )
        )
    return verdicts


def cpu_flags() -> list[str]:
    """This CPU's vector and matrix extensions (Linux): part of a verdict's key."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            flags = set(cpuinfo.read().split())
    except OSError:
        return []
    return sorted(f for f in flags if f.startswith(("avx", "amx", "fma", "f16c")))


def verdict_path(data_dir: Path, model_file: Path, choice: str) -> Path:
    """Where the verdict for one choice on one model file and machine is kept."""
    stat = model_file.stat()
    versions = []
    for package in ("llama_cpp_python", "transformers", "torch"):
        try:
            versions.append(f"{package}={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package}=none")
    key = json.dumps(
        [
            _VERDICT_FORMAT,
            str(model_file.resolve()),
            stat.st_size,
            stat.st_mtime_ns,
            choice,
            versions,
            cpu_flags(),
        ]
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return data_dir / "quality" / f"{model_file.stem}-{choice.replace('/', '-')}-{digest}.json"


def read_verdict(path: Path) -> Verdict | None:
    try:
        return Verdict(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def write_verdict(path: Path, verdict: Verdict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Of this process: two servers on one data directory may measure the same choice at once.
    staging = path.with_suffix(f".{os.getpid()}.tmp")
    staging.write_text(json.dumps(asdict(verdict), indent=2), encoding="utf-8")
    staging.replace(path)


# A precision llama.cpp was gated at (None: the GGUF file's own weights) and its verdict.
GatedChoice = tuple[str | None, Verdict]

# What `auto` tries beside a GGUF's own weights, for files up to this size: ggml's batched
# kernels for Q8_0 made small models decode faster than from their 4- or 5-bit files
# (docs/performance.md). A big model's decode is bound by memory bandwidth instead, where
# 8-bit weights read twice the bytes of 4-bit ones, so its file is left as it is.
AUTO_PRECISIONS = ("Q8_0",)
_REQUANTIZE_UP_TO_BYTES = 1 << 30
# Types no conversion to Q8_0 would make faster without losing precision.
_HIGH_PRECISIONS = {"Q8_0", "F16", "BF16", "F32"}


def auto_precisions(gguf: Path) -> list[str | None]:
    """The precisions `auto` gates for a GGUF: its own, then those worth converting it to."""
    from parley.engine.llamacpp.weights import file_precision

    if gguf.stat().st_size > _REQUANTIZE_UP_TO_BYTES or file_precision(gguf) in _HIGH_PRECISIONS:
        return [None]
    return [None, *AUTO_PRECISIONS]


def measure_llamacpp(spec_path: str, ggufs: Sequence[Path], config: EngineConfig) -> list[Verdict]:
    """Gate llama.cpp on GGUF files against fp32 transformers on the model (loads each)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from parley.engine.llamacpp.engine import LlamaScorer, cpu_threads
    from parley.engine.transformers.engine import TorchScorer, weights_folder

    torch.set_num_threads(cpu_threads(config))
    folder = weights_folder(spec_path, config)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    text_ids = tokenizer.encode(quality_text(), add_special_tokens=False)
    prompts = prompt_ids(tokenizer, PROMPTS)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    model.eval()
    candidates = [LlamaScorer(gguf, cpu_threads(config)) for gguf in ggufs]
    try:
        return evaluate(TorchScorer(model, "transformers/float32"), candidates, text_ids, prompts)
    finally:
        for candidate in candidates:
            candidate.close()


def _measure_in_child(spec_path: str, ggufs: Sequence[Path], config: EngineConfig) -> list[Verdict]:
    """`measure_llamacpp` in a process of its own: the fp32 reference's memory and torch's
    thread pool go with it instead of staying in the server, where torch's idle threads slowed
    llama.cpp's steps (measured: 15 ms a token over the socket instead of 10)."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        return pool.submit(measure_llamacpp, spec_path, list(ggufs), config).result()


def llamacpp_verdicts(spec: ModelSpec, gguf: Path, config: EngineConfig) -> list[GatedChoice]:
    """The kept verdicts for llama.cpp on this file and machine at each precision `auto` tries,
    gating (and converting) on first use."""
    from parley.engine.llamacpp.engine import cpu_threads
    from parley.engine.llamacpp.weights import requantized

    precisions = auto_precisions(gguf)
    files = [
        gguf if p is None else requantized(gguf, p, config.data_dir, cpu_threads(config))
        for p in precisions
    ]
    paths = [verdict_path(config.data_dir, file, "llamacpp") for file in files]
    verdicts = [read_verdict(path) for path in paths]
    missing = [i for i, verdict in enumerate(verdicts) if verdict is None]
    if missing:
        log.info(
            "quality gate: llama.cpp on %s against fp32 transformers (once)",
            ", ".join(files[i].name for i in missing),
        )
        measured = _measure_in_child(spec.path, [files[i] for i in missing], config)
        for i, verdict in zip(missing, measured, strict=True):
            write_verdict(paths[i], verdict)
            verdicts[i] = verdict
            log.info("%s", verdict.summary())
    return [(p, v) for p, v in zip(precisions, verdicts, strict=True) if v is not None]
