"""Who may join a model's batch, and when: slots, a KV budget and queue positions. Torch-free.

Every engine that runs its own decode loop (transformers, llama.cpp) puts requests through one
`BatchQueue`: callers submit and cancel from any thread; the loop thread asks `next_changes`
between steps for the requests to start and the ids to cancel.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from parley.engine.base import EngineError
from parley.engine.sequence import SequenceState
from parley.protocol import Prefilling, Queued

S = TypeVar("S", bound=SequenceState)


@dataclass(frozen=True, slots=True)
class BatchLimits:
    max_sequences: int
    # Prompt plus answer tokens reserved by admitted requests together; one request is always
    # admitted when nothing else runs, whatever its size.
    kv_token_budget: int
    prefill_chunk_tokens: int = 256


def admissible(
    waiting_kv_tokens: Sequence[int],
    active_kv_tokens: Sequence[int],
    limits: BatchLimits,
) -> int:
    """How many of the waiting requests (their KV needs, in queue order) may start now.

    First come, first served: a request that does not fit holds back the ones behind it, so a
    long conversation is never starved by a stream of short ones."""
    active = len(active_kv_tokens)
    reserved = sum(active_kv_tokens)
    count = 0
    for needed in waiting_kv_tokens:
        if active + count >= limits.max_sequences:
            break
        if active + count and reserved + needed > limits.kv_token_budget:
            break
        count += 1
        reserved += needed
    return count


@dataclass(slots=True)
class StepChanges(Generic[S]):
    """What the loop applies before its next step."""

    admitted: list[S] = field(default_factory=list)
    cancelled: set[str] = field(default_factory=set)


class BatchQueue(Generic[S]):
    def __init__(self, limits: BatchLimits) -> None:
        self.limits = limits
        self._wake = threading.Condition()
        self._waiting: deque[S] = deque()
        self._cancel_ids: set[str] = set()
        # New arrivals learn their place in the queue before the next step.
        self._positions_stale = False
        self._closed = False

    # ---- any thread ----

    def submit(self, sequence: S) -> None:
        with self._wake:
            if self._closed:
                raise EngineError("The model is shutting down.")
            self._waiting.append(sequence)
            self._positions_stale = True
            self._wake.notify()

    def cancel(self, request_id: str) -> None:
        """A queued request ends here and now; an admitted one before the loop's next step."""
        with self._wake:
            for sequence in self._waiting:
                if sequence.request_id == request_id:
                    self._waiting.remove(sequence)
                    sequence.finish("cancelled")
                    self._report_positions()
                    return
            self._cancel_ids.add(request_id)
            self._wake.notify()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()

    # ---- the loop thread ----

    def next_changes(self, active: Sequence[S]) -> StepChanges[S] | None:
        """Wait until there is work (`active` is the loop's own), then admit what fits.

        Admitted requests hear `Prefilling`, those still waiting their `Queued` position.
        None once closed: every request still queued has then finished as cancelled."""
        with self._wake:
            while not (self._closed or self._waiting or self._cancel_ids or active):
                self._wake.wait()
            if self._closed:
                for sequence in self._waiting:
                    sequence.finish("cancelled")
                self._waiting.clear()
                return None
            changes: StepChanges[S] = StepChanges(cancelled=self._cancel_ids)
            self._cancel_ids = set()
            count = admissible(
                [s.kv_tokens for s in self._waiting], [s.kv_tokens for s in active], self.limits
            )
            changes.admitted = [self._waiting.popleft() for _ in range(count)]
            if changes.admitted or self._positions_stale:
                self._report_positions()
        for sequence in changes.admitted:
            sequence.emit(Prefilling(len(sequence.prompt_ids)))
        return changes

    def _report_positions(self) -> None:
        """Lock held."""
        self._positions_stale = False
        for position, sequence in enumerate(self._waiting, start=1):
            sequence.emit(Queued(position))
