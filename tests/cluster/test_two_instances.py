"""Two instances as one server: a run on A is followed, replayed and stopped from B; logout on
A closes B's sockets; A killed mid-answer has its run interrupted by B; seqs are never shared."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest
from websockets.exceptions import ConnectionClosed

from tests.cluster.conftest import Pair
from tests.cluster.servers import LEASE_S
from tests.integration.compat_support import create_key
from tests.integration.ws import ChatSocket, ChatUser, Frame, new_user, seqs, text_of

LONG = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"


def on(user: ChatUser, pair: Pair) -> ChatUser:
    """The same user, token and all, talking to instance B."""
    return replace(user, server=pair.b)


async def test_a_run_on_a_is_followed_live_on_b(shared_pair: Pair) -> None:
    user = new_user(shared_pair.a)
    conversation_id = user.new_conversation()
    on_a, _ = await ChatSocket.open(user, conversation_id)
    on_b, ready = await ChatSocket.open(on(user, shared_pair), conversation_id)
    assert ready["type"] == "ready" and ready["active_run"] is None
    await on_a.say("hello from A")
    frames_a = await on_a.until("end")
    frames_b = await on_b.until("end")
    assert [f for f in frames_b if f.get("seq") is not None] == [
        f for f in frames_a if f.get("seq") is not None
    ]
    assert text_of(frames_b, "chunk") == "You said: hello from A"
    stored = on(user, shared_pair).conversation(conversation_id)["messages"][-1]
    assert stored["status"] == "complete" and stored["content"] == text_of(frames_b, "chunk")
    for socket in (on_a, on_b):
        await socket.close()


async def test_reconnect_to_b_mid_answer_rebuilds_the_exact_text(shared_pair: Pair) -> None:
    user = new_user(shared_pair.a)
    conversation_id = user.new_conversation()
    on_a, _ = await ChatSocket.open(user, conversation_id)
    # Long enough (~2 s of tokens) to still be running once B's socket is open on a busy machine.
    message = " ".join([LONG] * 6)
    await on_a.say(message)
    before: list[Frame] = await on_a.until("chunk")
    for _ in range(5):
        before.append(await on_a.next())
    last = max(seqs(before))
    on_b, ready = await ChatSocket.open(on(user, shared_pair), conversation_id, after_seq=last)
    assert ready["active_run"] is not None
    after = await on_b.until("end")
    everything = [f for f in before + after if f.get("seq") is not None]
    numbers = seqs(everything)
    assert numbers == sorted(set(numbers)), "a gap-free replay sends each seq once, in order"
    assert numbers == list(range(numbers[0], numbers[-1] + 1))
    rest = await on_a.until("end")
    assert text_of(everything, "chunk") == text_of(before + rest, "chunk") == f"You said: {message}"
    await on_a.close()
    await on_b.close()


async def test_stop_from_b_of_a_run_on_a(shared_pair: Pair) -> None:
    user = new_user(shared_pair.a)
    conversation_id = user.new_conversation()
    on_a, _ = await ChatSocket.open(user, conversation_id)
    on_b, _ = await ChatSocket.open(on(user, shared_pair), conversation_id)
    await on_a.say(LONG * 4)
    await on_b.until("chunk")
    await on_b.send({"type": "stop"})
    end = (await on_a.until("end"))[-1]
    assert end["finish_reason"] == "cancelled"
    assert (await on_b.until("end"))[-1] == end
    assert (
        on(user, shared_pair).conversation(conversation_id)["messages"][-1]["status"] == "cancelled"
    )
    # Nothing to stop now, on either.
    await on_b.send({"type": "stop"})
    assert (await on_b.until("error"))[-1]["code"] == "no_active_run"
    await on_a.close()
    await on_b.close()


async def test_busy_holds_across_instances(shared_pair: Pair) -> None:
    user = new_user(shared_pair.a)
    conversation_id = user.new_conversation()
    on_a, _ = await ChatSocket.open(user, conversation_id)
    on_b, _ = await ChatSocket.open(on(user, shared_pair), conversation_id)
    await on_a.say(LONG)
    await on_b.until("start")
    await on_b.say("me too")
    assert (await on_b.until("error"))[-1]["code"] == "busy"
    await on_b.send({"type": "regenerate"})
    assert (await on_b.until("error"))[-1]["code"] == "busy"
    await on_a.until("end")
    await on_a.close()
    await on_b.close()


async def test_logout_on_a_closes_sockets_on_b(shared_pair: Pair) -> None:
    user = new_user(shared_pair.a)
    conversation_id = user.new_conversation()
    on_b, _ = await ChatSocket.open(on(user, shared_pair), conversation_id)
    with user.http() as client:
        assert client.post("/api/auth/logout").status_code == 204
    with pytest.raises(ConnectionClosed) as closed:
        await on_b.next(timeout_s=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_a_killed_mid_answer_is_interrupted_by_b(pair: Pair) -> None:
    user = new_user(pair.a)
    conversation_id = user.new_conversation()
    on_a, _ = await ChatSocket.open(user, conversation_id)
    on_b, _ = await ChatSocket.open(on(user, pair), conversation_id)
    await on_a.say(LONG * 4)
    seen = await on_b.until("chunk")
    for _ in range(5):
        seen.append(await on_b.next())
    pair.a.kill()
    killed_at = time.monotonic()
    seen += await on_b.until("error", timeout_s=LEASE_S * 4 + 10)
    waited_s = time.monotonic() - killed_at
    error = seen[-1]
    assert error["code"] == "interrupted" and error["seq"] > max(seqs(seen[:-1]))
    # The documented bound (lease and a third), with room for a loaded machine.
    assert waited_s < LEASE_S * 4 / 3 + 5, waited_s
    stored = on(user, pair).conversation(conversation_id)["messages"][-1]
    assert stored["status"] == "interrupted"
    assert stored["content"] == text_of(seen, "chunk")
    # A reconnect replays the same, error included.
    again, _ = await ChatSocket.open(on(user, pair), conversation_id, after_seq=0)
    replayed = await again.until("error")
    assert text_of(replayed, "chunk") == stored["content"]
    # And the conversation is free again.
    await on_b.say("after the crash")
    assert (await on_b.until("end"))[-1]["type"] == "end"
    await again.close()
    await on_b.close()


async def accepted_or_busy(socket: ChatSocket, client_id: str) -> bool:
    """Whether the socket's send was accepted (its message came back) or refused as busy."""
    while True:
        frame = await socket.next()
        if frame["type"] == "error" and frame.get("seq") is None:
            assert frame["code"] == "busy", frame
            return False
        if frame["type"] == "message" and frame["message"]["client_id"] == client_id:
            return True


async def test_concurrent_sends_from_both_instances_never_share_a_seq(shared_pair: Pair) -> None:
    """A bounded stress loop: both instances send at once, round after round; every event
    any socket sees has a seq of its own, and the stored messages agree."""
    user = new_user(shared_pair.a)
    conversation_id = user.new_conversation()
    on_a, _ = await ChatSocket.open(user, conversation_id)
    on_b, _ = await ChatSocket.open(on(user, shared_pair), conversation_id)
    watcher, _ = await ChatSocket.open(user, conversation_id)
    deadline = time.monotonic() + 60
    rounds = 0
    while rounds < 8 and time.monotonic() < deadline:
        rounds += 1
        sent = await asyncio.gather(on_a.say(f"a{rounds}"), on_b.say(f"b{rounds}"))
        # One wins the conversation, the other is busy (or both run, one after the other):
        # the watcher sees an end for each send its sender saw accepted.
        accepted = await asyncio.gather(
            accepted_or_busy(on_a, sent[0]), accepted_or_busy(on_b, sent[1])
        )
        for _ in range(sum(accepted)):
            await watcher.until("end")
    numbers = seqs(watcher.received)
    assert numbers == sorted(set(numbers)), "strictly increasing, never shared"
    messages = on(user, shared_pair).conversation(conversation_id)["messages"]
    stored = [m["seq"] for m in messages]
    assert len(stored) == len(set(stored))
    assert set(stored) <= set(numbers)
    for socket in (on_a, on_b, watcher):
        await socket.close()


async def test_a_key_deleted_on_a_closes_its_sockets_on_b(shared_pair: Pair) -> None:
    user = new_user(shared_pair.a)
    key = create_key(shared_pair.a, user.token, "cluster")
    conversation_id = user.new_conversation()
    on_b, ready = await ChatSocket.open(on(user, shared_pair), conversation_id, token=key["key"])
    assert ready["type"] == "ready"
    with user.http() as client:
        assert client.delete(f"/api/keys/{key['id']}").status_code == 204
    with pytest.raises(ConnectionClosed) as closed:
        await on_b.next(timeout_s=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
