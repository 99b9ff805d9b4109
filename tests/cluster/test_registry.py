"""Two instances in this process, sharing one database and a real throwaway redis-server: the
shared registry and its channels (cluster/registry.py, cluster/channel.py) driven through
ChatService, without sockets or subprocesses. A run on A reaches B's subscribers through the
conversation's stream; B's busy check, stop and socket closes reach A through Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from parley.chat.errors import ChatRefused
from parley.chat.live.channels import Close
from parley.chat.live.service import CLOSE_LOGGED_OUT, Connection
from parley.protocol import (
    ChunkFrame,
    EndFrame,
    MessageFrame,
    ReadyFrame,
    SendOptions,
    ServerFrame,
    StartFrame,
    StatusFrame,
)
from tests.cluster.servers import LEASE_S, RedisServer
from tests.in_process import WAIT_S, InProcessApp, User, frames_until, next_frame, running_app

OPTIONS = SendOptions()


@dataclass
class Pair:
    a: InProcessApp
    b: InProcessApp


@pytest.fixture
async def pair(tmp_path: Path, db_url: str, redis_server: RedisServer) -> AsyncIterator[Pair]:
    """A and B; A answers at a pace a test can act within while a long answer streams."""
    shared = {"redis_url": redis_server.url, "run_lease_s": LEASE_S, "shutdown_grace_s": 0.0}
    async with (
        running_app(tmp_path, db_url, scripted_token_delay_s=0.05, **shared) as a,
        running_app(tmp_path, db_url, **shared) as b,
    ):
        yield Pair(a, b)


async def joined(
    app: InProcessApp, user: User, conversation_id: str, after_seq: int | None = None
) -> Connection:
    connection = await app.connect(user, conversation_id, after_seq)
    assert isinstance(await next_frame(connection), ReadyFrame)
    return connection


def seqd(frames: list[ServerFrame]) -> list[ServerFrame]:
    return [frame for frame in frames if not isinstance(frame, StatusFrame)]


def answer_text(frames: list[ServerFrame]) -> str:
    return "".join(frame.content for frame in frames if isinstance(frame, ChunkFrame))


LONG = " ".join(f"word{index}" for index in range(200))


async def test_a_run_on_a_streams_to_b_and_b_replays_it_from_any_seq(pair: Pair) -> None:
    user = await pair.a.new_user()
    conversation_id = await pair.a.new_conversation(user.id)
    on_a = await joined(pair.a, user, conversation_id)
    on_b = await joined(pair.b, user, conversation_id)
    await pair.a.chat.send(on_a, "short", "c-1", OPTIONS)
    here = seqd(await frames_until(on_a, "end"))
    there = seqd(await frames_until(on_b, "end"))
    assert here == there
    assert answer_text(there) == "You said: short"

    # Mid-answer from B: the stream and the database together, no gap and no duplicate.
    middle = here[len(here) // 2]
    assert not isinstance(middle, StatusFrame) and middle.seq is not None
    late = await joined(pair.b, user, conversation_id, after_seq=middle.seq)
    assert seqd(await frames_until(late, "end")) == here[here.index(middle) + 1 :]

    listed, _ = await pair.b.conversations.list_conversations(user.id, 10, None)
    assert listed[0].generating is False and listed[0].last_seq == here[-1].seq


async def test_busy_and_stop_hold_across_instances(pair: Pair) -> None:
    user = await pair.a.new_user()
    conversation_id = await pair.a.new_conversation(user.id)
    on_a = await joined(pair.a, user, conversation_id)
    on_b = await joined(pair.b, user, conversation_id)
    await pair.a.chat.send(on_a, LONG, "c-1", OPTIONS)
    await frames_until(on_b, "chunk")

    with pytest.raises(ChatRefused) as busy:
        await pair.b.chat.send(on_b, "me too", "c-2", OPTIONS)
    assert busy.value.code == "busy"
    listed, _ = await pair.b.conversations.list_conversations(user.id, 10, None)
    assert listed[0].generating is True

    await pair.b.chat.stop(on_b)  # A's run, through Redis's control channel
    for connection in (on_a, on_b):
        end = (await frames_until(connection, "end"))[-1]
        assert isinstance(end, EndFrame) and end.finish_reason == "cancelled"

    # The conversation is free again, on either instance.
    await pair.b.chat.send(on_b, "after the stop", "c-3", OPTIONS)
    frames = await frames_until(on_a, "end")
    assert isinstance(frames[0], MessageFrame) and frames[0].message.content == "after the stop"
    assert any(isinstance(frame, StartFrame) for frame in frames)


async def test_logout_on_a_closes_the_users_sockets_on_b(pair: Pair) -> None:
    user, bystander = await pair.a.new_user(), await pair.a.new_user()
    on_b = await joined(pair.b, user, await pair.a.new_conversation(user.id))
    others = await joined(pair.b, bystander, await pair.a.new_conversation(bystander.id))
    await pair.a.chat.disconnect_user(user.id)
    closed = await asyncio.wait_for(on_b.subscriber.queue.get(), WAIT_S)
    assert isinstance(closed, Close) and closed.code == CLOSE_LOGGED_OUT
    assert others.subscriber.queue.empty()
