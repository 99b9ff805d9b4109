"""The chat layer's admission: a cap on one user's answers at once, and free engine slots going
to waiting users in turn. Driven with a stand-in engine whose answers end when told to."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Sequence

import pytest

from parley.chat.prepare.fairness import Admission, Ticket, TooManyActive
from parley.engine.base import ChatTurn, GenerationRequest, ModelCard
from parley.protocol import AnswerProgress, Finished, Queued, ToolSpec, Usage


class GatedEngine:
    """Each request's answer finishes when the test opens its gate."""

    def __init__(self) -> None:
        self.card = ModelCard(name="gated", context_length=4096)
        self.started: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}

    async def prompt_tokens(
        self,
        turns: Sequence[ChatTurn],
        *,
        enable_thinking: bool | None,
        tools: Sequence[ToolSpec] = (),
    ) -> int:
        return len(turns)

    async def generate(self, request: GenerationRequest) -> AsyncIterator[AnswerProgress]:
        self.started.append(request.request_id)
        gate = self.gates.setdefault(request.request_id, asyncio.Event())
        await gate.wait()
        yield Finished("stop", Usage(1, 1))

    def finish(self, request_id: str) -> None:
        self.gates.setdefault(request_id, asyncio.Event()).set()

    async def cancel(self, request_id: str) -> None:
        pass

    async def close(self) -> None:
        pass


def request(request_id: str) -> GenerationRequest:
    return GenerationRequest(request_id=request_id, turns=(ChatTurn("user", "hi"),))


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


class Answer:
    """One answer consumed in the background, recording the queue positions it was told."""

    def __init__(self, admission: Admission, engine: GatedEngine, user: str, name: str) -> None:
        self.ticket = admission.enter(user)
        self.positions: list[int] = []
        self.task = asyncio.create_task(self._consume(admission, engine, name))

    async def _consume(self, admission: Admission, engine: GatedEngine, name: str) -> None:
        try:
            async for event in admission.generate(self.ticket, "m", engine, request(name)):
                if isinstance(event, Queued):
                    self.positions.append(event.position)
        finally:
            self.ticket.release()


def test_a_user_gets_at_most_per_user_answers_at_once() -> None:
    admission = Admission(per_user=4, slots=64)
    tickets = [admission.enter("alice") for _ in range(4)]
    with pytest.raises(TooManyActive) as refused:
        admission.enter("alice")
    assert refused.value.code == "rate_limited" and refused.value.retry_after_s > 0
    assert admission.enter("bob").user_id == "bob"  # others are not affected
    tickets[0].release()
    tickets[0].release()  # idempotent: gives back one place, not two
    assert admission.active("alice") == 3
    tickets.append(admission.enter("alice"))
    with pytest.raises(TooManyActive):
        admission.enter("alice")


def test_a_ticket_dropped_without_release_gives_its_place_back() -> None:
    admission = Admission(per_user=1, slots=64)
    ticket: Ticket | None = admission.enter("alice")
    assert ticket is not None and not ticket.released
    ticket = None
    gc.collect()
    assert admission.active("alice") == 0
    admission.enter("alice")


async def test_free_slots_go_to_waiting_users_in_turn() -> None:
    admission = Admission(per_user=10, slots=1)
    engine = GatedEngine()
    first = Answer(admission, engine, "alice", "a1")
    await settle()
    alice = [Answer(admission, engine, "alice", f"a{n}") for n in (2, 3, 4)]
    await settle()
    bob = Answer(admission, engine, "bob", "b1")
    carol = Answer(admission, engine, "carol", "c1")
    await settle()
    # Served in turn: alice, bob, carol, then alice's others, though bob and carol came last.
    assert alice[0].positions[-1] == 1
    assert bob.positions[-1] == 2
    assert carol.positions[-1] == 3
    assert [alice[1].positions[-1], alice[2].positions[-1]] == [4, 5]
    for name in ("a1", "a2", "b1", "c1", "a3", "a4"):
        engine.finish(name)
        await settle()
    assert engine.started == ["a1", "a2", "b1", "c1", "a3", "a4"]
    await asyncio.gather(first.task, *(a.task for a in alice), bob.task, carol.task)
    assert admission.waiting("m") == 0 and admission.active("alice") == 0


async def test_a_waiting_request_given_up_leaves_the_line() -> None:
    admission = Admission(per_user=10, slots=1)
    engine = GatedEngine()
    running = Answer(admission, engine, "alice", "a1")
    await settle()
    quitter = Answer(admission, engine, "bob", "b1")
    stayer = Answer(admission, engine, "carol", "c1")
    await settle()
    assert stayer.positions[-1] == 2
    quitter.task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await quitter.task
    await settle()
    assert stayer.positions[-1] == 1  # moved up when bob gave up
    assert admission.active("bob") == 0
    engine.finish("a1")
    engine.finish("c1")
    await asyncio.gather(running.task, stayer.task)
    assert engine.started == ["a1", "c1"]


async def test_an_answer_closed_mid_stream_frees_its_slot() -> None:
    admission = Admission(per_user=10, slots=1)
    engine = GatedEngine()
    running = Answer(admission, engine, "alice", "a1")
    await settle()
    waiting = Answer(admission, engine, "bob", "b1")
    await settle()
    running.task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running.task
    await settle()
    assert engine.started == ["a1", "b1"]
    engine.finish("b1")
    await waiting.task


async def test_a_request_stopped_while_in_line_ends_without_reaching_the_engine() -> None:
    admission = Admission(per_user=10, slots=1)
    engine = GatedEngine()
    running = Answer(admission, engine, "alice", "a1")
    await settle()
    stopped = asyncio.Event()
    ticket = admission.enter("bob")
    events: list[AnswerProgress] = []

    async def consume() -> None:
        stream = admission.generate(ticket, "m", engine, request("b1"), stopped=stopped)
        async for event in stream:
            events.append(event)

    waiting = asyncio.create_task(consume())
    await settle()
    assert events == [Queued(position=1)]
    stopped.set()
    await asyncio.wait_for(waiting, 5)
    assert admission.waiting("m") == 0
    engine.finish("a1")
    await running.task
    assert engine.started == ["a1"]  # bob's request never reached the engine


async def test_an_engines_own_limit_narrows_the_models_slots() -> None:
    admission = Admission(per_user=10, slots=64)
    engine = GatedEngine()
    engine.card = ModelCard(name="remote", context_length=4096, max_concurrency=1)
    running = Answer(admission, engine, "alice", "a1")
    await settle()
    waiting = Answer(admission, engine, "bob", "b1")
    await settle()
    assert engine.started == ["a1"] and waiting.positions == [1]
    engine.finish("a1")
    engine.finish("b1")
    await asyncio.gather(running.task, waiting.task)
    assert engine.started == ["a1", "b1"]
