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
from dataclasses import dataclass

from parley.config import Settings
from parley.engine.base import Engine
from parley.engine.scripted import ScriptedConfig, ScriptedEngine
from parley.engine.specs import ModelSpec, read_models_file
from parley.protocol import ModelState, ModelStatus, ModelUnavailable

log = logging.getLogger(__name__)

SCRIPTED = "scripted"


@dataclass(eq=False, slots=True)
class _Slot:
    spec: ModelSpec
    engine: Engine | None = None
    task: asyncio.Task[Engine] | None = None
    error: str | None = None
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
            raise ModelUnavailable(f"No model named {model!r}.", code="unknown_model")
        return model

    async def acquire(self, model: str | None = None) -> Engine:
        """The engine for a model, loading it (or waiting for its load) when needed."""
        slot = self._slots[self.resolve(model)]
        slot.last_used = time.monotonic()
        if slot.engine is not None:
            return slot.engine
        if slot.state == "failed":
            raise ModelUnavailable(f"The model failed to load: {slot.error}")
        task = self._begin_load(slot)
        try:
            return await asyncio.shield(task)
        except Exception as exc:
            raise ModelUnavailable(f"The model failed to load: {exc}") from exc

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
        from parley.engine.hf import load_engine

        def on_progress(fraction: float) -> None:
            slot.progress = fraction

        return load_engine(slot.spec, settings=s, on_progress=on_progress)

    def status(self, model_id: str | None = None) -> ModelStatus:
        """One model's status, the default's without an id; raises ModelUnavailable if unknown."""
        model_id = self.resolve(model_id)
        return next(s for s in self.statuses() if s.id == model_id)

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
