"""The batch queue without a model: slots, the KV budget, queue positions, cancel and close."""

from __future__ import annotations

import threading
import time

import pytest

from parley.engine.base import EngineError, SamplingParams
from parley.engine.batch_queue import BatchLimits, BatchQueue, admissible
from parley.engine.sequence import SequenceState
from parley.protocol import Finished, Prefilling, Queued, Usage


def letters(ids: list[int]) -> str:
    return "".join(chr(ord("a") + i % 26) for i in ids)


def sequence(
    request_id: str, prompt_tokens: int = 3, max_new_tokens: int = 5
) -> tuple[SequenceState, list[object]]:
    events: list[object] = []
    state = SequenceState.start(
        request_id,
        list(range(prompt_tokens)),
        SamplingParams(max_tokens=max_new_tokens),
        max_new_tokens,
        letters,
        events.append,
    )
    return state, events


LIMITS = BatchLimits(max_sequences=2, kv_token_budget=100)


def test_admission_stops_at_the_slot_limit() -> None:
    assert admissible([10, 10, 10], [], LIMITS) == 2
    assert admissible([10], [10, 10], LIMITS) == 0


def test_admission_stops_at_the_kv_budget_first_come_first_served() -> None:
    limits = BatchLimits(max_sequences=8, kv_token_budget=100)
    assert admissible([60, 30, 20], [], limits) == 2
    # The head of the queue does not fit: the small one behind it waits too.
    assert admissible([60, 5], [50], limits) == 0


def test_one_request_is_admitted_alone_whatever_its_size() -> None:
    assert admissible([1000], [], LIMITS) == 1
    assert admissible([1000, 1], [], LIMITS) == 1


def test_admitted_requests_hear_prefilling_and_the_rest_their_positions() -> None:
    queue: BatchQueue[SequenceState] = BatchQueue(LIMITS)
    made = [sequence(f"r{i}") for i in range(4)]
    for state, _ in made:
        queue.submit(state)
    changes = queue.next_changes([])
    assert changes is not None
    assert [s.request_id for s in changes.admitted] == ["r0", "r1"]
    assert made[0][1] == [Prefilling(3)]
    assert made[2][1] == [Queued(1)] and made[3][1] == [Queued(2)]
    # With both slots taken, nothing more starts and nobody hears again.
    changes = queue.next_changes(changes.admitted)
    assert changes is not None and changes.admitted == []
    assert made[2][1] == [Queued(1)]


def test_a_queued_request_cancelled_ends_at_once_and_those_behind_move_up() -> None:
    queue: BatchQueue[SequenceState] = BatchQueue(BatchLimits(1, 100))
    running, _ = sequence("running")
    queue.submit(running)
    assert queue.next_changes([]) is not None
    (first, first_events), (second, second_events) = sequence("a"), sequence("b")
    queue.submit(first)
    queue.submit(second)
    changes = queue.next_changes([running])
    assert changes is not None and changes.admitted == []
    assert second_events == [Queued(2)]
    queue.cancel("a")
    assert first_events == [Queued(1), Finished("cancelled", Usage(3, 0))]
    assert second_events == [Queued(2), Queued(1)]


def test_cancelling_an_admitted_request_reaches_the_loop_before_its_next_step() -> None:
    queue: BatchQueue[SequenceState] = BatchQueue(LIMITS)
    state, events = sequence("r")
    queue.submit(state)
    assert queue.next_changes([]) is not None
    queue.cancel("r")
    changes = queue.next_changes([state])
    assert changes is not None and changes.cancelled == {"r"}
    # Ending it is the loop's job: the queue did not touch it.
    assert events == [Prefilling(3)]


def test_a_slot_freed_admits_the_next_in_line() -> None:
    queue: BatchQueue[SequenceState] = BatchQueue(BatchLimits(1, 100))
    (first, _), (second, second_events) = sequence("a"), sequence("b")
    queue.submit(first)
    queue.submit(second)
    assert queue.next_changes([]) is not None
    changes = queue.next_changes([])  # "a" has left
    assert changes is not None and changes.admitted == [second]
    assert second_events == [Queued(1), Prefilling(3)]


def test_the_kv_budget_counts_prompt_and_answer() -> None:
    queue: BatchQueue[SequenceState] = BatchQueue(BatchLimits(8, 20))
    big, _ = sequence("big", prompt_tokens=10, max_new_tokens=5)
    small, _ = sequence("small", prompt_tokens=3, max_new_tokens=3)
    queue.submit(big)
    queue.submit(small)
    changes = queue.next_changes([])
    assert changes is not None and changes.admitted == [big]
    assert big.kv_tokens == 15


def test_next_changes_waits_for_work() -> None:
    queue: BatchQueue[SequenceState] = BatchQueue(LIMITS)
    state, _ = sequence("late")
    timer = threading.Timer(0.05, queue.submit, [state])
    timer.start()
    started = time.monotonic()
    changes = queue.next_changes([])
    timer.join()
    assert changes is not None and changes.admitted == [state]
    assert time.monotonic() - started >= 0.04


def test_closing_cancels_the_queue_and_refuses_new_requests() -> None:
    queue: BatchQueue[SequenceState] = BatchQueue(BatchLimits(1, 100))
    (first, _), (second, second_events) = sequence("a"), sequence("b")
    queue.submit(first)
    queue.submit(second)
    queue.close()
    assert queue.next_changes([]) is None
    assert second_events[-1] == Finished("cancelled", Usage(3, 0))
    with pytest.raises(EngineError):
        queue.submit(sequence("c")[0])
