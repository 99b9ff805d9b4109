"""The WebSocket protocol against a real server on the scripted engine."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import ServerFactory, ServerProcess
from tests.integration.ws import ChatSocket, new_user, refusal_code, seqs, text_of

THINKING = "Let me think about that."


async def closed_code(socket: ChatSocket) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await socket.next(timeout_s=15)
    return closed.value.rcvd.code if closed.value.rcvd else None


async def test_chat_streams_thinking_and_answer_and_stores_them(
    scripted_server: ServerProcess,
) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    socket, ready = await ChatSocket.open(user, conversation_id)
    assert ready == {
        "type": "ready",
        "conversation_id": conversation_id,
        "last_seq": 0,
        "active_run": None,
    }
    client_id = await socket.say("hello there")
    frames = await socket.until("end")
    await socket.close()

    kinds = [f["type"] for f in frames if f["type"] != "status"]
    assert kinds[:2] == ["message", "start"]
    assert kinds[-1] == "end"
    message = frames[0]["message"]
    assert message["client_id"] == client_id and message["content"] == "hello there"
    numbered = seqs(frames)
    assert numbered == sorted(numbered) and len(set(numbered)) == len(numbered)
    assert text_of(frames, "thinking") == THINKING
    assert text_of(frames, "chunk") == "You said: hello there"
    end = frames[-1]
    assert end["finish_reason"] == "stop"
    assert end["usage"]["completion_tokens"] > 0
    assert end["timings"]["ttft_ms"] is not None

    stored = user.conversation(conversation_id)
    answer = stored["messages"][-1]
    assert answer["status"] == "complete"
    assert answer["content"] == text_of(frames, "chunk")
    assert answer["thinking"] == THINKING
    assert answer["parent_id"] == stored["messages"][0]["id"]
    assert answer["finish_reason"] == "stop"
    assert answer["timings"] == end["timings"]
    assert stored["conversation"]["last_seq"] == end["seq"]
    assert stored["conversation"]["title"] == "hello there"


async def test_reconnect_with_after_seq_rebuilds_the_exact_text(
    server_factory: ServerFactory,
) -> None:
    server = server_factory(model="scripted", scripted_token_delay_s="0.05").start()
    user = new_user(server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    # Stays on: it tells when the run has gone on past what the closed socket saw.
    watcher, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("please resume me in the middle of this answer")
    seen = await socket.until("chunk")
    seen += [await socket.next(), await socket.next()]
    await socket.close()
    last_seen = max(seqs(seen))
    while max(seqs(watcher.received), default=0) < last_seen + 3:
        await watcher.next()
    await watcher.close()

    socket, ready = await ChatSocket.open(user, conversation_id, after_seq=last_seen)
    assert ready["active_run"] is not None
    rest = await socket.until("end")
    await socket.close()
    assert min(seqs(rest)) == last_seen + 1
    everything = seen + rest
    assert seqs(everything) == list(range(1, rest[-1]["seq"] + 1))
    stored = user.conversation(conversation_id)["messages"][-1]
    assert text_of(everything, "chunk") == stored["content"]
    assert text_of(everything, "thinking") == stored["thinking"] == THINKING


async def test_replay_after_the_run_ended_returns_every_missed_event(
    scripted_server: ServerProcess,
) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("first")
    first = await socket.until("end")
    await socket.say("second")
    second = await socket.until("end")
    await socket.close()

    socket, ready = await ChatSocket.open(user, conversation_id, after_seq=2)
    assert ready["last_seq"] == second[-1]["seq"] and ready["active_run"] is None
    replayed = [await socket.next() for _ in range(second[-1]["seq"] - 2)]
    await socket.close()
    live = [f for f in first + second if f.get("seq", 0) > 2]
    assert replayed == live


async def test_after_seq_beyond_last_seq_replays_nothing(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    socket, ready = await ChatSocket.open(user, conversation_id, after_seq=999)
    assert ready["last_seq"] == 0
    await socket.send({"type": "ping"})
    assert await socket.next() == {"type": "pong"}
    await socket.close()


async def test_two_sockets_on_one_conversation_both_get_every_event(
    scripted_server: ServerProcess,
) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    first, _ = await ChatSocket.open(user, conversation_id)
    second, _ = await ChatSocket.open(user, conversation_id)
    await first.say("to both tabs")
    from_first = await first.until("end")
    from_second = await second.until("end")
    await first.close()
    await second.close()
    strip = [f for f in from_first if f["type"] != "status"]
    assert strip == [f for f in from_second if f["type"] != "status"]


async def test_run_goes_on_without_any_socket_and_is_saved(
    scripted_server: ServerProcess,
) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("finish this without me")
    await socket.until("start")
    await socket.close()
    for _ in range(100):
        messages = user.conversation(conversation_id)["messages"]
        if messages[-1]["status"] != "streaming":
            break
        await asyncio.sleep(0.1)
    assert messages[-1]["status"] == "complete"
    assert messages[-1]["content"] == "You said: finish this without me"


async def test_duplicate_client_id_creates_nothing_new(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    watcher, _ = await ChatSocket.open(user, conversation_id)
    frame = {"type": "send", "content": "only once", "client_id": "retry-me"}
    await socket.send(frame)
    original = (await socket.until("message"))[-1]
    await socket.send(frame)  # while its run is active
    again = (await socket.until("message"))[-1]
    assert again == original
    await socket.until("end")
    await socket.send(frame)  # and after
    assert (await socket.until("message"))[-1] == original
    await socket.send({"type": "ping"})
    await socket.until("pong")
    # The other socket saw the message once, and no duplicate reply.
    seen = await watcher.until("end")
    assert [f["type"] for f in seen].count("message") == 1
    await socket.close()
    await watcher.close()
    messages = user.conversation(conversation_id)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["client_id"] == "retry-me"


async def test_send_while_busy_is_refused(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("a long one")
    await socket.until("start")
    await socket.say("too soon")
    error = (await socket.until("error"))[-1]
    assert (error["code"] == "busy" and "seq" not in error) or error.get("seq") is None
    await socket.until("end")
    await socket.close()


@pytest.fixture
def long_answer_server(server_factory: ServerFactory) -> ServerProcess:
    """Answers that take 20 s unless stopped: time enough to act on a run mid-answer."""
    return server_factory(
        model="scripted", scripted_token_delay_s="0.1", scripted_answer="word " * 200
    ).start()


async def test_stop_cancels_the_run_and_saves_it_cancelled(
    long_answer_server: ServerProcess,
) -> None:
    user = new_user(long_answer_server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("stop me")
    await socket.until("chunk")
    await socket.send({"type": "stop"})
    frames = await socket.until("end", timeout_s=5)
    assert frames[-1]["finish_reason"] == "cancelled"
    await socket.send({"type": "stop"})
    assert (await socket.until("error"))[-1]["code"] == "no_active_run"
    await socket.close()
    answer = user.conversation(conversation_id)["messages"][-1]
    assert answer["status"] == "cancelled"
    assert 0 < len(answer["content"]) < len("word " * 200)


async def test_regenerate_adds_a_sibling_answer(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.send({"type": "regenerate"})
    assert (await socket.until("error"))[-1]["code"] == "bad_request"
    await socket.say("answer twice")
    await socket.until("end")
    await socket.send({"type": "regenerate"})
    await socket.until("start")
    await socket.send({"type": "regenerate"})
    assert (await socket.until("error"))[-1]["code"] == "busy"
    await socket.until("end")
    await socket.close()
    messages = user.conversation(conversation_id)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "assistant"]
    assert messages[1]["parent_id"] == messages[2]["parent_id"] == messages[0]["id"]
    assert messages[2]["content"] == "You said: answer twice"


async def test_thinking_false_skips_the_thinking(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("no thinking please", thinking=False)
    frames = await socket.until("end")
    await socket.close()
    assert text_of(frames, "thinking") == ""
    assert text_of(frames, "chunk") == "You said: no thinking please"


async def test_max_tokens_ends_with_length(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("cut me short", max_tokens=3)
    end = (await socket.until("end"))[-1]
    await socket.close()
    assert end["finish_reason"] == "length"
    assert end["usage"]["completion_tokens"] == 3


async def test_a_failing_run_ends_with_an_error_event_and_is_saved(
    scripted_server: ServerProcess,
) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("please [[fail]]")
    error = (await socket.until("error"))[-1]
    await socket.close()
    assert error["code"] == "generation_failed" and isinstance(error["seq"], int)
    answer = user.conversation(conversation_id)["messages"][-1]
    assert answer["status"] == "error" and answer["id"] == error["message_id"]


async def test_status_heartbeats_come_before_the_first_token(
    server_factory: ServerFactory,
) -> None:
    server = server_factory(
        model="scripted", scripted_first_token_delay_s="2", status_interval_s="0.3"
    ).start()
    user = new_user(server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("slow start")
    frames = await socket.until("thinking")
    await socket.until("end")
    await socket.close()
    statuses = [f for f in frames if f["type"] == "status"]
    assert len(statuses) >= 4
    assert all("seq" not in f for f in statuses)


async def test_ping_pong(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    socket, _ = await ChatSocket.open(user, user.new_conversation())
    await socket.send({"type": "ping"})
    assert await socket.next() == {"type": "pong"}
    await socket.close()


# ---------- bad input ----------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("this is not json", "bad_request"),
        (json.dumps({"type": "dance"}), "bad_request"),
        (json.dumps({"type": "send", "client_id": "x"}), "bad_request"),
        (json.dumps({"type": "send", "content": 5, "client_id": "x"}), "bad_request"),
        (json.dumps([1, 2, 3]), "bad_request"),
        (json.dumps({"type": "auth", "token": "again"}), "bad_request"),
    ],
    ids=["not-json", "unknown-type", "missing-field", "mistyped-field", "not-object", "re-auth"],
)
async def test_bad_frames_get_an_error_and_the_socket_stays_open(
    scripted_server: ServerProcess, raw: str, expected: str
) -> None:
    user = new_user(scripted_server)
    socket, _ = await ChatSocket.open(user, user.new_conversation())
    await socket.connection.send(raw)
    error = await socket.next()
    assert (error["type"] == "error" and error["code"] == expected and "seq" not in error) or (
        error.get("seq") is None
    )
    await socket.send({"type": "ping"})
    assert await socket.next() == {"type": "pong"}
    await socket.close()


async def test_binary_frames_are_bad_requests(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    socket, _ = await ChatSocket.open(user, user.new_conversation())
    await socket.connection.send(b"\x00\x01")
    assert (await socket.next())["code"] == "bad_request"
    await socket.close()


async def test_content_over_the_limit_is_too_long(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("x" * 32_001)
    assert (await socket.next())["code"] == "too_long"
    await socket.close()
    assert user.conversation(conversation_id)["messages"] == []


@pytest.mark.parametrize(
    ("text", "ensure_ascii"),
    [
        pytest.param("中" * 32_000, False, id="32000-chinese-chars-as-utf8"),
        pytest.param("中" * 32_000, True, id="32000-chinese-chars-as-json-escapes"),
        pytest.param("😀" * 32_000, True, id="32000-emoji-as-surrogate-escapes"),
    ],
)
async def test_a_message_within_the_character_limit_is_read_whatever_its_bytes(
    scripted_server: ServerProcess, text: str, ensure_ascii: bool
) -> None:
    """The limit is in characters: 32,000 of them fit in a frame in any script and encoding."""
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    frame = {"type": "send", "content": text, "client_id": "big-1"}
    encoded = json.dumps(frame, ensure_ascii=ensure_ascii)
    assert len(encoded.encode()) > 64 * 1024
    await socket.connection.send(encoded)
    message = await socket.next()
    assert message["type"] == "message", message
    assert message["message"]["content"] == text
    await socket.until("end")
    await socket.close()


async def test_too_long_is_decided_by_characters_not_bytes(
    scripted_server: ServerProcess,
) -> None:
    user = new_user(scripted_server)
    socket, _ = await ChatSocket.open(user, user.new_conversation())
    await socket.say("中" * 32_001)  # 96 KiB of UTF-8, one character too many
    assert (await socket.next())["code"] == "too_long"
    await socket.send({"type": "ping"})
    assert await socket.next() == {"type": "pong"}
    await socket.close()


@pytest.mark.direct_only
async def test_a_frame_over_1_mib_closes_with_1009(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    socket, _ = await ChatSocket.open(user, user.new_conversation())
    await socket.say("y" * (1024 * 1024 + 1))
    assert await closed_code(socket) == 1009


async def test_flooding_frames_is_rate_limited(scripted_server: ServerProcess) -> None:
    user = new_user(scripted_server)
    socket, _ = await ChatSocket.open(user, user.new_conversation())
    for _ in range(60):
        await socket.send({"type": "ping"})
    replies = [await socket.next() for _ in range(60)]
    await socket.close()
    assert any(r.get("code") == "rate_limited" for r in replies)
    assert any(r["type"] == "pong" for r in replies)


def _token(server: ServerProcess, **claims: object) -> str:
    secret = (server.data_dir / "secret_key").read_text().strip()
    return jwt.encode(claims, secret, algorithm="HS256")


def _bad_tokens(server: ServerProcess, user_id: str) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "expired": _token(
            server, sub=user_id, iat=now - timedelta(hours=2), exp=now - timedelta(hours=1)
        ),
        "forged": jwt.encode(
            {"sub": user_id, "iat": now, "exp": now + timedelta(hours=1)},
            "another secret that is long enough to sign with",
            algorithm="HS256",
        ),
        "alg-none": jwt.encode(
            {"sub": user_id, "iat": now, "exp": now + timedelta(hours=1)}, None, algorithm="none"
        ),
        "no-exp": _token(server, sub=user_id, iat=now),
        "garbage": "not-a-token",
    }


@pytest.mark.parametrize("kind", ["expired", "forged", "alg-none", "no-exp", "garbage"])
async def test_bad_tokens_close_the_socket_with_1008(
    scripted_server: ServerProcess, kind: str
) -> None:
    user = new_user(scripted_server)
    with httpx.Client(base_url=scripted_server.base_url, headers=user.headers) as client:
        user_id = client.get("/api/auth/me").json()["id"]
    conversation_id = user.new_conversation()
    token = _bad_tokens(scripted_server, user_id)[kind]
    assert await refusal_code(user, conversation_id, token=token) == 1008


async def test_a_first_frame_without_token_closes_with_1008(
    scripted_server: ServerProcess,
) -> None:
    import websockets

    user = new_user(scripted_server)
    url = f"{scripted_server.ws_url}/ws/conversations/{user.new_conversation()}"
    async with websockets.connect(url) as connection:
        await connection.send(json.dumps({"type": "send", "content": "hi", "client_id": "1"}))
        with pytest.raises(ConnectionClosed) as closed:
            await connection.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_logout_revokes_tokens_and_closes_sockets_with_4401(
    scripted_server: ServerProcess,
) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    with httpx.Client(base_url=scripted_server.base_url, headers=user.headers) as client:
        assert client.post("/api/auth/logout").status_code == 204
    assert await closed_code(socket) == 4401
    assert await refusal_code(user, conversation_id) == 1008


async def test_another_users_conversation_closes_with_4404(
    scripted_server: ServerProcess,
) -> None:
    owner = new_user(scripted_server)
    intruder = new_user(scripted_server)
    conversation_id = owner.new_conversation()
    for target in (conversation_id, "00000000-0000-0000-0000-000000000000"):
        assert await refusal_code(intruder, target) == 4404


async def test_a_foreign_origin_is_refused_at_the_handshake(
    scripted_server: ServerProcess,
) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    with pytest.raises(InvalidStatus) as refused:
        await ChatSocket.open(user, conversation_id, origin="http://evil.example")
    assert refused.value.response.status_code == 403
    socket, ready = await ChatSocket.open(user, conversation_id, origin=scripted_server.base_url)
    assert ready["type"] == "ready"
    await socket.close()


async def test_a_configured_origin_is_allowed(server_factory: ServerFactory) -> None:
    server = server_factory(
        model="scripted", allowed_origins="http://app.example, http://other.example"
    ).start()
    user = new_user(server)
    socket, ready = await ChatSocket.open(
        user, user.new_conversation(), origin="http://app.example"
    )
    assert ready["type"] == "ready"
    await socket.close()


async def test_deleting_a_conversation_cancels_its_run(
    long_answer_server: ServerProcess,
) -> None:
    user = new_user(long_answer_server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("delete me while I talk")
    await socket.until("chunk")
    with user.http() as client:
        assert client.delete(f"/api/conversations/{conversation_id}").status_code == 204
        assert client.get(f"/api/conversations/{conversation_id}").status_code == 404
    end = (await socket.until("end"))[-1]
    assert end["finish_reason"] == "cancelled"
    await socket.close()


async def test_send_to_a_conversation_deleted_meanwhile_closes_with_4404(
    scripted_server: ServerProcess,
) -> None:
    user = new_user(scripted_server)
    conversation_id = user.new_conversation()
    socket, _ = await ChatSocket.open(user, conversation_id)
    with user.http() as client:
        assert client.delete(f"/api/conversations/{conversation_id}").status_code == 204
    await socket.say("are you still there?")
    assert await closed_code(socket) == 4404
    assert "Traceback" not in scripted_server.log()


async def test_a_nul_character_in_a_message_is_kept_or_replaced_never_a_failure(
    scripted_server: ServerProcess, database_kind: str
) -> None:
    """PostgreSQL's text cannot hold NUL: it is stored as U+FFFD there, exactly on SQLite."""
    user = new_user(scripted_server)
    conversation_id = user.new_conversation(title="nul \x00 title", system_prompt="be \x00 kind")
    socket, _ = await ChatSocket.open(user, conversation_id)
    await socket.say("before\x00after")
    frames = await socket.until("end", "error")
    assert frames[-1]["type"] == "end", frames
    await socket.close()
    kept = "\x00" if database_kind == "sqlite" else "\ufffd"
    detail = user.conversation(conversation_id)
    assert detail["conversation"]["title"] == f"nul {kept} title"
    assert detail["conversation"]["system_prompt"] == f"be {kept} kind"
    question, answer = detail["messages"][-2:]
    assert question["content"] == f"before{kept}after"
    assert answer["status"] == "complete"
