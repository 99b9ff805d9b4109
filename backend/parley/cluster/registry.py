"""An instance's channels when several share a Redis, and its duties to the cluster: its
lease, the runs of dead instances, other instances' stops and socket closes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import cast

import redis
from pydantic import ValidationError

from parley.chat.conversations.events import CHUNK, THINKING, end_event
from parley.chat.conversations.store import INTERRUPTED_MESSAGE, ChatStore
from parley.chat.live.channels import (
    SEQ_BLOCK,
    Channel,
    ChannelRegistry,
    ChannelRun,
    Close,
    LiveState,
    SeqReserver,
    SocketMatch,
)
from parley.cluster.channel import SharedChannel
from parley.cluster.connection import ClusterConnection
from parley.cluster.keys import (
    CONTROL_CHANNEL,
    DRAIN_S,
    READ_BLOCK_MS,
    RETRY_S,
    RUNS_KEY,
    ControlMessage,
    Entry,
    RunClaim,
    entries_of,
    entry_seq,
    events_key,
    lease_key,
    run_key,
)
from parley.models import Conversation, Message
from parley.protocol import ChunkFrame, ThinkingFrame, server_frame_adapter

log = logging.getLogger(__name__)


class SharedRegistry(ChannelRegistry):
    """The channels of this instance, and what it does for the cluster: its lease, finding
    dead instances' runs, and acting on other instances' stops and socket closes."""

    def __init__(self, url: str, store: ChatStore, lease_s: float) -> None:
        super().__init__()
        self.cluster = ClusterConnection(url)
        self.redis = self.cluster.redis
        self.instance_id = self.cluster.instance_id
        self._store = store
        self._lease_s = lease_s
        self._tasks: list[asyncio.Task[None]] = []

    def create(self, conversation: Conversation, reserve: SeqReserver) -> Channel:
        return SharedChannel(self.cluster, conversation, reserve)

    # ---------- life cycle ----------

    async def start(self) -> None:
        await self._renew()
        self._tasks = [
            asyncio.create_task(self._every_third_of_lease(self._renew), name="lease"),
            asyncio.create_task(self._every_third_of_lease(self._reap), name="reaper"),
            asyncio.create_task(self._listen(), name="control"),
        ]

    async def close(self) -> None:
        tasks = [*self._tasks, *await self.cluster.drain()]
        for task in tasks:
            task.cancel()
        # Bounded: redis-py can lose a cancel that lands inside a blocking XREAD (redis-py
        # #2028), leaving a reader looping; the connection's close below ends it.
        if tasks:
            done, _ = await asyncio.wait(tasks, timeout=DRAIN_S)
            for task in done:
                if not task.cancelled() and (error := task.exception()) is not None:
                    log.debug("cluster task %s ended with %r", task.get_name(), error)
        with contextlib.suppress(redis.RedisError):
            await self.redis.delete(lease_key(self.instance_id))
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
        await self.redis.set(lease_key(self.instance_id), "1", px=max(1, int(self._lease_s * 1000)))

    async def live(self, conversation_ids: list[str]) -> dict[str, LiveState]:
        """A run on any instance (its claim) and the last seq any has published (the top of
        the stream: a status frame's entry `n-k` follows seq `n`), with this instance's own."""
        here = await super().live(conversation_ids)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for conversation_id in conversation_ids:
                    pipe.exists(run_key(conversation_id))
                    pipe.xrevrange(events_key(conversation_id), count=1)
                replies = await pipe.execute()
        except redis.RedisError as exc:
            log.warning("Redis: the live state of conversations failed: %s", exc)
            return here  # a listing still answers, with this instance's runs
        states = {}
        for index, conversation_id in enumerate(conversation_ids):
            claimed, top = bool(replies[2 * index]), entries_of(replies[2 * index + 1])
            local = here.get(conversation_id, LiveState(generating=False, last_seq=0))
            published = int(top[0][0].partition("-")[0]) if top else 0
            if claimed or local.generating or published or local.last_seq:
                states[conversation_id] = LiveState(
                    generating=claimed or local.generating,
                    last_seq=max(published, local.last_seq),
                )
        return states

    def run_ended(self, run: ChannelRun) -> None:
        if isinstance(run.channel, SharedChannel):
            run.channel.end_run(run)
        super().run_ended(run)

    # ---------- across instances ----------

    async def stop_run(self, conversation_id: str) -> bool:
        if await super().stop_run(conversation_id):
            return True
        if await self.cluster.active_claim(conversation_id) is None:
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
                            await self._obey_raw(raw["data"])
            except redis.RedisError as exc:
                log.warning("the Redis control channel failed: %s", exc)
                await asyncio.sleep(RETRY_S)

    async def _obey_raw(self, data: str | bytes) -> None:
        """One message of the control channel; anyone who can publish there may send garbage,
        which is logged and skipped so that the listener goes on."""
        try:
            message = ControlMessage.model_validate_json(data)
        except ValidationError as exc:
            log.warning("skipped a malformed message on the Redis control channel: %s", exc)
            return
        try:
            await self._obey(message)
        except Exception:
            log.exception("could not carry out %s from the Redis control channel", message)

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
            if await self.redis.exists(lease_key(claim.instance_id)):
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
            await self.cluster.release(conversation_id, message_id)
            return
        events = events_key(conversation_id)
        _catch_up(message, await self.cluster.entries(conversation_id))
        conversation = await self._store.conversation_by_id(conversation_id)
        floor = max(conversation.seq_reserved, conversation.last_seq) if conversation else 0
        message.end_seq = await self.cluster.allocate(conversation_id, 1, floor)
        message.status = "interrupted"
        message.error_code = "interrupted"
        message.error_message = INTERRUPTED_MESSAGE
        await self._store.reserve_seqs(conversation_id, message.end_seq + SEQ_BLOCK)
        await self._store.save_answer(message, message.end_seq)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(
                events, {"f": end_event(message).model_dump_json()}, id=f"{message.end_seq}-0"
            )
            self.cluster.queue_run_closed(pipe, conversation_id, message_id, message.end_seq)
            await pipe.execute()


def _catch_up(message: Message, entries: list[Entry]) -> None:
    """Add to `message` the deltas its stream holds beyond what was saved."""
    deltas = list(message.deltas or [])
    saved = max([message.seq, *(int(delta[0]) for delta in deltas)])
    for entry_id, text in entries:
        seq = entry_seq(entry_id)
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
