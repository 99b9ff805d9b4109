"""Which llama.cpp sequence id (and so which KV stream) holds what: the running requests at
consecutive ids, finished conversations kept beside them, the rest free and empty. No model
needed.

A conversation's next prompt starts with everything its last answer read and wrote, so when an
answer ends its stream stays, tagged with the tokens it holds (the prompt and the answer but
its last token, which was chosen and never read). A new request whose prompt starts with all of
a kept stream's tokens takes that stream over and reads only the rest; one that shares a start
with it but goes another way (a regenerated answer, an edited message, another branch) starts
from a copy trimmed to the common part, and the kept stream stays for its own branch while an
id is free (with none, the request takes it over: another conversation's stream is worth more
than a branch left behind). Kept streams use only ids no running request needs: a new request
evicts the least recently used.

llama.cpp forms one forward pass per run of consecutive sequence ids (llamacpp/loop.py), so
running requests stay at consecutive ids: a newcomer takes an id beside them (moving a kept
stream away from it first), and when one leaves from the middle the highest moves into its
place. With nothing running, a conversation going on runs where its stream is kept: one person
chatting moves nothing. A move is `KvStreams.copy` (llama.cpp copies a whole stream, queued
until the next decode, in order) then `clear` of the source; the cells keep their places, so
what attention computes over them does not change.

An evicted stream, and one whose own branch a request takes over, is handed to `on_evict`
first (llamacpp/saved_states.py keeps it on disk).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


class KvStreams(Protocol):
    """The KV operations the table needs, one stream per sequence id."""

    def copy(self, source: int, target: int) -> None:
        """Make `target`'s stream a copy of `source`'s (before the next decode writes)."""

    def clear(self, seq_id: int) -> None:
        """Drop every cell of `seq_id`."""

    def trim(self, seq_id: int, keep: int) -> None:
        """Drop the cells of `seq_id` at positions `keep` and later."""


@dataclass(slots=True)
class _Kept:
    tokens: list[int]
    last_used: int


@dataclass(frozen=True, slots=True)
class Claim:
    """A new request's sequence id, and how many of its prompt tokens that stream holds."""

    seq_id: int
    reused: int


def common_prefix(mine: Sequence[int], theirs: Sequence[int]) -> int:
    """How many tokens two lists share at their start (a binary search over slice
    comparisons, which run at C speed)."""
    low, high = 0, min(len(mine), len(theirs))
    while low < high:
        middle = (low + high + 1) // 2
        if mine[:middle] == theirs[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _forget(seq_id: int, tokens: list[int]) -> None:
    pass


class StreamTable:
    def __init__(
        self,
        streams: KvStreams,
        size: int,
        min_reuse: int,
        on_evict: Callable[[int, list[int]], None] = _forget,
    ) -> None:
        self._streams = streams
        # Called with a kept stream's id and tokens just before it is evicted.
        self._on_evict = on_evict
        self._size = size
        # The fewest tokens worth reusing: below it a stream is neither kept nor copied.
        self._min_reuse = min_reuse
        self._running: set[int] = set()
        self._kept: dict[int, _Kept] = {}
        self._clock = itertools.count()
        # Running ids whose streams are not to be kept when they finish (a failed step).
        self._spoiled: set[int] = set()

    @property
    def kept(self) -> int:
        return len(self._kept)

    def kept_tokens(self, seq_id: int) -> list[int] | None:
        kept = self._kept.get(seq_id)
        return None if kept is None else kept.tokens

    def kept_streams(self) -> list[tuple[int, list[int]]]:
        """Every kept stream's id and tokens."""
        return [(seq_id, kept.tokens) for seq_id, kept in self._kept.items()]

    def claim(self, prompt_ids: Sequence[int]) -> Claim:
        """The id for a new request, next to the running ones, holding the longest start of
        `prompt_ids` that a kept stream holds (never the last prompt token: reading it gives
        the first answer token)."""
        shared, source = self._best_start(prompt_ids)
        if shared < self._min_reuse:
            slot = self._next_slot(preferred=-1, spare=-1)
            self._vacate(slot, spare=-1)
            self._running.add(slot)
            return Claim(slot, 0)
        kept = self._kept[source]
        kept.last_used = next(self._clock)
        # Keeping the other branch takes a free id: never another conversation's stream.
        goes_on = shared + 1 >= len(kept.tokens) or not self._free_ids()
        if goes_on and shared + 1 < len(kept.tokens):  # Its own branch is lost.
            self._on_evict(source, kept.tokens)
        # Going on, the stream is taken over where it is when it can run there.
        slot = self._next_slot(preferred=source if goes_on else -1, spare=source)
        if not goes_on and source == slot:  # Its own branch stays, elsewhere if it can.
            target = self._target_for(slot, spare=slot)
            if target is not None:
                self._relocate(slot, target)
                source = target
        if source == slot:
            del self._kept[slot]
        elif goes_on:  # The conversation goes on: its stream moves.
            self._vacate(slot, spare=source)
            del self._kept[source]
            self._move(source, slot)
        else:  # Another branch of it: a copy, and the kept one stays for its own.
            self._vacate(slot, spare=source)
            self._streams.copy(source, slot)
        self._streams.trim(slot, shared)
        self._running.add(slot)
        return Claim(slot, shared)

    def _next_slot(self, preferred: int, spare: int) -> int:
        """Where a new request runs: beside the running ones (`preferred` if it is there),
        or with none running, at `preferred`, else a free id, else the least recently used
        kept stream's but `spare` (evicted)."""
        if self._running:
            low, high = min(self._running), max(self._running)
            beside = [i for i in (high + 1, low - 1) if 0 <= i < self._size]
            if preferred in beside:
                return preferred
            return min(beside, key=lambda i: i in self._kept)  # A free one first.
        if preferred >= 0:
            return preferred
        free = self._free_ids()
        if free:
            return max(free)
        others = [i for i in self._kept if i != spare] or [spare]
        victim = min(others, key=lambda i: self._kept[i].last_used)
        if victim != spare:
            self._evict(victim)
        return victim

    def _best_start(self, prompt_ids: Sequence[int]) -> tuple[int, int]:
        """The most prompt tokens a kept stream holds, and its id; of equals, one the prompt
        goes on from (no copy), else the most recently used."""
        best, source, rank = 0, -1, (0, False, -1)
        for seq_id, kept in self._kept.items():
            shared = min(common_prefix(prompt_ids, kept.tokens), len(prompt_ids) - 1)
            candidate = (shared, shared + 1 >= len(kept.tokens), kept.last_used)
            if candidate > rank:
                best, source, rank = shared, seq_id, candidate
        return best, source

    def release(self, finished: Sequence[tuple[int, list[int]]]) -> dict[int, int]:
        """End running requests, each with the tokens its stream holds (kept if worth it),
        and close the gaps they leave: the moved requests' ids, old to new."""
        for seq_id, tokens in finished:
            self._running.discard(seq_id)
            if len(tokens) >= self._min_reuse and seq_id not in self._spoiled:
                self._kept[seq_id] = _Kept(tokens, next(self._clock))
            else:
                self._streams.clear(seq_id)
            self._spoiled.discard(seq_id)
        moves: dict[int, int] = {}
        while self._running:
            low, high = min(self._running), max(self._running)
            gap = next((i for i in range(low, high) if i not in self._running), None)
            if gap is None:
                break
            self._vacate(gap, spare=-1)
            self._move(high, gap)
            self._running.discard(high)
            self._running.add(gap)
            moves[high] = gap
        return moves

    def spoil(self) -> None:
        """After a failed step: what the running streams hold is unknown, so none is kept,
        and the kept ones are dropped too (copies queued for that step may not have run)."""
        self._spoiled |= self._running
        for seq_id in self._kept:
            self._streams.clear(seq_id)
        self._kept.clear()

    def _vacate(self, seq_id: int, spare: int) -> None:
        """Free `seq_id` for a running request: a kept stream there moves away, or is evicted
        when there is nowhere to move it."""
        if seq_id not in self._kept:
            return
        target = self._target_for(seq_id, spare)
        if target is None:
            self._evict(seq_id)
        else:
            self._relocate(seq_id, target)

    def _target_for(self, seq_id: int, spare: int) -> int | None:
        """Where the kept stream at `seq_id` may go: a free id, else that of the least
        recently used other kept stream but `spare` (evicted); None: nowhere."""
        free = self._free_ids()
        if free:  # Far from the running ones, which grow beside them.
            return max(free, key=self._distance_from_running)
        others = [i for i in self._kept if i not in (seq_id, spare)]
        return min(others, key=lambda i: self._kept[i].last_used, default=None)

    def _free_ids(self) -> list[int]:
        taken = self._running | self._kept.keys()
        return [i for i in range(self._size) if i not in taken]

    def _distance_from_running(self, seq_id: int) -> int:
        return min((abs(seq_id - i) for i in self._running), default=seq_id)

    def _relocate(self, seq_id: int, target: int) -> None:
        """Move the kept stream at `seq_id` to `target`, evicting what is kept there."""
        if target in self._kept:
            self._evict(target)
        self._kept[target] = self._kept.pop(seq_id)
        self._move(seq_id, target)

    def _evict(self, seq_id: int) -> None:
        self._on_evict(seq_id, self._kept.pop(seq_id).tokens)
        self._streams.clear(seq_id)

    def _move(self, source: int, target: int) -> None:
        self._streams.copy(source, target)
        self._streams.clear(source)
