"""One conversation's channel on an instance of several: seqs from Redis, events appended to
the conversation's stream, and the stream fanned out to this instance's sockets."""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass
from typing import cast

import redis
from pydantic import BaseModel

from parley.chat.conversations.events import message_events
from parley.chat.conversations.store import ChatStore
from parley.chat.live.channels import SEQ_BLOCK, Channel, ChannelRun, SeqReserver, Subscriber
from parley.cluster.connection import ClusterConnection
from parley.cluster.keys import (
    READ_BLOCK_MS,
    READ_COUNT,
    RETRY_S,
    RunClaim,
    entries_of,
    entry_seq,
    events_key,
)
from parley.models import Conversation
from parley.protocol import ActiveRun, ReadyFrame

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Append:
    seq: int | None
    after_seq: int  # for a status frame: the seq it follows
    text: str


@dataclass(frozen=True, slots=True)
class _RunEnded:
    message_id: str
    end_seq: int


_Op = _Append | _RunEnded


class SharedChannel(Channel):
    def __init__(
        self, cluster: ClusterConnection, conversation: Conversation, reserve: SeqReserver
    ) -> None:
        super().__init__(
            conversation.id,
            conversation.owner_id,
            conversation.last_seq,
            conversation.seq_reserved,
            reserve,
        )
        self._cluster = cluster
        self._allocated = self.last_seq  # the highest seq handed to this channel
        self._appended = self.last_seq  # the highest seq published (status frames follow it)
        self._outbox: list[_Op] = []
        self._writer: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        # The last seq each subscriber has been sent, and what arrives for those joining.
        self._seen: weakref.WeakKeyDictionary[Subscriber, int] = weakref.WeakKeyDictionary()
        self._joining: dict[Subscriber, list[tuple[int | None, str]]] = {}
        self._claimed: str | None = None

    # ---------- seqs ----------

    async def reserve(self, count: int) -> None:
        top = await self._cluster.allocate(
            self.conversation_id, count, max(self.seq_reserved, self.last_seq)
        )
        self.last_seq, self._allocated = top - count, top
        if top > self.seq_reserved:
            await self._reserve(self.conversation_id, top + SEQ_BLOCK)
            self.seq_reserved = top + SEQ_BLOCK

    def next_seq(self) -> int:
        if self.last_seq >= self._allocated:
            raise RuntimeError("seq used before it was allocated")
        self.last_seq += 1
        return self.last_seq

    # ---------- events out ----------

    def publish(self, frame: BaseModel) -> None:
        seq = getattr(frame, "seq", None)
        if isinstance(seq, int):
            self._appended = max(self._appended, seq)
        self._queue(
            _Append(seq if isinstance(seq, int) else None, self._appended, frame.model_dump_json())
        )

    def end_run(self, run: ChannelRun) -> None:
        if run.message.end_seq is not None:
            self._queue(_RunEnded(run.message.id, run.message.end_seq))
        self._claimed = None

    def _queue(self, op: _Op) -> None:
        self._outbox.append(op)
        if self._writer is None or self._writer.done():
            self._writer = self._cluster.keep(
                self._write(), f"events-{self.conversation_id}", writer=True
            )

    async def _write(self) -> None:
        """Append what is queued, in order; what was queued together goes in one transaction
        (a run's last event and the end of its claim, say)."""
        while self._outbox:
            batch, self._outbox = self._outbox, []
            async with self._cluster.redis.pipeline(transaction=True) as pipe:
                for op in batch:
                    if isinstance(op, _Append):
                        entry_id = f"{op.seq}-0" if op.seq is not None else f"{op.after_seq}-*"
                        pipe.xadd(events_key(self.conversation_id), {"f": op.text}, id=entry_id)
                    else:
                        self._cluster.queue_run_closed(
                            pipe, self.conversation_id, op.message_id, op.end_seq
                        )
                try:
                    results = await pipe.execute(raise_on_error=False)
                except redis.RedisError:
                    log.exception("could not send %d event(s) to Redis", len(batch))
                    continue
            for result in results:
                if isinstance(result, Exception):
                    log.warning("Redis refused an event of %s: %s", self.conversation_id, result)

    # ---------- runs ----------

    async def claim(self, answer_id: str) -> bool:
        claim = RunClaim(
            run_id=answer_id,
            message_id=answer_id,
            conversation_id=self.conversation_id,
            instance_id=self._cluster.instance_id,
        )
        won = await self._cluster.claim(claim)
        if won:
            self._claimed = answer_id
        return won

    async def release_claim(self) -> None:
        if self._claimed is not None:
            await self._cluster.release(self.conversation_id, self._claimed)
            self._claimed = None

    # ---------- events in ----------

    async def join(self, subscriber: Subscriber, after_seq: int | None, store: ChatStore) -> None:
        held: list[tuple[int | None, str]] = []
        self._joining[subscriber] = held
        try:
            # The stream first, then the database: what was trimmed meanwhile is in the latter.
            entries = await self._cluster.entries(self.conversation_id)
            if self._reader is None or self._reader.done():
                start = entries[-1][0] if entries else "0-0"
                self._reader = self._cluster.keep(
                    self._read(start), f"fanout-{self.conversation_id}", writer=False
                )
            missed = (
                await store.messages_since(self.conversation_id, after_seq)
                if after_seq is not None
                else []
            )
            conversation = await store.conversation(self.owner_id, self.conversation_id)
            claim = await self._cluster.active_claim(self.conversation_id)
        finally:
            del self._joining[subscriber]
        streamed = [(seq, text) for entry_id, text in entries if (seq := entry_seq(entry_id))]
        top = max([conversation.last_seq if conversation else 0, *(s for s, _ in streamed)])
        subscriber.send(
            ReadyFrame(
                conversation_id=self.conversation_id,
                last_seq=top,
                active_run=ActiveRun(run_id=claim.run_id, message_id=claim.message_id)
                if claim
                else None,
            )
        )
        if after_seq is not None:
            seen = after_seq
            for message in missed:
                for event in message_events(message, after_seq):
                    if event.seq is not None and event.seq > seen:
                        subscriber.send(event)
                        seen = event.seq
            for seq, text in streamed:
                if seq > seen:
                    subscriber.put(text)
                    seen = seq
        self._seen[subscriber] = top
        for seq, text in held:
            self._deliver_to(subscriber, seq, text)
        self.subscribers.add(subscriber)

    def _deliver_to(self, subscriber: Subscriber, seq: int | None, text: str) -> None:
        if seq is not None:
            if seq <= self._seen.get(subscriber, 0):
                return
            self._seen[subscriber] = seq
        subscriber.put(text)

    def _deliver(self, seq: int | None, text: str) -> None:
        for held in self._joining.values():
            held.append((seq, text))
        for subscriber in list(self.subscribers):
            self._deliver_to(subscriber, seq, text)
            if subscriber.closed:
                self.subscribers.discard(subscriber)

    async def _read(self, last_id: str) -> None:
        """Fan the stream out to this instance's sockets until none is left."""
        key = events_key(self.conversation_id)
        while self.subscribers or self._joining:
            try:
                reply = await self._cluster.redis.xread(
                    {key: last_id}, count=READ_COUNT, block=READ_BLOCK_MS
                )
            except redis.RedisError as exc:
                log.warning("reading the events of %s from Redis failed: %s", key, exc)
                await asyncio.sleep(RETRY_S)
                continue
            for _key, raw in cast(list[tuple[str, object]], reply or []):
                for entry_id, text in entries_of(raw):
                    last_id = entry_id
                    self._deliver(entry_seq(entry_id), text)
