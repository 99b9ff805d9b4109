"""Live state of a conversation in memory: its subscribers, its seq counter and its run.

A channel fans every event out to every subscriber (each open socket of the conversation),
serialising each frame once. Seqs are reserved in the database in blocks before they are
used, so a crash never makes the server hand out a seq that a client has already seen.

This is the one-process path. The registry and its channels are also the interface that
instances sharing a Redis implement (cluster/): how seqs are handed out, how events
reach subscribers, how a run is claimed, stopped and closed, and how sockets are closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel

from parley.chat.conversations.events import message_events
from parley.chat.conversations.store import ChatStore
from parley.models import Conversation, Message
from parley.protocol import ActiveRun, ReadyFrame

log = logging.getLogger(__name__)

SEQ_BLOCK = 1000
# A subscriber this far behind is cut off; it reconnects and catches up with `after_seq`.
MAX_QUEUED_FRAMES = 20_000


@dataclass(frozen=True, slots=True)
class Close:
    code: int
    reason: str = ""


Outgoing = str | Close


@dataclass(eq=False)
class Subscriber:
    user_id: str
    conversation_id: str
    # The API key the socket authenticated with (None: a login token), so deleting it closes
    # the socket.
    api_key_id: str | None = None
    queue: asyncio.Queue[Outgoing] = field(default_factory=asyncio.Queue)
    closed: bool = False

    def put(self, item: Outgoing) -> None:
        if self.closed:
            return
        if isinstance(item, Close):
            self.closed = True
        elif self.queue.qsize() >= MAX_QUEUED_FRAMES:
            self.closed = True
            item = Close(1013, "too far behind; reconnect with after_seq")
        self.queue.put_nowait(item)

    def send(self, frame: BaseModel) -> None:
        self.put(frame.model_dump_json())


@dataclass(frozen=True, slots=True)
class SocketMatch:
    """Which sockets to close: a user's, or those opened with one API key."""

    user_id: str | None = None
    api_key_id: str | None = None

    def __call__(self, subscriber: Subscriber) -> bool:
        if self.user_id is not None:
            return subscriber.user_id == self.user_id
        return self.api_key_id is not None and subscriber.api_key_id == self.api_key_id


SeqReserver = Callable[[str, int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class LiveState:
    """What a conversation's listing says beyond its row: a run in progress and the last seq
    handed out, wherever it runs."""

    generating: bool
    last_seq: int


class ChannelRun(Protocol):
    """What channels and their registries read of the run holding a conversation (live/run.py's
    Run, which publishes through its channel: a protocol, so the two need not import each other)."""

    channel: Channel
    message: Message
    done: bool

    @property
    def id(self) -> str: ...

    async def stop(self) -> None: ...

    async def wait(self, limit_s: float | None = None) -> None: ...


class Channel:
    def __init__(
        self,
        conversation_id: str,
        owner_id: str,
        last_seq: int,
        seq_reserved: int,
        reserve: SeqReserver,
    ) -> None:
        self.conversation_id = conversation_id
        self.owner_id = owner_id
        self.last_seq = last_seq
        self.seq_reserved = max(seq_reserved, last_seq)
        self.subscribers: set[Subscriber] = set()
        # The active run, or the last one until nobody is left to replay it to.
        self.run: ChannelRun | None = None
        # Serialises what changes the conversation's history: send, regenerate, connect.
        self.lock = asyncio.Lock()
        self.holders = 0
        self._reserve = reserve

    @property
    def active_run(self) -> ChannelRun | None:
        return self.run if self.run is not None and not self.run.done else None

    def seqs_needed(self, count: int) -> int:
        """How far the reservation must go to hand out `count` more seqs (0 if it already does)."""
        wanted = self.last_seq + count
        return 0 if wanted <= self.seq_reserved else wanted + SEQ_BLOCK

    def next_seq(self) -> int:
        if self.last_seq >= self.seq_reserved:
            raise RuntimeError("seq used before it was reserved")
        self.last_seq += 1
        return self.last_seq

    async def reserve(self, count: int) -> None:
        """Make sure `count` more seqs are reserved in the database."""
        target = self.seqs_needed(count)
        if target:
            await self._reserve(self.conversation_id, target)
            self.seq_reserved = max(self.seq_reserved, target)

    def publish(self, frame: BaseModel) -> None:
        text = frame.model_dump_json()
        for subscriber in list(self.subscribers):
            subscriber.put(text)
            if subscriber.closed:
                self.subscribers.discard(subscriber)

    def idle(self) -> bool:
        return not self.subscribers and self.holders == 0 and self.active_run is None

    async def claim(self, answer_id: str) -> bool:
        """Hold the conversation for a new run of answer `answer_id`; False if another
        instance holds it. In one process the lock and `active_run` already see to it."""
        return True

    async def release_claim(self) -> None:
        """Give up a claim whose run never started."""

    async def join(self, subscriber: Subscriber, after_seq: int | None, store: ChatStore) -> None:
        """Send `subscriber` `ready` and every event after `after_seq`, then live ones.
        Called with the lock held."""
        missed = (
            await store.messages_since(self.conversation_id, after_seq)
            if after_seq is not None
            else []
        )
        # From here on nothing awaits, so no event slips between the replay and live ones.
        run = self.active_run
        subscriber.send(
            ReadyFrame(
                conversation_id=self.conversation_id,
                last_seq=self.last_seq,
                active_run=ActiveRun(run_id=run.id, message_id=run.message.id) if run else None,
            )
        )
        if after_seq is not None:
            latest = self.run.message if self.run is not None else None
            for message in missed:
                source = latest if latest is not None and latest.id == message.id else message
                for event in message_events(source, after_seq):
                    if event.seq is not None and event.seq <= self.last_seq:
                        subscriber.send(event)
        self.subscribers.add(subscriber)


class ChannelRegistry:
    def __init__(self) -> None:
        self._channels: dict[str, Channel] = {}

    def create(self, conversation: Conversation, reserve: SeqReserver) -> Channel:
        return Channel(
            conversation.id,
            conversation.owner_id,
            conversation.last_seq,
            conversation.seq_reserved,
            reserve,
        )

    async def start(self) -> None:
        """Begin serving (instances sharing a Redis connect to it here)."""

    async def close(self) -> None:
        """Stop serving; runs have ended by now."""

    async def recover(self, store: ChatStore) -> int:
        """Mark the answers a dead process left `streaming` as interrupted; how many."""
        return await asyncio.to_thread(store.mark_interrupted)

    async def stop_run(self, conversation_id: str) -> bool:
        """Stop the conversation's active run; False when it has none."""
        channel = self._channels.get(conversation_id)
        run = channel.active_run if channel is not None else None
        if run is None:
            return False
        await run.stop()
        return True

    def run_ended(self, run: ChannelRun) -> None:
        self.release_if_idle(run.channel)

    async def close_sockets(self, matches: SocketMatch, close: Close) -> None:
        self.close_where(matches, close)

    async def live(self, conversation_ids: list[str]) -> dict[str, LiveState]:
        """The live state of those of the conversations that have any (this process's runs)."""
        return {
            channel.conversation_id: LiveState(channel.active_run is not None, channel.last_seq)
            for conversation_id in conversation_ids
            if (channel := self._channels.get(conversation_id)) is not None
        }

    def get(self, conversation_id: str) -> Channel | None:
        return self._channels.get(conversation_id)

    @asynccontextmanager
    async def hold(
        self, conversation_id: str, create: Callable[[], Channel]
    ) -> AsyncIterator[Channel]:
        """The conversation's one channel, kept alive while held."""
        channel = self._channels.get(conversation_id)
        if channel is None:
            channel = create()
            self._channels[conversation_id] = channel
        channel.holders += 1
        try:
            yield channel
        finally:
            channel.holders -= 1
            self.release_if_idle(channel)

    def release_if_idle(self, channel: Channel) -> None:
        if channel.idle() and self._channels.get(channel.conversation_id) is channel:
            del self._channels[channel.conversation_id]

    def unsubscribe(self, subscriber: Subscriber) -> None:
        channel = self._channels.get(subscriber.conversation_id)
        if channel is not None:
            channel.subscribers.discard(subscriber)
            self.release_if_idle(channel)

    def channels(self) -> list[Channel]:
        return list(self._channels.values())

    def close_where(self, matches: Callable[[Subscriber], bool], close: Close) -> None:
        for channel in self.channels():
            for subscriber in list(channel.subscribers):
                if matches(subscriber):
                    subscriber.put(close)
                    channel.subscribers.discard(subscriber)
            self.release_if_idle(channel)
