"""The engine manager: which models exist, loading them off the event loop, handing them out."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Literal

from parley.config import Settings
from parley.engine.base import Engine
from parley.engine.scripted import ScriptedConfig, ScriptedEngine

log = logging.getLogger(__name__)

ModelState = Literal["available", "loading", "loaded", "failed"]


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


class EngineManager:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._default = "scripted" if settings.model == "scripted" else settings.model
        self._engine: Engine | None = None
        self._error: str | None = None
        self._load_task: asyncio.Task[Engine] | None = None

    @property
    def default_model(self) -> str:
        return self._default

    def start(self) -> None:
        """Begin loading the default model in the background."""
        if self._load_task is None:
            self._load_task = asyncio.create_task(self._load())

    async def _load(self) -> Engine:
        try:
            engine = await asyncio.to_thread(self._build)
        except Exception as exc:
            self._error = str(exc) or type(exc).__name__
            log.exception("model %s failed to load", self._default)
            raise
        self._engine = engine
        return engine

    def _build(self) -> Engine:
        s = self._settings
        if s.model == "scripted":
            return ScriptedEngine(
                ScriptedConfig(
                    thinking=s.scripted_thinking,
                    answer=s.scripted_answer,
                    token_delay_s=s.scripted_token_delay_s,
                    first_token_delay_s=s.scripted_first_token_delay_s,
                )
            )
        from parley.engine.hf import load_engine

        return load_engine(s.model, settings=s)

    def resolve(self, model: str | None) -> str:
        """The id of a known model; raises ModelUnavailable for an unknown one."""
        if model is None or model == self._default:
            return self._default
        raise ModelUnavailable("unknown_model", f"No model named {model!r}.")

    async def acquire(self, model: str | None = None) -> Engine:
        """The engine for a model, waiting while it loads."""
        self.resolve(model)
        if self._engine is not None:
            return self._engine
        if self._load_task is None:
            self.start()
        assert self._load_task is not None
        try:
            return await asyncio.shield(self._load_task)
        except Exception as exc:
            raise ModelUnavailable("model_failed", f"The model failed to load: {exc}") from exc

    def statuses(self) -> list[ModelStatus]:
        state: ModelState
        if self._engine is not None:
            state = "loaded"
        elif self._error is not None:
            state = "failed"
        elif self._load_task is not None:
            state = "loading"
        else:
            state = "available"
        card = self._engine.card if self._engine is not None else None
        return [
            ModelStatus(
                id=self._default,
                state=state,
                is_default=True,
                error=self._error,
                device=card.device if card else None,
                dtype=card.dtype if card else None,
            )
        ]

    async def close(self) -> None:
        if self._load_task is not None and not self._load_task.done():
            self._load_task.cancel()
        if self._engine is not None:
            await self._engine.close()
