"""Which llama.cpp stream holds what (no model): kept conversations are reused, copied for
another branch, and evicted least recently used, while running requests keep consecutive ids
and their streams' contents."""

from __future__ import annotations

import random

import pytest

from parley.engine.llamacpp.streams import StreamTable

MIN = 4


class FakeStreams:
    """Streams as token lists; llama.cpp runs queued copies in order before anything writes,
    so copying at once is the same."""

    def __init__(self, size: int) -> None:
        self.cells: list[list[int]] = [[] for _ in range(size)]
        self.copies = 0

    def copy(self, source: int, target: int) -> None:
        self.cells[target] = list(self.cells[source])
        self.copies += 1

    def clear(self, seq_id: int) -> None:
        self.cells[seq_id] = []

    def trim(self, seq_id: int, keep: int) -> None:
        del self.cells[seq_id][keep:]


class Harness:
    def __init__(self, size: int) -> None:
        self.streams = FakeStreams(size)
        self.table = StreamTable(self.streams, size, MIN)
        # Running requests by name: (seq id, tokens read).
        self.running: dict[str, tuple[int, list[int]]] = {}

    def start(self, name: str, prompt: list[int]) -> int:
        claim = self.table.claim(prompt)
        assert self.streams.cells[claim.seq_id] == prompt[: claim.reused]
        # Reading the rest of the prompt writes it.
        self.streams.cells[claim.seq_id] = list(prompt)
        self.running[name] = (claim.seq_id, list(prompt))
        self.check()
        return claim.reused

    def finish(self, *names: str) -> None:
        ended = [self.running.pop(name) for name in names]
        moves = self.table.release(ended)
        self.running = {n: (moves.get(i, i), t) for n, (i, t) in self.running.items()}
        self.check()

    def check(self) -> None:
        ids = sorted(i for i, _ in self.running.values())
        assert ids == list(range(ids[0], ids[0] + len(ids))) if ids else True
        for seq_id, tokens in self.running.values():
            assert self.streams.cells[seq_id] == tokens
        for seq_id, cells in enumerate(self.streams.cells):
            kept = self.table.kept_tokens(seq_id)
            if kept is not None:
                assert cells == kept and seq_id not in ids
            elif seq_id not in ids:
                assert cells == []


def tokens(start: int, count: int) -> list[int]:
    return list(range(start, start + count))


def test_the_next_turn_reads_only_what_is_new_without_a_copy() -> None:
    h = Harness(4)
    turn1 = tokens(0, 20)
    h.start("a1", turn1)
    h.finish("a1")
    assert h.start("a2", [*turn1, *tokens(100, 10)]) == 20
    assert h.streams.copies == 0


def test_as_many_conversations_as_ids_taking_turns_each_keep_their_stream() -> None:
    h = Harness(3)
    system = tokens(0, 6)
    history = {name: [*system, *tokens(100 * (i + 1), 10)] for i, name in enumerate("abc")}
    for name, prompt in history.items():
        # A new conversation copies the shared system prompt from a kept one, which stays.
        assert h.start(name, prompt) in (0, len(system))
        h.finish(name)
    assert h.table.kept == 3
    copies = h.streams.copies
    for name, prompt in history.items():
        assert h.start(name, [*prompt, 7, 8, 9]) == len(prompt)
        h.finish(name)
    assert h.streams.copies == copies  # Each ran where its stream was kept.


def test_another_branch_copies_the_common_start_and_the_kept_one_stays() -> None:
    h = Harness(4)
    old = tokens(0, 30)
    h.start("first", old)
    h.finish("first")
    edited = [*old[:12], *tokens(500, 8)]
    assert h.start("edit", edited) == 12
    h.finish("edit")
    # Both branches are still there: going back to the first reads nothing again.
    assert h.start("back", [*old, 1, 2]) == len(old)


def test_without_a_free_id_another_branch_takes_the_stream_over() -> None:
    h = Harness(2)
    first, second = tokens(0, 30), tokens(1000, 30)
    for name, prompt in (("first", first), ("second", second)):
        h.start(name, prompt)
        h.finish(name)
    # Keeping the old branch would evict the second conversation: the edit takes it over.
    assert h.start("edit", [*first[:20], *tokens(500, 5)]) == 20
    h.finish("edit")
    assert h.start("second-again", [*second, 1]) == len(second)


def test_running_requests_evict_the_least_recently_used() -> None:
    h = Harness(3)
    prompts = [tokens(1000 * (i + 1), 10) for i in range(3)]
    for i, prompt in enumerate(prompts):
        h.start(f"c{i}", prompt)
        h.finish(f"c{i}")
    assert h.table.kept == 3
    h.start("c0-again", [*prompts[0], 1])  # Used now: c1 is the least recent.
    h.start("new", tokens(9000, 10))
    h.start("new2", tokens(9500, 10))
    assert h.table.kept == 0  # Three running: nothing can stay.
    h.finish("new", "new2", "c0-again")
    assert h.table.kept == 3


def test_a_step_that_ends_nothing_with_every_id_running_moves_nothing() -> None:
    h = Harness(2)
    h.start("a", tokens(0, 10))
    h.start("b", tokens(100, 10))
    h.finish()
    h.finish("a")
    assert h.table.kept == 1


def test_a_short_stream_is_not_kept() -> None:
    h = Harness(2)
    h.start("short", tokens(0, MIN - 1))
    h.finish("short")
    assert h.table.kept == 0


def test_nothing_is_kept_of_a_failed_step() -> None:
    h = Harness(3)
    h.start("done", tokens(0, 10))
    h.finish("done")
    h.start("failing", tokens(100, 10))
    h.table.spoil()
    h.streams.cells[h.running["failing"][0]] = [-1]  # What the failed step left.
    h.finish("failing")
    assert h.table.kept == 0
    assert h.start("after", tokens(100, 10)) == 0


@pytest.mark.parametrize("seed", range(20))
def test_random_turns_keep_every_stream_whole(seed: int) -> None:
    """Conversations starting, continuing, branching and finishing in any order."""
    rng = random.Random(seed)
    h = Harness(5)
    conversations: list[list[int]] = []
    for step in range(200):
        if h.running and (len(h.running) == 5 or rng.random() < 0.45):
            h.finish(*rng.sample(sorted(h.running), rng.randint(1, len(h.running))))
            continue
        if conversations and rng.random() < 0.7:
            base = rng.choice(conversations)
            cut = len(base) if rng.random() < 0.6 else rng.randint(1, len(base))
            prompt = [*base[:cut], *tokens(10_000 + step * 50, rng.randint(1, 8))]
        else:
            prompt = [*tokens(0, 5), *tokens(100_000 + step * 50, rng.randint(1, 20))]
        conversations.append(prompt)
        h.start(f"r{step}", prompt)
