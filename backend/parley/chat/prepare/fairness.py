"""Who may generate now, for every transport: a cap per user, and users taken in turn.

Two rules, both plain bookkeeping a test can drive without a model:

- A user has at most `per_user` answers (runs and completions together) at once, counted from
  the moment one is accepted until it ends; one more is refused at once (`TooManyActive`).
  Instances that share a Redis count the user's answers on all of them (cluster/).
- At most `slots` answers of one model are handed to its engine at once (fewer where the
  engine's card sets `max_concurrency`, a remote's limit). The rest wait here, and a free slot
  goes to the next *user* in turn (round robin), not to the oldest request, so
  a user with many requests cannot push everyone else back. The engine's own queue then only
  ever holds what its memory budget makes wait.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import OrderedDict, deque
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, Protocol

from parley.engine.base import Engine, GenerationRequest
from parley.models import new_id
from parley.protocol import AnswerProgress, ParleyError, Queued

# What a refused client is told to wait before trying again (an answer takes seconds).
RETRY_AFTER_S = 5


class TooManyActive(ParleyError):
    default_code = "rate_limited"
    default_kind = "rate_limited"

    def __init__(self, per_user: int) -> None:
        super().__init__(
            f"You have {per_user} answers in progress, the most at once; wait for one to finish.",
            retry_after_s=RETRY_AFTER_S,
        )


class _Stopped(Exception):
    pass


class Ticket:
    """One accepted request of a user (a run, a completion, a batch of them). Each use of it
    releases once; with the last, the user's place is given back. A ticket dropped unreleased
    (a stream never started) gives it back when collected."""

    def __init__(self, admission: Admission, user_id: str) -> None:
        self.user_id = user_id
        self.id = new_id()
        self._uses = 1
        self._leave = weakref.finalize(self, admission._leave, user_id, self.id)

    def share(self) -> Ticket:
        """One more use of the same place (another answer of the same batch)."""
        self._uses += 1
        return self

    def release(self) -> None:
        self._uses = max(0, self._uses - 1)
        if self._uses == 0:
            self._leave()

    @property
    def released(self) -> bool:
        return not self._leave.alive


@dataclass(eq=False)
class _Waiter:
    user_id: str
    granted: asyncio.Future[Any]
    moved: asyncio.Event = field(default_factory=asyncio.Event)
    position: int = 0


@dataclass
class _ModelQueue:
    slots: int
    running: int = 0
    # Waiters by user; the order of the users is the order of their turns.
    waiting: OrderedDict[str, deque[_Waiter]] = field(default_factory=OrderedDict)


class AnswerCount(Protocol):
    """A user's answers in progress on every instance (instances sharing a Redis)."""

    async def enter(self, user_id: str, ticket_id: str, per_user: int) -> bool:
        """Count the ticket among the user's answers; False (not counted) at `per_user`."""
        ...

    def leave(self, user_id: str, ticket_id: str) -> None:
        """The ticket's answer ended (or was never counted): it is no longer counted."""
        ...


class Admission:
    def __init__(self, per_user: int, slots: int, everywhere: AnswerCount | None = None) -> None:
        self.per_user = per_user
        self.slots = slots
        self._active: dict[str, int] = {}
        self._models: dict[str, _ModelQueue] = {}
        self._everywhere = everywhere

    def active(self, user_id: str) -> int:
        """The user's answers in progress on this instance."""
        return self._active.get(user_id, 0)

    def enter(self, user_id: str) -> Ticket:
        """Accept one more answer of the user on this instance; raises TooManyActive beyond
        `per_user` here (`admit` counts the other instances' too)."""
        if self.active(user_id) >= self.per_user:
            raise TooManyActive(self.per_user)
        self._active[user_id] = self.active(user_id) + 1
        return Ticket(self, user_id)

    async def admit(self, user_id: str) -> Ticket:
        """Accept one more answer of the user, counted on every instance when they share a
        Redis; raises TooManyActive beyond `per_user`."""
        ticket = self.enter(user_id)  # counted here first, so concurrent admits here count
        if self._everywhere is None:
            return ticket
        try:
            admitted = await self._everywhere.enter(user_id, ticket.id, self.per_user)
        except BaseException:
            ticket.release()
            raise
        if not admitted:
            ticket.release()
            raise TooManyActive(self.per_user)
        return ticket

    def _leave(self, user_id: str, ticket_id: str) -> None:
        left = self.active(user_id) - 1
        if left > 0:
            self._active[user_id] = left
        else:
            self._active.pop(user_id, None)
        if self._everywhere is not None:
            self._everywhere.leave(user_id, ticket_id)

    async def generate(
        self,
        ticket: Ticket,
        model_id: str,
        engine: Engine,
        request: GenerationRequest,
        stopped: asyncio.Event | None = None,
    ) -> AsyncGenerator[AnswerProgress, None]:
        """The engine's progress for `request`, once it has its turn at a slot of the model;
        while it waits, `Queued` with its place in line (1 is next). When `stopped` is set
        before the engine has the request, it ends with nothing more (the caller says how)."""
        # The engine's own limit (a remote's) narrows the model's slots; a reload may change it.
        slots = min(self.slots, engine.card.max_concurrency or self.slots)
        queue = self._models.setdefault(model_id, _ModelQueue(slots))
        queue.slots = slots
        if queue.running >= queue.slots or queue.waiting:
            waiter = _Waiter(ticket.user_id, asyncio.get_running_loop().create_future())
            queue.waiting.setdefault(ticket.user_id, deque()).append(waiter)
            self._number(queue)
            try:
                told = 0
                while not waiter.granted.done():
                    # Checked again after each yield: the line may have moved meanwhile.
                    if waiter.position != told:
                        told = waiter.position
                        yield Queued(position=told)
                        continue
                    waiter.moved.clear()
                    waits: set[asyncio.Future[Any]] = {
                        waiter.granted,
                        asyncio.ensure_future(waiter.moved.wait()),
                    }
                    if stopped is not None:
                        waits.add(asyncio.ensure_future(stopped.wait()))
                    try:
                        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        for waiting in waits - {waiter.granted}:
                            waiting.cancel()
                    if stopped is not None and stopped.is_set():
                        raise _Stopped()
            except _Stopped:
                self._give_up(model_id, queue, waiter)
                return
            except BaseException:
                self._give_up(model_id, queue, waiter)
                raise
        else:
            queue.running += 1
        if stopped is not None and stopped.is_set():
            self._free(model_id)
            return
        stream = engine.generate(request)
        try:
            async for event in stream:
                yield event
        finally:
            self._free(model_id)
            if isinstance(stream, AsyncGenerator):  # closing it early cancels the request
                await stream.aclose()

    def _free(self, model_id: str) -> None:
        """A slot is free: it goes to the first waiting user's oldest request, and that user
        goes to the back of the line."""
        queue = self._models[model_id]
        queue.running -= 1
        if queue.waiting and queue.running < queue.slots:
            user_id, waiters = next(iter(queue.waiting.items()))
            waiter = waiters.popleft()
            del queue.waiting[user_id]
            if waiters:
                queue.waiting[user_id] = waiters  # re-inserted last: the next user is first
            queue.running += 1
            waiter.granted.set_result(None)
            self._number(queue)
        if queue.running == 0 and not queue.waiting:
            del self._models[model_id]

    def _give_up(self, model_id: str, queue: _ModelQueue, waiter: _Waiter) -> None:
        if waiter.granted.done():
            self._free(model_id)  # granted just as it was given up: pass the slot on
        else:
            self._forget(queue, waiter)

    def _forget(self, queue: _ModelQueue, waiter: _Waiter) -> None:
        waiters = queue.waiting[waiter.user_id]
        waiters.remove(waiter)
        if not waiters:
            del queue.waiting[waiter.user_id]
        self._number(queue)

    @staticmethod
    def _number(queue: _ModelQueue) -> None:
        """Each waiter's place in the order of service: users in turn, each one's oldest first."""
        lines = [list(waiters) for waiters in queue.waiting.values()]
        position = 0
        for depth in range(max((len(line) for line in lines), default=0)):
            for line in lines:
                if depth < len(line):
                    position += 1
                    waiter = line[depth]
                    if waiter.position != position:
                        waiter.position = position
                        waiter.moved.set()

    def waiting(self, model_id: str) -> int:
        queue = self._models.get(model_id)
        return sum(len(w) for w in queue.waiting.values()) if queue else 0
