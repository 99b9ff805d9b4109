"""Limits that instances sharing a Redis count together: the login throttle, each user's
answers in progress and open sockets, against a real redis-server, then through two real
instances; and the REST state of a conversation whose run is on the other instance."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from websockets.exceptions import ConnectionClosed

from parley.accounts.throttle import SharedLoginThrottle
from parley.chat.conversations.store import ChatStore
from parley.chat.prepare.fairness import Admission, Ticket, TooManyActive
from parley.cluster.counters import SharedAnswerCount, SharedSocketCounts
from parley.cluster.keys import sockets_key
from parley.cluster.registry import SharedRegistry
from parley.db import Database
from tests.cluster.conftest import Pair, PairFactory
from tests.cluster.servers import LEASE_S, RedisServer
from tests.cluster.test_two_instances import LONG, on
from tests.helpers import error_code, login, new_account
from tests.integration.ws import ChatSocket, ChatUser, new_user, reopened, text_of

# ---------- the login throttle in Redis ----------


@pytest.fixture
async def client(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    connection = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    yield connection
    await connection.aclose()


async def test_failures_on_two_instances_add_up(client: aioredis.Redis) -> None:
    here, there = SharedLoginThrottle(client), SharedLoginThrottle(client)
    for throttle in (here, there, here, there, here):
        assert await throttle.attempt("alice", "10.0.0.1") is None
    for throttle in (here, there):
        retry_after = await throttle.attempt("alice", "10.0.0.1")
        assert retry_after is not None and 299 <= retry_after <= 300
    # Per username (case-insensitively) and address.
    assert await there.attempt("ALICE", "10.0.0.1") is not None
    assert await there.attempt("alice", "10.0.0.2") is None
    assert await there.attempt("bob", "10.0.0.1") is None


async def test_a_success_clears_the_username_and_takes_back_one_address_failure(
    client: aioredis.Redis,
) -> None:
    throttle = SharedLoginThrottle(client, max_address_failures=10)
    for index in range(9):
        assert await throttle.attempt(f"user{index}", "10.0.0.1") is None
    for _ in range(4):
        assert await throttle.attempt("owner", "10.0.0.2") is None
    await throttle.succeeded("owner", "10.0.0.2")
    for _ in range(5):
        assert await throttle.attempt("owner", "10.0.0.2") is None
    # A valid login does not wipe the address's failures: one account cannot launder a spray.
    assert await throttle.attempt("owner", "10.0.0.1") is None
    await throttle.succeeded("owner", "10.0.0.1")
    assert await throttle.attempt("stranger", "10.0.0.1") is None  # the tenth
    assert await throttle.attempt("stranger", "10.0.0.1") is not None


async def test_an_address_spraying_usernames_is_stopped(client: aioredis.Redis) -> None:
    throttle = SharedLoginThrottle(client, max_address_failures=30)
    for index in range(30):
        assert await throttle.attempt(f"user{index}", "10.0.0.1") is None
    retry_after = await throttle.attempt("a-fresh-name", "10.0.0.1")
    assert retry_after is not None and 0 < retry_after <= 300
    assert await throttle.attempt("a-fresh-name", "10.0.0.2") is None


async def test_the_window_frees_the_username_again_and_keys_expire(
    client: aioredis.Redis,
) -> None:
    """The window is the behaviour under test, so it is short and the test polls (a refused
    attempt counts nothing) until it has passed, within a bounded deadline."""
    window_s = 0.3
    throttle = SharedLoginThrottle(client, window_s=window_s)
    first_at = time.monotonic()
    for _ in range(5):
        assert await throttle.attempt("alice", "10.0.0.1") is None
    blocked_at = time.monotonic()
    assert await throttle.attempt("alice", "10.0.0.1") == 1
    while await throttle.attempt("alice", "10.0.0.1") is not None:
        assert time.monotonic() - blocked_at < window_s + 5, "the window never passed"
        await asyncio.sleep(0.02)
    # Freed no sooner than a window after the first failure (Redis counts whole ms).
    assert time.monotonic() - first_at >= window_s - 0.01
    freed_at = time.monotonic()
    while await client.keys("parley:login:*"):  # nothing kept past the window
        assert time.monotonic() - freed_at < window_s + 5, "the keys never expired"
        await asyncio.sleep(0.02)


# ---------- a user's answers on every instance ----------


@pytest.fixture
def store(tmp_path: Path) -> ChatStore:
    database = Database(f"sqlite:///{tmp_path / 'parley.db'}")
    database.migrate()
    return ChatStore(database)


async def instance(redis_server: RedisServer, store: ChatStore) -> SharedRegistry:
    registry = SharedRegistry(redis_server.url, store, lease_s=LEASE_S)
    await registry.start()
    return registry


async def admit_within(admission: Admission, user_id: str, timeout_s: float = 10.0) -> Ticket:
    """Admitted once the other instance's answer has been uncounted (that goes on its way)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await admission.admit(user_id)
        except TooManyActive:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def test_the_per_user_cap_counts_every_instance(
    redis_server: RedisServer, store: ChatStore
) -> None:
    registries = [await instance(redis_server, store), await instance(redis_server, store)]
    try:
        a, b = (Admission(2, 8, SharedAnswerCount(registry.cluster)) for registry in registries)
        held = [await a.admit("alice"), await b.admit("alice")]
        for admission in (a, b):
            with pytest.raises(TooManyActive):
                await admission.admit("alice")
        assert a.active("alice") == b.active("alice") == 1  # refused ones hold nothing
        assert (await b.admit("bob")).user_id == "bob"  # others are not affected
        held[0].release()
        held.append(await admit_within(b, "alice"))
        with pytest.raises(TooManyActive):
            await a.admit("alice")
    finally:
        for registry in registries:
            await registry.close()


async def test_an_instance_that_is_gone_no_longer_counts(
    redis_server: RedisServer, store: ChatStore
) -> None:
    gone, alive = await instance(redis_server, store), await instance(redis_server, store)
    try:
        before = Admission(1, 8, SharedAnswerCount(gone.cluster))
        after = Admission(1, 8, SharedAnswerCount(alive.cluster))
        held = await before.admit("alice")
        with pytest.raises(TooManyActive):
            await after.admit("alice")
        await gone.close()  # its lease is gone, as when it expires
        assert (await after.admit("alice")).user_id == "alice"
        assert not held.released
    finally:
        await alive.close()


# ---------- a user's open sockets on every instance ----------

# Short, so a dead instance's sockets stop counting within a test.
HOLD_S = 0.6


async def take_within(
    counts: SharedSocketCounts, socket_id: str, limit: int, timeout_s: float
) -> float:
    """Seconds until `counts` lets alice's socket in (the others count until then)."""
    started = time.monotonic()
    while not await counts.take("alice", socket_id, limit):
        assert time.monotonic() - started < timeout_s, "the other sockets never stopped counting"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_sockets_on_two_instances_count_together(
    redis_server: RedisServer, store: ChatStore
) -> None:
    registries = [await instance(redis_server, store), await instance(redis_server, store)]
    try:
        a, b = (SharedSocketCounts(registry.cluster, LEASE_S) for registry in registries)
        assert await a.take("alice", "a1", 2) and await b.take("alice", "b1", 2)
        for counts, socket_id in ((a, "a2"), (b, "b2")):
            assert not await counts.take("alice", socket_id, 2)
        assert await b.take("bob", "b3", 2)  # others are not affected
        a.release("alice", "a1")  # uncounted in Redis on its way, so b may wait a moment
        await take_within(b, "b4", 2, timeout_s=10)
        assert not await a.take("alice", "a3", 2)
    finally:
        for registry in registries:
            await registry.close()


async def test_a_dead_instances_sockets_stop_counting_within_the_hold(
    redis_server: RedisServer, store: ChatStore
) -> None:
    """Renewed, a socket counts past its first hold; once its instance stops renewing (gone,
    without uncounting it), it stops counting within one hold."""
    gone, alive = await instance(redis_server, store), await instance(redis_server, store)
    try:
        before = SharedSocketCounts(gone.cluster, HOLD_S)
        after = SharedSocketCounts(alive.cluster, HOLD_S)
        assert await before.take("alice", "gone", 1)
        taken_at = time.monotonic()
        while time.monotonic() - taken_at < 3 * HOLD_S:
            assert not await after.take("alice", "refused", 1)
            await asyncio.sleep(0.05)
        await gone.close()  # its renewal ends; its socket is never released
        assert await take_within(after, "alive", 1, timeout_s=HOLD_S + 5) <= HOLD_S + 1
        ttl_ms = redis_server.client().pttl(sockets_key("alice"))
        assert 0 < ttl_ms <= HOLD_S * 1000  # the key itself goes with the last hold
    finally:
        await alive.close()


async def test_closing_an_instance_ends_its_renewal_even_inside_a_command(
    redis_server: RedisServer, store: ChatStore
) -> None:
    """Renewing every 2 ms, a close often lands inside a renewal's Redis command, where
    redis-py may turn the cancel into an error or lose it; the renewal ends all the same, so
    every hold runs out."""
    client = redis_server.client()
    for attempt in range(30):
        registry = await instance(redis_server, store)
        counts = SharedSocketCounts(registry.cluster, 0.006)
        socket_id = f"s{attempt}"
        assert await counts.take("alice", socket_id, 100)
        first = client.zscore(sockets_key("alice"), socket_id)
        deadline = time.monotonic() + 5
        while client.zscore(sockets_key("alice"), socket_id) == first:  # renewed once
            assert time.monotonic() < deadline, "the hold was never renewed"
            await asyncio.sleep(0)
        await registry.close()
    deadline = time.monotonic() + 5
    while client.exists(sockets_key("alice")):
        assert time.monotonic() < deadline, client.zrange(sockets_key("alice"), 0, -1)
        await asyncio.sleep(0.02)


async def test_without_redis_a_socket_is_let_in_on_this_instances_count(
    redis_server: RedisServer, store: ChatStore, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis failing locks no one out: the cap holds per instance, a warning says why, and
    once Redis is back the renewal counts the sockets let in meanwhile."""
    registry = await instance(redis_server, store)
    try:
        counts = SharedSocketCounts(registry.cluster, HOLD_S)
        redis_server.stop()
        with caplog.at_level(logging.WARNING, logger="parley.cluster.counters"):
            assert await counts.take("alice", "s1", 2) and await counts.take("alice", "s2", 2)
        assert "let in on this instance's count" in caplog.text
        assert not await counts.take("alice", "s3", 2)
        redis_server.start()
        client, deadline = redis_server.client(), time.monotonic() + 10
        while set(client.zrange(sockets_key("alice"), 0, -1)) != {"s1", "s2"}:
            assert time.monotonic() < deadline, "the renewal never counted them in Redis"
            await asyncio.sleep(0.05)
        counts.release("alice", "s1")
        while client.zrange(sockets_key("alice"), 0, -1) != ["s2"]:
            assert time.monotonic() < deadline, "a released socket was never uncounted"
            await asyncio.sleep(0.05)
    finally:
        await registry.close()


async def test_conversation_state_without_redis_answers_with_this_instances_runs(
    redis_server: RedisServer, store: ChatStore
) -> None:
    registry = await instance(redis_server, store)
    try:
        redis_server.stop()
        assert await registry.live(["no-such-conversation"]) == {}
    finally:
        await registry.close()


# ---------- through two instances ----------


def test_failed_logins_on_both_instances_add_up(pair: Pair) -> None:
    with (
        httpx.Client(base_url=pair.a.base_url, timeout=30) as on_a,
        httpx.Client(base_url=pair.b.base_url, timeout=30) as on_b,
    ):
        account = new_account(on_a)
        for client in (on_a, on_b, on_a, on_b, on_a):
            assert login(client, account.username, "wrong password").status_code == 401
        for client in (on_b, on_a):
            response = login(client, account.username)  # even with the right password
            assert response.status_code == 429, response.text
            assert error_code(response) == "too_many_attempts"
            retry_after = response.headers["Retry-After"]
            assert retry_after.isdigit() and 0 < int(retry_after) <= 300


async def test_a_user_at_the_cap_on_a_is_refused_on_b(pair_factory: PairFactory) -> None:
    pair = pair_factory(max_active_per_user="1")
    user = new_user(pair.a)
    busy, other = user.new_conversation(), user.new_conversation()
    on_a, _ = await ChatSocket.open(user, busy)
    on_b, _ = await ChatSocket.open(on(user, pair), other)
    await on_a.say(LONG * 4)
    await on_a.until("chunk")
    await on_b.say("me too")
    assert (await on_b.until("error"))[-1]["code"] == "rate_limited"
    await on_a.until("end")
    # Once A's answer is done (and uncounted, which travels too), B takes one.
    deadline = time.monotonic() + 10
    while True:
        await on_b.say("now?")
        frame = (await on_b.until("start", "error"))[-1]
        if frame["type"] == "start" or time.monotonic() > deadline:
            break
        assert frame["code"] == "rate_limited"
        await asyncio.sleep(0.1)
    assert frame["type"] == "start"
    await on_b.until("end")
    for socket in (on_a, on_b):
        await socket.close()


async def test_rest_on_b_shows_a_run_on_a(pair: Pair) -> None:
    user = new_user(pair.a)
    conversation_id = user.new_conversation()
    on_a, _ = await ChatSocket.open(user, conversation_id)
    await on_a.say(LONG * 4)
    seen = await on_a.until("chunk")
    with on(user, pair).http() as b:
        snapshot = b.get(f"/api/conversations/{conversation_id}").json()
        listed = {c["id"]: c for c in b.get("/api/conversations").json()["items"]}
    during = snapshot["conversation"]
    assert during["generating"] is True and listed[conversation_id]["generating"] is True
    # B's snapshot claims only the events its messages hold (what A has saved so far); a
    # socket on B replaying after its last_seq brings the rest, with no gap and no duplicate.
    answer = snapshot["messages"][-1]
    assert answer["role"] == "assistant" and during["last_seq"] >= answer["seq"]
    on_b, _ = await ChatSocket.open(on(user, pair), conversation_id, after_seq=during["last_seq"])
    replayed = await on_b.until("end")
    rest = await on_a.until("end")
    for kind, field in (("chunk", "content"), ("thinking", "thinking")):
        assert answer[field] + text_of(replayed, kind) == text_of(seen + rest, kind)
    await on_b.close()
    end_seq = rest[-1]["seq"]
    for server_user in (user, on(user, pair)):
        with server_user.http() as client:
            after = client.get(f"/api/conversations/{conversation_id}").json()["conversation"]
            listed = {c["id"]: c for c in client.get("/api/conversations").json()["items"]}
        assert after["generating"] is False and listed[conversation_id]["generating"] is False
        assert after["last_seq"] == listed[conversation_id]["last_seq"] == end_seq
    await on_a.close()


async def refused(user: ChatUser, conversation_id: str) -> None:
    """A socket refused for the user's cap: an error frame, then close code 4429."""
    socket, first = await ChatSocket.open(user, conversation_id)
    assert first["type"] == "error" and first["code"] == "rate_limited", first
    with pytest.raises(ConnectionClosed) as closed:
        await socket.next()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429


async def test_the_socket_cap_counts_both_instances(pair_factory: PairFactory) -> None:
    pair = pair_factory(max_sockets_per_user="2")
    user = new_user(pair.a)
    conversation_id = user.new_conversation()
    on_a, _ = await ChatSocket.open(user, conversation_id)
    on_b, _ = await ChatSocket.open(on(user, pair), conversation_id)
    for server_user in (user, on(user, pair)):
        await refused(server_user, conversation_id)
    # Another user is not held back; a socket closed on A makes room on B.
    other = new_user(pair.b)
    theirs, ready = await ChatSocket.open(other, other.new_conversation())
    assert ready["type"] == "ready"
    await on_a.close()
    again = await reopened(on(user, pair), conversation_id)
    await refused(user, conversation_id)
    for socket in (on_b, again, theirs):
        await socket.close()
