"""The stored and background responses' service on a real SQLite store: following a running
response from any sequence number, on this instance and from the table, cancel, recovery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from typing import Any

import pytest

from parley.chat.responses import ResponseNotFound, ResponseRefused, ResponseService
from parley.db import Database
from parley.models import User

Json = dict[str, Any]
WAIT_S = 10


class ScriptedJob:
    """A background job whose events the test hands it one by one (None: the end)."""

    def __init__(self, response_id: str) -> None:
        self.body: Json = {"id": response_id, "status": "queued", "output": []}
        self.feed: asyncio.Queue[Json | None] = asyncio.Queue()
        self.sequence = 0

    def send(self, kind: str) -> None:
        self.feed.put_nowait({"type": kind, "sequence_number": self.sequence})
        self.sequence += 1

    async def events(self) -> AsyncGenerator[Json]:
        self.body["status"] = "in_progress"
        while (event := await self.feed.get()) is not None:
            if event["type"] == "response.completed":
                self.body["status"] = "completed"
            yield event

    def snapshot(self) -> Json:
        return dict(self.body)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'parley.db'}")
    database.migrate()
    yield database
    database.close()


@pytest.fixture
def owner(db: Database) -> str:
    user = User(username="owner", password_hash="x")
    db.run_write(lambda session: session.add(user))
    return user.id


async def take(events: Any, count: int) -> list[Json]:
    return [await asyncio.wait_for(anext(events), WAIT_S) for _ in range(count)]


async def test_a_follower_gets_the_events_after_its_number_then_live_ones(
    db: Database, owner: str
) -> None:
    service = ResponseService(db, flush_interval_s=0.05)
    job = ScriptedJob("resp_a")
    await service.start(owner, [], job)
    for kind in ("response.created", "response.in_progress", "response.output_text.delta"):
        job.send(kind)
    follower = await service.follow(owner, "resp_a", after=1)
    assert [e["sequence_number"] for e in await take(follower, 1)] == [2]
    job.send("response.completed")
    job.feed.put_nowait(None)
    assert [e["type"] for e in await take(follower, 1)] == ["response.completed"]
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(follower), WAIT_S)
    stored = await service.get(owner, "resp_a")
    assert stored.body["status"] == "completed"
    # Ended: the same events from the table, as another instance (or a restart) reads them.
    again = ResponseService(db, flush_interval_s=0.05)
    replay = [e async for e in await again.follow(owner, "resp_a", after=-1)]
    assert [e["sequence_number"] for e in replay] == [0, 1, 2, 3]


async def test_a_cancel_stops_the_run_and_keeps_what_it_made(db: Database, owner: str) -> None:
    service = ResponseService(db, flush_interval_s=0.05)
    job = ScriptedJob("resp_b")
    await service.start(owner, [], job)
    job.send("response.created")
    follower = await service.follow(owner, "resp_b", after=-1)
    await take(follower, 1)
    cancelled = await service.cancel(owner, "resp_b")
    assert cancelled["status"] == "cancelled"
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(follower), WAIT_S)
    replay = [e async for e in await service.follow(owner, "resp_b", after=-1)]
    assert [e["type"] for e in replay] == ["response.created"]
    assert (await service.cancel(owner, "resp_b"))["status"] == "cancelled"


async def test_someone_elses_or_a_foreground_response_is_refused(db: Database, owner: str) -> None:
    service = ResponseService(db, flush_interval_s=0.05)
    await service.save(owner, {"id": "resp_c", "status": "completed"}, [])
    with pytest.raises(ResponseNotFound):
        await service.get("someone-else", "resp_c")
    with pytest.raises(ResponseNotFound):
        await service.delete("someone-else", "resp_c")
    with pytest.raises(ResponseRefused):
        await service.cancel(owner, "resp_c")
    with pytest.raises(ResponseRefused):
        await service.follow(owner, "resp_c", after=-1)
    await service.delete(owner, "resp_c")
    with pytest.raises(ResponseNotFound):
        await service.get(owner, "resp_c")


async def test_a_response_a_crash_cut_is_failed_at_start(db: Database, owner: str) -> None:
    dead = ResponseService(db, flush_interval_s=0.05)
    job = ScriptedJob("resp_d")
    await dead.start(owner, [], job)
    job.send("response.created")
    follower = await dead.follow(owner, "resp_d", after=-1)
    await take(follower, 1)
    # The process "dies": nothing saved at the end; a new one recovers at start.
    assert ResponseService(db, flush_interval_s=0.05).recover() == 1
    stored = await ResponseService(db, flush_interval_s=0.05).get(owner, "resp_d")
    assert stored.body["status"] == "failed" and stored.body["error"]["code"] == "server_error"
    await dead.shutdown()
