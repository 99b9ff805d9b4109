"""Stored responses of OpenAI's Responses API (/v1/responses): a user's responses, kept for
`GET`, `input_items` and `previous_response_id`, and the background ones, which run here in
a task of this service rather than in the request that started them.

A Response and its events are JSON here, in the shapes api/responses_schemas.py makes: this
layer keeps them and replays the events by `sequence_number`. It reads a Response's `status`
only, and sets it (with `error`) where it ends one itself: cancelled, or cut by a crash.

How a background response's events are kept: in memory while it runs, and in the
`response_events` table, written in batches every flush interval and at its end. A client
following it on the instance that runs it reads memory and wakes on each new event; on
another instance, or once it has ended (after a restart too), it reads the table, polling at
the flush interval while the response is still running elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlmodel import Session, col, func, select

from parley.db import Database
from parley.models import StoredResponse, StoredResponseEvent
from parley.protocol import ParleyError

log = logging.getLogger(__name__)

# The statuses after which a Response changes no more.
ENDED = frozenset({"completed", "incomplete", "failed", "cancelled"})

INTERRUPTED = {
    "code": "server_error",
    "message": "The server stopped before this response finished.",
}
FAILED = {"code": "server_error", "message": "The response failed."}

# How long one request may follow a background response (it may reconnect after).
FOLLOW_LIMIT_S = 3600.0

Json = dict[str, Any]


class ResponseNotFound(ParleyError):
    """No response of this id is the user's (someone else's is not found either)."""

    default_code = "response_not_found"
    default_kind = "not_found"

    def __init__(self, response_id: str, param: str) -> None:
        super().__init__(f"Response with id {response_id!r} not found.", param=param)


class ResponseRefused(ParleyError):
    """What cannot be done to this response (stream a foreground one again, ...): HTTP 400."""

    default_code = "invalid_request"
    default_kind = "malformed"

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message, param=param)


class BackgroundJob(Protocol):
    """A background response's run: its events, ending with the one that ends it, and the
    Response as it stands (a live object, which the events update)."""

    def events(self) -> AsyncGenerator[Json]: ...
    def snapshot(self) -> Json: ...


@dataclass(frozen=True, slots=True)
class Stored:
    """A stored response, as read: its Response, its input items and how it runs."""

    body: Json
    input_items: list[Json]
    background: bool


@dataclass(eq=False)
class _Live:
    """A background response running on this instance: every event so far (the list's
    index is the event's sequence_number) and a signal for those waiting on the next."""

    owner_id: str
    job: BackgroundJob
    events: list[Json] = field(default_factory=list)
    done: bool = False
    task: asyncio.Task[None] | None = None
    # Why it was stopped before its end: "cancelled", or "interrupted" by a shutdown.
    stopped: str | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, event: Json) -> None:
        self.events.append(event)
        self._notify()

    def end(self) -> None:
        self.done = True
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_past(self, count: int, timeout_s: float) -> None:
        """Until there are more than `count` events or the run has ended (or the timeout)."""
        if len(self.events) > count or self.done:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout_s)


def _detached(row: StoredResponse) -> Stored:
    return Stored(row.body, row.input_items, row.background)


class ResponseService:
    def __init__(self, db: Database, *, flush_interval_s: float) -> None:
        self._db = db
        self._flush_interval_s = flush_interval_s
        self._live: dict[str, _Live] = {}

    # ---------- stored responses ----------

    async def save(self, owner_id: str, body: Json, input_items: list[Json]) -> None:
        """Keep a foreground response that has ended."""
        row = StoredResponse(
            id=body["id"],
            owner_id=owner_id,
            status=body["status"],
            body=body,
            input_items=input_items,
        )
        await self._db.write(lambda session: session.add(row))

    async def get(self, owner_id: str, response_id: str, *, param: str = "response_id") -> Stored:
        """The user's response (a running background one as it stands now); raises
        ResponseNotFound, naming `param`, for an id that is not one of the user's."""

        def work(session: Session) -> Stored | None:
            row = session.get(StoredResponse, response_id)
            return _detached(row) if row is not None and row.owner_id == owner_id else None

        stored = await self._db.read(work)
        if stored is None:
            raise ResponseNotFound(response_id, param)
        live = self._live.get(response_id)
        if live is not None:
            return Stored(live.job.snapshot(), stored.input_items, True)
        return stored

    async def delete(self, owner_id: str, response_id: str) -> None:
        """Delete the user's response (a running one is stopped first)."""
        await self.get(owner_id, response_id)
        live = self._live.get(response_id)
        if live is not None:
            await self._stop(live, "cancelled")

        def work(session: Session) -> None:
            row = session.get(StoredResponse, response_id)
            if row is not None:
                session.delete(row)

        await self._db.write(work)

    # ---------- background responses ----------

    async def start(self, owner_id: str, input_items: list[Json], job: BackgroundJob) -> None:
        """Keep the response as it stands (queued) and run `job` in a task of this service."""
        body = job.snapshot()
        row = StoredResponse(
            id=body["id"],
            owner_id=owner_id,
            status=body["status"],
            background=True,
            body=body,
            input_items=input_items,
        )
        await self._db.write(lambda session: session.add(row))
        live = _Live(owner_id, job)
        self._live[body["id"]] = live
        live.task = asyncio.create_task(self._run(body["id"], live), name=f"response {body['id']}")

    async def _run(self, response_id: str, live: _Live) -> None:
        loop = asyncio.get_running_loop()
        saved = 0
        saved_at = loop.time()
        events = live.job.events()
        try:
            async for event in events:
                live.add(event)
                if loop.time() - saved_at >= self._flush_interval_s:
                    saved = await self._save_progress(response_id, live, saved)
                    saved_at = loop.time()
        except asyncio.CancelledError:
            # Stopped by a cancel or a shutdown (see _stop): the answer's generation ends with
            # the stream, closed here; the Response says why it stopped.
            await events.aclose()
        except Exception:
            log.exception("background response %s failed", response_id)
            live.stopped = "failed"
        body = live.job.snapshot()
        if live.stopped == "cancelled":
            body["status"] = "cancelled"
        elif live.stopped is not None:
            body["status"] = "failed"
            body["error"] = INTERRUPTED if live.stopped == "interrupted" else FAILED
        try:
            await self._save_progress(response_id, live, saved, final=body)
        finally:
            live.end()
            self._live.pop(response_id, None)

    async def _save_progress(
        self, response_id: str, live: _Live, saved: int, *, final: Json | None = None
    ) -> int:
        """Write the events not written yet and the Response as it stands; how many are."""
        fresh = live.events[saved:]
        body = final if final is not None else live.job.snapshot()

        def work(session: Session) -> None:
            row = session.get(StoredResponse, response_id)
            if row is None:
                return  # deleted while it ran
            # A write cut by a cancel may have committed in its thread all the same.
            written = session.exec(
                select(func.max(StoredResponseEvent.sequence_number)).where(
                    StoredResponseEvent.response_id == response_id
                )
            ).one()
            session.add_all(
                StoredResponseEvent(
                    response_id=response_id,
                    sequence_number=event["sequence_number"],
                    event=event,
                )
                for event in fresh
                if written is None or event["sequence_number"] > written
            )
            row.status = body["status"]
            row.body = body
            session.add(row)

        await self._db.write(work)
        return saved + len(fresh)

    async def cancel(self, owner_id: str, response_id: str) -> Json:
        """Stop the user's background response; the Response as it ended. One that has ended
        already is answered as it is."""
        stored = await self.get(owner_id, response_id)
        if not stored.background:
            raise ResponseRefused("Only background responses can be cancelled.")
        live = self._live.get(response_id)
        if live is not None:
            await self._stop(live, "cancelled")
            return (await self.get(owner_id, response_id)).body
        if stored.body["status"] not in ENDED:
            raise ResponseRefused(
                "This response runs on another instance of the server; cancel it there."
            )
        return stored.body

    async def _stop(self, live: _Live, why: str) -> None:
        if live.task is None or live.done:
            return
        live.stopped = live.stopped or why
        live.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await live.task

    async def follow(self, owner_id: str, response_id: str, after: int) -> AsyncIterator[Json]:
        """The events of the user's background response after sequence number `after`, then
        each as it is made, until the response ends."""
        stored = await self.get(owner_id, response_id)
        if not stored.background:
            raise ResponseRefused(
                "Only background responses can be streamed again.", param="stream"
            )
        live = self._live.get(response_id)
        return self._follow_live(live, after) if live else self._follow_saved(response_id, after)

    async def _follow_live(self, live: _Live, after: int) -> AsyncIterator[Json]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FOLLOW_LIMIT_S
        sent = max(after + 1, 0)
        while loop.time() < deadline:
            while sent < len(live.events):
                yield live.events[sent]
                sent += 1
            if live.done:
                return
            await live.wait_past(sent, deadline - loop.time())

    async def _follow_saved(self, response_id: str, after: int) -> AsyncIterator[Json]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FOLLOW_LIMIT_S
        while loop.time() < deadline:
            # The status first: the events an ended response made were all written with it.
            status, events = await self._db.read(
                functools.partial(self._saved_events, response_id=response_id, after=after)
            )
            for event in events:
                yield event
                after = event["sequence_number"]
            if status is None or status in ENDED:
                return
            await asyncio.sleep(self._flush_interval_s)

    @staticmethod
    def _saved_events(
        session: Session, response_id: str, after: int
    ) -> tuple[str | None, list[Json]]:
        row = session.get(StoredResponse, response_id)
        status = row.status if row is not None else None
        rows = session.exec(
            select(StoredResponseEvent)
            .where(StoredResponseEvent.response_id == response_id)
            .where(col(StoredResponseEvent.sequence_number) > after)
            .order_by(col(StoredResponseEvent.sequence_number))
        ).all()
        return status, [row.event for row in rows]

    # ---------- life cycle ----------

    def recover(self) -> int:
        """Fail the background responses a dead process left running (blocking; before
        serving, and only where no other instance may be running them): how many."""

        def work(session: Session) -> int:
            stale = session.exec(
                select(StoredResponse).where(col(StoredResponse.status).not_in(ENDED))
            ).all()
            for row in stale:
                row.body = {**row.body, "status": "failed", "error": INTERRUPTED}
                row.status = "failed"
                session.add(row)
            return len(stale)

        return self._db.run_write(work)

    async def shutdown(self) -> None:
        """Stop the background responses still running; they are kept as failed."""
        for live in list(self._live.values()):
            await self._stop(live, "interrupted")
