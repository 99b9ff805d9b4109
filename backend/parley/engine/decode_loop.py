"""The thread that runs one model's batch: between steps it admits and cancels, then it steps.

An engine subclasses `DecodeLoop` with its own step (its model, its KV cache); admission, the
cancel path and failing every request when a step raises are the same for all of them.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Generic

from parley.engine.base import EngineError
from parley.engine.batch_queue import BatchLimits, BatchQueue, S

log = logging.getLogger(__name__)

# Prompt tokens read in one step while no stream is decoding (bounds activation memory).
IDLE_PREFILL_TOKENS = 4096


class DecodeLoop(ABC, Generic[S]):
    def __init__(self, limits: BatchLimits, name: str) -> None:
        self.limits = limits
        self._queue: BatchQueue[S] = BatchQueue(limits)
        self._thread = threading.Thread(target=self._run, name=f"decode-{name}", daemon=True)

    def start(self) -> None:
        """Called by the subclass once its model is ready."""
        self._thread.start()

    # ---- any thread ----

    def submit(self, sequence: S) -> None:
        self._queue.submit(sequence)

    def cancel(self, request_id: str) -> None:
        self._queue.cancel(request_id)

    def close(self) -> None:
        self._queue.close()
        if self._thread.is_alive():
            self._thread.join()

    # ---- the loop thread ----

    def _run(self) -> None:
        while (changes := self._queue.next_changes(self.active())) is not None:
            self.admit(changes.admitted)
            if changes.cancelled:
                for sequence in self.active():
                    if sequence.request_id in changes.cancelled:
                        sequence.finish("cancelled")
                self.remove({s for s in self.active() if s.request_id in changes.cancelled})
            try:
                self.step()
            except Exception as exc:
                log.exception("the decode loop failed; failing the requests in it")
                self._end_all(EngineError(f"Generation failed: {exc}"))
        self._end_all(None)

    def _end_all(self, error: EngineError | None) -> None:
        """End every admitted request: with `error`, or as cancelled when the engine closes."""
        active = list(self.active())
        for sequence in active:
            if error is None:
                sequence.finish("cancelled")
            else:
                sequence.emit(error)
        self.remove(set(active))

    def prefill_budget(self, decoding: bool) -> int:
        """Prompt tokens to read this step. The chunk bounds how long decoding streams wait;
        with none decoding nobody waits, and one big batch reads many prompts fastest."""
        if decoding:
            return self.limits.prefill_chunk_tokens
        return max(self.limits.prefill_chunk_tokens, IDLE_PREFILL_TOKENS)

    @abstractmethod
    def active(self) -> Sequence[S]:
        """Every admitted request not yet finished: prefilling or decoding."""

    @abstractmethod
    def admit(self, sequences: Sequence[S]) -> None:
        """Take newly admitted requests (they prefill from the next step on)."""

    @abstractmethod
    def remove(self, sequences: set[S]) -> None:
        """Forget finished or cancelled requests and free their KV cache."""

    @abstractmethod
    def step(self) -> None:
        """One forward pass: prefill some prompt tokens and/or decode one token per stream."""
