"""Live state of a conversation in memory: its subscribers, its seq counter and its run.

A channel fans every event out to every subscriber (each open socket of the conversation),
serialising each frame once. Seqs are reserved in the database in blocks before they are
used, so a crash never makes the server hand out a seq that a client has already seen.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:
    from parley.chat.runs import Run

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


class Channel:
    def __init__(
        self,
        conversation_id: str,
        owner_id: str,
        last_seq: int,
        seq_reserved: int,
        reserve: Callable[[str, int], Awaitable[None]],
    ) -> None:
        self.conversation_id = conversation_id
        self.owner_id = owner_id
        self.last_seq = last_seq
        self.seq_reserved = max(seq_reserved, last_seq)
        self.subscribers: set[Subscriber] = set()
        # The active run, or the last one until nobody is left to replay it to.
        self.run: Run | None = None
        # Serialises what changes the conversation's history: send, regenerate, connect.
        self.lock = asyncio.Lock()
        self.holders = 0
        self._reserve = reserve

    @property
    def active_run(self) -> Run | None:
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


class ChannelRegistry:
    def __init__(self) -> None:
        self._channels: dict[str, Channel] = {}

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
