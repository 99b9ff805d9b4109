"""The engine manager: which models exist, loading them off the event loop, handing them out.

The models come from the EngineConfig's `models_file` (see specs.py), or else its one `model`.
Each loads in a worker thread while the others keep serving; a model that fails to load keeps
its reason and harms no other. At most `max_loaded_models` stay in memory: loading one more
unloads the least recently used model that is answering nothing; when every other model is
answering, the load is refused (`model_unavailable`) rather than cutting an answer. Answers hold
their model with `lease`; only an administrator's `unload` cuts them.

A remote model (engine "openai") holds no memory here: loading it means connecting (its
/v1/models answers and lists it), unloading means disconnecting. Every remote is connected at
start and re-checked every `remote_check_interval_s`, so its state says whether it
answers now; one that went away shows `failed` with the reason until it is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from parley.engine.base import Engine
from parley.engine.config import EngineConfig
from parley.engine.remote.engine import RemoteEngine
from parley.engine.scripted import ScriptedEngine
from parley.engine.specs import AnySpec, ModelSpec, RemoteSpec, read_models_file
from parley.protocol import ModelState, ModelStatus, ModelUnavailable, ParleyError

if TYPE_CHECKING:
    from parley.engine.selection.quality import GatedChoice

log = logging.getLogger(__name__)

SCRIPTED = "scripted"


@dataclass(eq=False, slots=True)
class _Slot:
    spec: AnySpec
    engine: Engine | None = None
    task: asyncio.Task[Engine] | None = None
    error: str | None = None
    engine_note: str | None = None
    progress: float = 0.0
    last_used: float = 0.0
    # Answers holding the engine (see `lease`); a model with any is never unloaded for room.
    serving: int = 0
    # Remotes only: connected at start and kept checked until an administrator unloads it.
    watched: bool = False

    @property
    def is_remote(self) -> bool:
        return isinstance(self.spec, RemoteSpec)

    @property
    def state(self) -> ModelState:
        if self.engine is not None:
            # A connected remote that stopped answering its check keeps the reason.
            return "failed" if self.error is not None else "loaded"
        if self.task is not None and not self.task.done():
            # A remote being asked again after a failure stays failed until it answers.
            return "failed" if self.error is not None else "loading"
        return "failed" if self.error is not None else "available"


def _configured_specs(config: EngineConfig) -> list[AnySpec]:
    if config.models_file is not None:
        specs = read_models_file(config.models_file)
        if not specs:
            raise ValueError(f"{config.models_file} lists no models")
        return specs
    return [ModelSpec(id=config.model, path=config.model)]


@dataclass(frozen=True, slots=True)
class LoadedEngine:
    engine: Engine
    # Why this engine runs the model, when `auto` had a reason worth showing.
    note: str | None = None


def _ignore_progress(fraction: float) -> None:
    pass


def build_engine(
    spec: ModelSpec, config: EngineConfig, on_progress: Callable[[float], None] = _ignore_progress
) -> LoadedEngine:
    """Load a model on the engine its spec pins, or `auto`'s choice (choice.py). Blocking.

    In `auto`, llama.cpp failing to load is no failure: the model runs on transformers and the
    note says why."""
    from parley.engine.selection.choice import pins_llamacpp, plan_engine
    from parley.engine.selection.quality import llamacpp_verdicts

    def verdicts_for(spec: ModelSpec, gguf: Path) -> list[GatedChoice]:
        return llamacpp_verdicts(spec, gguf, config)

    plan = plan_engine(spec, config, verdicts_for)
    note = plan.note
    if plan.kind == "llamacpp":
        assert plan.gguf is not None
        try:
            from parley.engine.llamacpp.engine import cpu_threads, load_llamacpp_engine
            from parley.engine.llamacpp.weights import requantized

            gguf = plan.gguf
            if plan.precision is not None:
                gguf = requantized(gguf, plan.precision, config.data_dir, cpu_threads(config))
            return LoadedEngine(load_llamacpp_engine(spec, gguf, config, on_progress), note)
        except Exception as exc:
            if pins_llamacpp(spec):
                raise  # The models file's word is final.
            log.exception("llama.cpp failed to load %s; using transformers", spec.id)
            note = f"llama.cpp failed to load it ({exc}); on transformers"
    from parley.engine.transformers.engine import load_engine

    return LoadedEngine(load_engine(spec, config=config, on_progress=on_progress), note)


class EngineManager:
    def __init__(self, config: EngineConfig) -> None:
        self._config = config
        self._slots = {spec.id: _Slot(spec) for spec in _configured_specs(config)}
        # The configured default when the models file lists it, else the file's first model.
        self._default = config.model if config.model in self._slots else next(iter(self._slots))
        self._watcher: asyncio.Task[None] | None = None

    @property
    def default_model(self) -> str:
        return self._default

    def start(self) -> None:
        """Begin loading the default model and connecting every remote in the background."""
        self._begin_load(self._slots[self._default])
        remotes = [slot for slot in self._slots.values() if slot.is_remote]
        for slot in remotes:
            self._begin_load(slot)
        if remotes:
            self._watcher = asyncio.create_task(self._watch_remotes(), name="watch-remotes")

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
        if slot.is_remote and slot.state == "failed":
            # The last check may be stale: ask the remote again now rather than refuse.
            await self._check_remote(slot)
        if slot.engine is not None and slot.error is None:
            return slot.engine
        failed = "The model is unavailable" if slot.is_remote else "The model failed to load"
        if slot.state == "failed":
            raise ModelUnavailable(f"{failed}: {slot.error}")
        task = self._begin_load(slot)
        try:
            return await asyncio.shield(task)
        except Exception as exc:
            raise ModelUnavailable(f"{failed}: {slot.error or exc}") from exc

    @asynccontextmanager
    async def lease(self, model: str | None = None) -> AsyncIterator[Engine]:
        """The engine for one answer, loading it if needed; while the lease is held the model
        is never unloaded to make room for another. Raises ModelUnavailable."""
        model_id = self.resolve(model)
        engine = await self.acquire(model_id)
        slot = self._slots[model_id]
        slot.serving += 1  # no await since acquire returned: nothing unloads it in between
        try:
            yield engine
        finally:
            slot.serving -= 1

    async def load(self, model_id: str) -> None:
        """Start loading a model (again, after a failure) and return at once."""
        slot = self._slots[self.resolve(model_id)]
        slot.last_used = time.monotonic()
        if slot.is_remote and slot.engine is not None:
            await self._check_remote(slot)
            return
        if slot.state == "failed":
            slot.error = None
            slot.task = None
        self._begin_load(slot)

    async def unload(self, model_id: str) -> None:
        """Free a model's memory; a load in progress is waited for first."""
        slot = self._slots[self.resolve(model_id)]
        slot.watched = False
        if slot.task is not None and not slot.task.done():
            await asyncio.wait([slot.task])
        engine, slot.engine, slot.task = slot.engine, None, None
        slot.error = None
        if engine is not None:
            log.info("unloading model %s", slot.spec.id)
            await engine.close()

    def _begin_load(self, slot: _Slot) -> asyncio.Task[Engine]:
        """Start loading, having chosen (at once, so no answer can start on them meanwhile)
        the idle models that go to make room; raises ModelUnavailable when there are too few."""
        if slot.task is None:
            leaving = [] if slot.is_remote else self._make_room(slot)
            slot.progress = 0.0
            slot.task = asyncio.create_task(self._load(slot, leaving), name=f"load-{slot.spec.id}")
        return slot.task

    def _make_room(self, incoming: _Slot) -> list[Engine]:
        """Take the least recently used idle models out, until the incoming one fits the bound;
        their engines are closed by the load. Never a model that is answering."""
        # Remotes hold no memory here, so they neither count nor make room.
        others = [s for s in self._slots.values() if s is not incoming and not s.is_remote]
        resident = [s for s in others if s.state in ("loaded", "loading")]
        excess = len(resident) + 1 - self._config.max_loaded_models
        if excess <= 0:
            return []
        idle = sorted(
            (s for s in resident if s.engine is not None and s.serving == 0),
            key=lambda s: s.last_used,
        )
        if len(idle) < excess:
            raise ModelUnavailable(
                f"The model {incoming.spec.id!r} cannot be loaded now: "
                f"{self._config.max_loaded_models} model(s) fit in memory at once and the "
                "loaded ones are answering. Try again when one is idle.",
                code="model_unavailable",
            )
        leaving = []
        for slot in idle[:excess]:
            log.info("unloading %s to make room for %s", slot.spec.id, incoming.spec.id)
            assert slot.engine is not None
            leaving.append(slot.engine)
            slot.engine = slot.task = None
        return leaving

    async def _load(self, slot: _Slot, leaving: list[Engine]) -> Engine:
        spec = slot.spec
        await asyncio.gather(*(engine.close() for engine in leaving))
        try:
            if isinstance(spec, RemoteSpec):
                slot.watched = True
                log.info("connecting model %s to %s", spec.id, spec.base_url)
                engine: Engine = await RemoteEngine.connect(spec)
            else:
                log.info("loading model %s from %s", spec.id, spec.path)
                engine = await asyncio.to_thread(self._build, slot, spec)
        except ParleyError as exc:
            if exc.message != slot.error:  # a remote asked again and again: said once
                log.warning("model %s is unavailable: %s", spec.id, exc.message)
            slot.error = exc.message
            raise
        except Exception as exc:
            slot.error = str(exc) or type(exc).__name__
            log.exception("model %s failed to load", spec.id)
            raise
        slot.engine = engine
        slot.error = None
        slot.progress = 1.0
        return engine

    async def _watch_remotes(self) -> None:
        while True:
            await asyncio.sleep(self._config.remote_check_interval_s)
            watched = [slot for slot in self._slots.values() if slot.watched]
            checks = [self._check_remote(slot) for slot in watched]
            for slot, outcome in zip(
                watched, await asyncio.gather(*checks, return_exceptions=True), strict=True
            ):
                if isinstance(outcome, Exception):
                    log.error("checking model %s failed", slot.spec.id, exc_info=outcome)

    async def _check_remote(self, slot: _Slot) -> None:
        """Connect a remote that is not connected; check one that is (its state follows)."""
        if slot.task is not None and not slot.task.done():
            await asyncio.wait([slot.task])
            return
        if not isinstance(slot.engine, RemoteEngine):
            slot.task = None
            task = self._begin_load(slot)
            await asyncio.wait([task])
            if not task.cancelled():
                task.exception()  # retrieved: the reason is kept in slot.error
            return
        try:
            await slot.engine.check()
        except ParleyError as exc:
            if slot.error is None:
                log.warning("model %s is unavailable: %s", slot.spec.id, exc.message)
            slot.error = exc.message
        else:
            if slot.error is not None:
                log.info("model %s answers again", slot.spec.id)
            slot.error = None

    def _build(self, slot: _Slot, spec: ModelSpec) -> Engine:
        """Runs in a worker thread."""
        if spec.path == SCRIPTED:
            return ScriptedEngine(self._config.scripted, name=spec.id)

        def on_progress(fraction: float) -> None:
            slot.progress = fraction

        loaded = build_engine(spec, self._config, on_progress)
        slot.engine_note = loaded.note
        return loaded.engine

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
                    engine=card.engine if card else None,
                    engine_note=slot.engine_note,
                    memory_bytes=card.memory_bytes if card else None,
                    progress=slot.progress if state == "loading" else None,
                    context_length=card.context_length if card else None,
                    thinking_toggle=card.thinking_toggle if card else None,
                )
            )
        return statuses

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        for slot in self._slots.values():
            if slot.task is not None and not slot.task.done():
                slot.task.cancel()
        engines = [slot.engine for slot in self._slots.values() if slot.engine is not None]
        for slot in self._slots.values():
            slot.engine = slot.task = None
        await asyncio.gather(*(engine.close() for engine in engines))
