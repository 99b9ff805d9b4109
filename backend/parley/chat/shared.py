"""Instances that share a Redis behave as one server (PARLEY_REDIS_URL).

Per conversation, Redis holds:

- `parley:c:{id}:seq`, the seq counter: every seq comes from one atomic INCRBY, so no two
  instances ever hand out the same one. It starts above what the database has reserved, and
  instances keep reserving in the database as one process does, so a Redis that lost its data
  never hands out a seq a client has seen.
- `parley:c:{id}:events`, the stream of the conversation's events. An event with seq `n` is
  entry `n-0`, so Redis itself refuses one out of order; a status frame (no seq) after seq
  `n` is `n-1`, `n-2`... Every instance with sockets on the conversation reads the stream and
  fans it out to them. When a run ends, its last event, the end of its claim and the trimming
  of the stream to that event go in one transaction: what was trimmed is in the database.
- `parley:c:{id}:run`, the active run's claim (SET NX): the busy check of every instance.

And for the whole cluster: `parley:runs` (answer id -> its conversation and instance),
`parley:i:{instance}` (the instance's lease, a key that expires unless renewed) and the
pub/sub channel `parley:control` (stop a run, close sockets, on every instance).

A socket joining reads the stream first, then the database, and takes live entries that
arrive meanwhile: whatever was trimmed before the stream was read is in the database read
after it, so replay after `after_seq` has no gap, and every event is sent once by seq.

When an instance dies its lease expires; within `run_lease_s + run_lease_s / 3` another one
finds its runs, saves each with all the text its stream holds as `interrupted`, and sends the
run's `error` (code `interrupted`) to every socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal, cast

import redis
import redis.asyncio as aioredis
from pydantic import BaseModel
from redis.asyncio.client import Pipeline

from parley.chat.channels import (
    SEQ_BLOCK,
    Channel,
    ChannelRegistry,
    Close,
    SeqReserver,
    SocketMatch,
    Subscriber,
)
from parley.chat.events import CHUNK, THINKING, end_event, message_events
from parley.chat.runs import Run
from parley.chat.store import INTERRUPTED_MESSAGE, ChatStore
from parley.models import Conversation, Message, new_id
from parley.protocol import ActiveRun, ChunkFrame, ReadyFrame, ThinkingFrame, server_frame_adapter

log = logging.getLogger(__name__)

RUNS_KEY = "parley:runs"
CONTROL_CHANNEL = "parley:control"
# How long one blocking read of a stream or of the control channel waits (a reader whose
# sockets have all gone notices within this).
READ_BLOCK_MS = 1000
READ_COUNT = 500
# After an error talking to Redis, a loop waits this long before trying again.
RETRY_S = 1.0
# A stream nobody has written to for this long is dropped (its events are in the database).
STREAM_TTL_S = 24 * 3600
# Shutdown waits at most this long for events still on their way to Redis.
DRAIN_S = 5.0

# Create the counter above `floor` if it is missing, then hand out `count` seqs.
_ALLOCATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[1]) end
return redis.call('INCRBY', KEYS[1], ARGV[2])
"""
# Claim the conversation for a run and list the run as this instance's, or nothing.
_CLAIM = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
  return 1
end
return 0
"""


def _seq_key(conversation_id: str) -> str:
    return f"parley:c:{conversation_id}:seq"


def _events_key(conversation_id: str) -> str:
    return f"parley:c:{conversation_id}:events"


def _run_key(conversation_id: str) -> str:
    return f"parley:c:{conversation_id}:run"


def _lease_key(instance_id: str) -> str:
    return f"parley:i:{instance_id}"


# A stream entry: its id and the frame's JSON.
Entry = tuple[str, str]


def _entries(raw: object) -> list[Entry]:
    """Stream entries as redis-py gives them (decoded): (id, {"f": frame}) pairs."""
    pairs = cast(list[tuple[str, dict[str, str]]], raw or [])
    return [(str(entry_id), str(fields["f"])) for entry_id, fields in pairs]


def _entry_seq(entry_id: str) -> int | None:
    """The seq of a stream entry; None for a status frame."""
    seq, _, part = entry_id.partition("-")
    return int(seq) if part == "0" else None


class RunClaim(BaseModel):
    run_id: str
    message_id: str
    conversation_id: str
    instance_id: str


class ControlMessage(BaseModel):
    op: Literal["stop", "close"]
    conversation_id: str | None = None
    user_id: str | None = None
    api_key_id: str | None = None
    code: int = 0
    reason: str = ""


def redacted(url: str) -> str:
    """A Redis URL fit for a log line: no password."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    return f"{scheme}{sep}***@{rest.rsplit('@', 1)[1]}"


def check_reachable(url: str) -> None:
    """Raises ValueError with one clear line when Redis at `url` does not answer."""
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        raise ValueError(
            f"cannot reach Redis at {redacted(url)} (PARLEY_REDIS_URL): {exc}"
        ) from exc
    finally:
        client.close()


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
        self, shared: SharedRegistry, conversation: Conversation, reserve: SeqReserver
    ) -> None:
        super().__init__(
            conversation.id,
            conversation.owner_id,
            conversation.last_seq,
            conversation.seq_reserved,
            reserve,
        )
        self._shared = shared
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
        top = await self._shared.allocate(
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

    def end_run(self, run: Run) -> None:
        if run.message.end_seq is not None:
            self._queue(_RunEnded(run.message.id, run.message.end_seq))
        self._claimed = None

    def _queue(self, op: _Op) -> None:
        self._outbox.append(op)
        if self._writer is None or self._writer.done():
            self._writer = self._shared.keep(
                self._write(), f"events-{self.conversation_id}", writer=True
            )

    async def _write(self) -> None:
        """Append what is queued, in order; what was queued together goes in one transaction
        (a run's last event and the end of its claim, say)."""
        while self._outbox:
            batch, self._outbox = self._outbox, []
            async with self._shared.redis.pipeline(transaction=True) as pipe:
                for op in batch:
                    if isinstance(op, _Append):
                        entry_id = f"{op.seq}-0" if op.seq is not None else f"{op.after_seq}-*"
                        pipe.xadd(_events_key(self.conversation_id), {"f": op.text}, id=entry_id)
                    else:
                        self._shared.queue_run_closed(
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
            instance_id=self._shared.instance_id,
        )
        won = await self._shared.claim(claim)
        if won:
            self._claimed = answer_id
        return won

    async def release_claim(self) -> None:
        if self._claimed is not None:
            await self._shared.release(self.conversation_id, self._claimed)
            self._claimed = None

    # ---------- events in ----------

    async def join(self, subscriber: Subscriber, after_seq: int | None, store: ChatStore) -> None:
        held: list[tuple[int | None, str]] = []
        self._joining[subscriber] = held
        try:
            # The stream first, then the database: what was trimmed meanwhile is in the latter.
            entries = await self._shared.entries(self.conversation_id)
            if self._reader is None or self._reader.done():
                start = entries[-1][0] if entries else "0-0"
                self._reader = self._shared.keep(
                    self._read(start), f"fanout-{self.conversation_id}", writer=False
                )
            missed = (
                await store.messages_since(self.conversation_id, after_seq)
                if after_seq is not None
                else []
            )
            conversation = await store.conversation(self.owner_id, self.conversation_id)
            claim = await self._shared.active_claim(self.conversation_id)
        finally:
            del self._joining[subscriber]
        streamed = [(seq, text) for entry_id, text in entries if (seq := _entry_seq(entry_id))]
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
        key = _events_key(self.conversation_id)
        while self.subscribers or self._joining:
            try:
                reply = await self._shared.redis.xread(
                    {key: last_id}, count=READ_COUNT, block=READ_BLOCK_MS
                )
            except redis.RedisError as exc:
                log.warning("reading the events of %s from Redis failed: %s", key, exc)
                await asyncio.sleep(RETRY_S)
                continue
            for _key, raw in cast(list[tuple[str, object]], reply or []):
                for entry_id, text in _entries(raw):
                    last_id = entry_id
                    self._deliver(_entry_seq(entry_id), text)


class SharedRegistry(ChannelRegistry):
    """The channels of this instance, and what it does for the cluster: its lease, finding
    dead instances' runs, and acting on other instances' stops and socket closes."""

    def __init__(self, url: str, store: ChatStore, lease_s: float) -> None:
        super().__init__()
        self.url = url
        self.redis: aioredis.Redis = aioredis.Redis.from_url(url, decode_responses=True)
        self.instance_id = new_id()
        self._store = store
        self._lease_s = lease_s
        self._allocate = self.redis.register_script(_ALLOCATE)
        self._claim = self.redis.register_script(_CLAIM)
        self._tasks: list[asyncio.Task[None]] = []
        # Channels' writers and readers, held here: a channel may be dropped before they end.
        self._writers: set[asyncio.Task[None]] = set()
        self._readers: set[asyncio.Task[None]] = set()

    def create(self, conversation: Conversation, reserve: SeqReserver) -> Channel:
        return SharedChannel(self, conversation, reserve)

    def keep(
        self, work: Coroutine[Any, Any, None], name: str, *, writer: bool
    ) -> asyncio.Task[None]:
        held = self._writers if writer else self._readers
        task = asyncio.create_task(work, name=name)
        held.add(task)
        task.add_done_callback(held.discard)
        return task

    # ---------- life cycle ----------

    async def start(self) -> None:
        await self._renew()
        self._tasks = [
            asyncio.create_task(self._every_third_of_lease(self._renew), name="lease"),
            asyncio.create_task(self._every_third_of_lease(self._reap), name="reaper"),
            asyncio.create_task(self._listen(), name="control"),
        ]

    async def close(self) -> None:
        if self._writers:
            await asyncio.wait(set(self._writers), timeout=DRAIN_S)
        tasks = [*self._tasks, *self._writers, *self._readers]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(redis.RedisError):
            await self.redis.delete(_lease_key(self.instance_id))
        await self.redis.aclose()

    async def recover(self, store: ChatStore) -> int:
        """Answers left `streaming` with no run claiming them (a whole cluster that stopped,
        a Redis that lost its data): interrupted. Claimed ones are the reaper's."""
        claimed = set(await self.redis.hkeys(RUNS_KEY))
        stale = [m for m in await store.streaming_answers() if m.id not in claimed]
        for message in stale:
            await self._interrupt(message.conversation_id, message.id)
        return len(stale)

    async def _every_third_of_lease(self, duty: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(self._lease_s / 3)
            try:
                await duty()
            except redis.RedisError as exc:
                log.warning("Redis: %s failed: %s", getattr(duty, "__name__", "duty"), exc)

    async def _renew(self) -> None:
        await self.redis.set(
            _lease_key(self.instance_id), "1", px=max(1, int(self._lease_s * 1000))
        )

    # ---------- seqs and claims ----------

    async def allocate(self, conversation_id: str, count: int, floor: int) -> int:
        top = await self._allocate(keys=[_seq_key(conversation_id)], args=[floor, count])
        return int(cast(int, top))

    async def claim(self, claim: RunClaim) -> bool:
        won = await self._claim(
            keys=[_run_key(claim.conversation_id), RUNS_KEY],
            args=[claim.model_dump_json(), claim.message_id, claim.model_dump_json()],
        )
        return bool(won)

    async def release(self, conversation_id: str, message_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(_run_key(conversation_id))
            pipe.hdel(RUNS_KEY, message_id)
            await pipe.execute()

    def queue_run_closed(
        self, pipe: Pipeline, conversation_id: str, message_id: str, end_seq: int
    ) -> None:
        """A run's claim ends and its stream is trimmed to its last event, in `pipe`."""
        events = _events_key(conversation_id)
        pipe.delete(_run_key(conversation_id))
        pipe.hdel(RUNS_KEY, message_id)
        pipe.xtrim(events, minid=f"{end_seq}-0", approximate=False)
        pipe.expire(events, STREAM_TTL_S)

    async def entries(self, conversation_id: str) -> list[Entry]:
        return _entries(await self.redis.xrange(_events_key(conversation_id)))

    async def active_claim(self, conversation_id: str) -> RunClaim | None:
        raw = await self.redis.get(_run_key(conversation_id))
        return RunClaim.model_validate_json(raw) if raw else None

    def run_ended(self, run: Run) -> None:
        if isinstance(run.channel, SharedChannel):
            run.channel.end_run(run)
        super().run_ended(run)

    # ---------- across instances ----------

    async def stop_run(self, conversation_id: str) -> bool:
        if await super().stop_run(conversation_id):
            return True
        if await self.active_claim(conversation_id) is None:
            return False
        await self._tell(ControlMessage(op="stop", conversation_id=conversation_id))
        return True

    async def close_sockets(self, matches: SocketMatch, close: Close) -> None:
        self.close_where(matches, close)
        await self._tell(
            ControlMessage(
                op="close",
                user_id=matches.user_id,
                api_key_id=matches.api_key_id,
                code=close.code,
                reason=close.reason,
            )
        )

    async def _tell(self, message: ControlMessage) -> None:
        await self.redis.publish(CONTROL_CHANNEL, message.model_dump_json())

    async def _listen(self) -> None:
        """Carry out what other instances ask of every instance."""
        while True:
            try:
                async with self.redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(CONTROL_CHANNEL)
                    while True:
                        raw = await pubsub.get_message(timeout=READ_BLOCK_MS / 1000)
                        if raw is not None:
                            await self._obey(ControlMessage.model_validate_json(raw["data"]))
            except redis.RedisError as exc:
                log.warning("the Redis control channel failed: %s", exc)
                await asyncio.sleep(RETRY_S)

    async def _obey(self, message: ControlMessage) -> None:
        if message.op == "stop" and message.conversation_id is not None:
            await ChannelRegistry.stop_run(self, message.conversation_id)
        elif message.op == "close":
            matches = SocketMatch(user_id=message.user_id, api_key_id=message.api_key_id)
            self.close_where(matches, Close(message.code, message.reason))

    # ---------- instances that die ----------

    async def _reap(self) -> None:
        """Interrupt the runs of instances whose lease has expired."""
        runs = cast(dict[str, str], await self.redis.hgetall(RUNS_KEY))
        for message_id, raw in runs.items():
            claim = RunClaim.model_validate_json(raw)
            if claim.instance_id == self.instance_id:
                continue
            if await self.redis.exists(_lease_key(claim.instance_id)):
                continue
            # HDEL answers 1 to one instance only: that one interrupts the run.
            if await self.redis.hdel(RUNS_KEY, message_id):
                log.warning(
                    "instance %s is gone: its answer %s is interrupted",
                    claim.instance_id,
                    message_id,
                )
                await self._interrupt(claim.conversation_id, message_id)

    async def _interrupt(self, conversation_id: str, message_id: str) -> None:
        """Save a dead run's answer with every delta its stream holds as `interrupted`, and
        send its `error` to every socket."""
        message = await self._store.message(message_id)
        if message is None or message.status != "streaming":
            await self.release(conversation_id, message_id)
            return
        events = _events_key(conversation_id)
        _catch_up(message, await self.entries(conversation_id))
        conversation = await self._store.conversation_by_id(conversation_id)
        floor = max(conversation.seq_reserved, conversation.last_seq) if conversation else 0
        message.end_seq = await self.allocate(conversation_id, 1, floor)
        message.status = "interrupted"
        message.error_code = "interrupted"
        message.error_message = INTERRUPTED_MESSAGE
        await self._store.reserve_seqs(conversation_id, message.end_seq + SEQ_BLOCK)
        await self._store.save_answer(message, message.end_seq)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(
                events, {"f": end_event(message).model_dump_json()}, id=f"{message.end_seq}-0"
            )
            self.queue_run_closed(pipe, conversation_id, message_id, message.end_seq)
            await pipe.execute()


def _catch_up(message: Message, entries: list[Entry]) -> None:
    """Add to `message` the deltas its stream holds beyond what was saved."""
    deltas = list(message.deltas or [])
    saved = max([message.seq, *(int(delta[0]) for delta in deltas)])
    for entry_id, text in entries:
        seq = _entry_seq(entry_id)
        if seq is None or seq <= saved:
            continue
        frame = server_frame_adapter.validate_json(text)
        if isinstance(frame, ThinkingFrame):
            message.thinking += frame.content
            deltas.append([seq, THINKING, len(frame.content)])
        elif isinstance(frame, ChunkFrame):
            message.content += frame.content
            deltas.append([seq, CHUNK, len(frame.content)])
    message.deltas = deltas
