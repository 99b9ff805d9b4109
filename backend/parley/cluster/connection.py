"""This instance's connection to the cluster's Redis: seqs, run claims and each conversation's
event stream (keys.py names the keys), and the tasks that write and read through it.

Channels, the registry and the shared counters all use one; the registry owns it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from parley.cluster.keys import (
    ALLOCATE,
    CLAIM,
    DRAIN_S,
    RUNS_KEY,
    STREAM_TTL_S,
    Entry,
    RunClaim,
    entries_of,
    events_key,
    run_key,
    seq_key,
)
from parley.models import new_id


class ClusterConnection:
    def __init__(self, url: str) -> None:
        self.url = url
        # Bytes that are not UTF-8 (Parley writes none; anyone who can publish may) read as
        # U+FFFD instead of raising inside redis-py, where they would end the reading loop.
        self.redis: aioredis.Redis = aioredis.Redis.from_url(
            url, decode_responses=True, encoding_errors="replace"
        )
        self.instance_id = new_id()
        self._allocate = self.redis.register_script(ALLOCATE)
        self._claim = self.redis.register_script(CLAIM)
        # Channels' writers and readers, held here: a channel may be dropped before they end.
        self._writers: set[asyncio.Task[None]] = set()
        self._readers: set[asyncio.Task[None]] = set()

    def keep(
        self, work: Coroutine[Any, Any, None], name: str, *, writer: bool
    ) -> asyncio.Task[None]:
        held = self._writers if writer else self._readers
        task = asyncio.create_task(work, name=name)
        held.add(task)
        task.add_done_callback(held.discard)
        return task

    async def drain(self) -> list[asyncio.Task[None]]:
        """Give pending writes a moment to reach Redis; the tasks still held, to cancel."""
        if self._writers:
            await asyncio.wait(set(self._writers), timeout=DRAIN_S)
        return [*self._writers, *self._readers]

    # ---------- seqs and claims ----------

    async def allocate(self, conversation_id: str, count: int, floor: int) -> int:
        top = await self._allocate(keys=[seq_key(conversation_id)], args=[floor, count])
        return int(cast(int, top))

    async def claim(self, claim: RunClaim) -> bool:
        won = await self._claim(
            keys=[run_key(claim.conversation_id), RUNS_KEY],
            args=[claim.model_dump_json(), claim.message_id, claim.model_dump_json()],
        )
        return bool(won)

    async def release(self, conversation_id: str, message_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(run_key(conversation_id))
            pipe.hdel(RUNS_KEY, message_id)
            await pipe.execute()

    def queue_run_closed(
        self, pipe: Pipeline, conversation_id: str, message_id: str, end_seq: int
    ) -> None:
        """A run's claim ends and its stream is trimmed to its last event, in `pipe`."""
        events = events_key(conversation_id)
        pipe.delete(run_key(conversation_id))
        pipe.hdel(RUNS_KEY, message_id)
        pipe.xtrim(events, minid=f"{end_seq}-0", approximate=False)
        pipe.expire(events, STREAM_TTL_S)

    async def entries(self, conversation_id: str) -> list[Entry]:
        return entries_of(await self.redis.xrange(events_key(conversation_id)))

    async def active_claim(self, conversation_id: str) -> RunClaim | None:
        raw = await self.redis.get(run_key(conversation_id))
        return RunClaim.model_validate_json(raw) if raw else None
