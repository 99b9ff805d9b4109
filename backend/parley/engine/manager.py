"""The engine manager: which models exist, loading them off the event loop, handing them out.

The models come from `settings.models_file` (see specs.py), or else the one `settings.model`.
Each loads in a worker thread while the others keep serving; a model that fails to load keeps
its reason and harms no other. At most `settings.max_loaded_models` stay in memory: loading one
more unloads the least recently used (its running requests end as cancelled).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from parley.config import Settings
from parley.engine.base import Engine, EngineKind
from parley.engine.scripted import ScriptedConfig, ScriptedEngine
from parley.engine.specs import ModelSpec, read_models_file

if TYPE_CHECKING:
    from parley.engine.quality import Verdict

log = logging.getLogger(__name__)

ModelState = Literal["available", "loading", "loaded", "failed"]
SCRIPTED = "scripted"


class ModelUnavailable(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ModelStatus:
    id: str
    state: ModelState
    is_default: bool
    error: str | None = None
    device: str | None = None
    dtype: str | None = None
    engine: EngineKind | None = None
    # Why `auto` chose this engine (or could not use llama.cpp), once known.
    engine_note: str | None = None
    # Weights in memory while loaded.
    memory_bytes: int | None = None
    # 0..1 while loading, by stage (weights ready, model built), not by bytes read.
    progress: float | None = None


@dataclass(eq=False, slots=True)
class _Slot:
    spec: ModelSpec
    engine: Engine | None = None
    task: asyncio.Task[Engine] | None = None
    error: str | None = None
    engine_note: str | None = None
    progress: float = 0.0
    last_used: float = 0.0

    @property
    def state(self) -> ModelState:
        if self.engine is not None:
            return "loaded"
        if self.task is not None and not self.task.done():
            return "loading"
        return "failed" if self.error is not None else "available"


def _configured_specs(settings: Settings) -> list[ModelSpec]:
    if settings.models_file is not None:
        specs = read_models_file(settings.models_file)
        if not specs:
            raise ValueError(f"{settings.models_file} lists no models")
        return specs
    return [ModelSpec(id=settings.model, path=settings.model)]


@dataclass(frozen=True, slots=True)
class LoadedEngine:
    engine: Engine
    # Why this engine runs the model, when `auto` had a reason worth showing.
    note: str | None = None


def _ignore_progress(fraction: float) -> None:
    pass


def build_engine(
    spec: ModelSpec, settings: Settings, on_progress: Callable[[float], None] = _ignore_progress
) -> LoadedEngine:
    """Load a model on the engine its spec pins, or `auto`'s choice (choice.py). Blocking.

    In `auto`, llama.cpp failing to load is no failure: the model runs on transformers and the
    note says why."""
    from parley.engine.choice import plan_engine
    from parley.engine.quality import llamacpp_verdict

    def verdict_for(spec: ModelSpec, gguf: Path) -> Verdict:
        return llamacpp_verdict(spec, gguf, settings)

    plan = plan_engine(spec, settings, verdict_for)
    note = plan.note
    if plan.kind == "llamacpp":
        assert plan.gguf is not None
        try:
            from parley.engine.llamacpp import load_llamacpp_engine

            return LoadedEngine(load_llamacpp_engine(spec, plan.gguf, settings, on_progress), note)
        except Exception as exc:
            if spec.engine == "llamacpp":
                raise
            log.exception("llama.cpp failed to load %s; using transformers", spec.id)
            note = f"llama.cpp failed to load it ({exc}); on transformers"
    from parley.engine.hf import load_engine

    return LoadedEngine(load_engine(spec, settings=settings, on_progress=on_progress), note)


class EngineManager:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._slots = {spec.id: _Slot(spec) for spec in _configured_specs(settings)}
        # The configured default when the models file lists it, else the file's first model.
        self._default = settings.model if settings.model in self._slots else next(iter(self._slots))

    @property
    def default_model(self) -> str:
        return self._default

    def start(self) -> None:
        """Begin loading the default model in the background."""
        self._begin_load(self._slots[self._default])

    def resolve(self, model: str | None) -> str:
        """The id of a known model; raises ModelUnavailable for an unknown one."""
        if model is None:
            return self._default
        if model not in self._slots:
            raise ModelUnavailable("unknown_model", f"No model named {model!r}.")
        return model

    async def acquire(self, model: str | None = None) -> Engine:
        """The engine for a model, loading it (or waiting for its load) when needed."""
        slot = self._slots[self.resolve(model)]
        slot.last_used = time.monotonic()
        if slot.engine is not None:
            return slot.engine
        if slot.state == "failed":
            raise ModelUnavailable("model_failed", f"The model failed to load: {slot.error}")
        task = self._begin_load(slot)
        try:
            return await asyncio.shield(task)
        except Exception as exc:
            raise ModelUnavailable("model_failed", f"The model failed to load: {exc}") from exc

    async def load(self, model_id: str) -> None:
        """Start loading a model (again, after a failure) and return at once."""
        slot = self._slots[self.resolve(model_id)]
        slot.last_used = time.monotonic()
        if slot.state == "failed":
            slot.error = None
            slot.task = None
        self._begin_load(slot)

    async def unload(self, model_id: str) -> None:
        """Free a model's memory; a load in progress is waited for first."""
        slot = self._slots[self.resolve(model_id)]
        if slot.task is not None and not slot.task.done():
            await asyncio.wait([slot.task])
        engine, slot.engine, slot.task = slot.engine, None, None
        if engine is not None:
            log.info("unloading model %s", slot.spec.id)
            await engine.close()

    def _begin_load(self, slot: _Slot) -> asyncio.Task[Engine]:
        if slot.task is None:
            slot.progress = 0.0
            slot.task = asyncio.create_task(self._load(slot), name=f"load-{slot.spec.id}")
        return slot.task

    async def _make_room(self, incoming: _Slot) -> None:
        """Unload the least recently used models until the incoming one fits the bound."""
        others = [s for s in self._slots.values() if s is not incoming]
        resident = [s for s in others if s.state in ("loaded", "loading")]
        excess = len(resident) + 1 - self._settings.max_loaded_models
        evictable = sorted((s for s in resident if s.engine is not None), key=lambda s: s.last_used)
        for slot in evictable[: max(excess, 0)]:
            log.info("unloading %s to make room for %s", slot.spec.id, incoming.spec.id)
            await self.unload(slot.spec.id)

    async def _load(self, slot: _Slot) -> Engine:
        await self._make_room(slot)
        log.info("loading model %s from %s", slot.spec.id, slot.spec.path)
        try:
            engine = await asyncio.to_thread(self._build, slot)
        except Exception as exc:
            slot.error = str(exc) or type(exc).__name__
            log.exception("model %s failed to load", slot.spec.id)
            raise
        slot.engine = engine
        slot.progress = 1.0
        return engine

    def _build(self, slot: _Slot) -> Engine:
        """Runs in a worker thread."""
        s = self._settings
        if slot.spec.path == SCRIPTED:
            return ScriptedEngine(
                ScriptedConfig(
                    thinking=s.scripted_thinking,
                    answer=s.scripted_answer,
                    token_delay_s=s.scripted_token_delay_s,
                    first_token_delay_s=s.scripted_first_token_delay_s,
                ),
                name=slot.spec.id,
            )

        def on_progress(fraction: float) -> None:
            slot.progress = fraction

        loaded = build_engine(slot.spec, s, on_progress)
        slot.engine_note = loaded.note
        return loaded.engine

    def statuses(self) -> list[ModelStatus]:
        statuses = []
        for slot in self._slots.values():
            card = slot.engine.card if slot.engine is not None else None
            state = slot.state
            statuses.append(
                ModelStatus(
                    id=slot.spec.id,
                    state=state,
                    is_default=slot.spec.id == self._default,
                    error=slot.error if state == "failed" else None,
                    device=card.device if card else None,
                    dtype=card.dtype if card else None,
                    engine=card.engine if card else None,
                    engine_note=slot.engine_note,
                    memory_bytes=card.memory_bytes if card else None,
                    progress=slot.progress if state == "loading" else None,
                )
            )
        return statuses

    async def close(self) -> None:
        for slot in self._slots.values():
            if slot.task is not None and not slot.task.done():
                slot.task.cancel()
        engines = [slot.engine for slot in self._slots.values() if slot.engine is not None]
        for slot in self._slots.values():
            slot.engine = slot.task = None
        await asyncio.gather(*(engine.close() for engine in engines))
