"""Both instances behind a real nginx running deploy/nginx/parley.conf (round-robin, no sticky
sessions): sockets, replay, stop, REST and SSE through the proxy behave as one server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.cluster.conftest import Pair
from tests.helpers import new_account
from tests.integration.ws import ChatSocket, ChatUser, Frame, seqs, text_of
from tests.ops.helpers import Nginx, insecure_tls, need

LONG = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
SOCKETS = 4


@pytest.fixture(scope="module")
def proxy(shared_pair: Pair, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    need("nginx")
    need("openssl")
    servers = [shared_pair.a, shared_pair.b]
    nginx = Nginx(tmp_path_factory.mktemp("nginx"), servers, read_timeout_s=60).start()
    yield nginx
    nginx.stop()


def user_through(proxy: Nginx, pair: Pair) -> ChatUser:
    """A user registered and logged in through the proxy (REST helpers then talk to A)."""
    with httpx.Client(base_url=proxy.base_url, verify=False, timeout=30) as client:
        account = new_account(client)
    return ChatUser(pair.a, account.username, account.token)


def seqd(frames: list[Frame]) -> list[Frame]:
    return [frame for frame in frames if frame.get("seq") is not None]


async def test_sockets_through_nginx_follow_replay_and_stop_one_run(
    shared_pair: Pair, proxy: Nginx
) -> None:
    user = user_through(proxy, shared_pair)
    conversation_id = user.new_conversation()
    tls = insecure_tls()
    # nginx's one worker hands consecutive connections to A and B in turn: both hold sockets.
    sockets = [
        (await ChatSocket.open(user, conversation_id, ws_url=proxy.ws_url, ssl=tls))[0]
        for _ in range(SOCKETS)
    ]
    await sockets[0].say("hello through nginx")
    first = await sockets[0].until("end")
    assert text_of(first, "chunk") == "You said: hello through nginx"
    for other in sockets[1:]:
        assert seqd(await other.until("end")) == seqd(first)

    # A second answer, sent from another socket; a late socket replays it from mid-answer.
    await sockets[1].say(LONG * 4)
    before = await sockets[1].until("chunk")
    late, ready = await ChatSocket.open(
        user, conversation_id, after_seq=max(seqs(before)), ws_url=proxy.ws_url, ssl=tls
    )
    assert ready["active_run"] is not None
    replayed = await late.until("chunk")
    await sockets[2].send({"type": "stop"})
    everyone = [*sockets, late]
    seen = [await socket.until("end") for socket in everyone]
    assert {frames[-1]["finish_reason"] for frames in seen} == {"cancelled"}
    assert len({frames[-1]["seq"] for frames in seen}) == 1
    answer = text_of(before + seen[1], "chunk")
    assert text_of(before + replayed + seen[-1], "chunk") == answer  # the replay rebuilt it exactly
    stored = user.conversation(conversation_id)["messages"][-1]
    assert (stored["status"], stored["content"]) == ("cancelled", answer)
    for socket in everyone:
        await socket.close()


def test_rest_and_sse_through_nginx(shared_pair: Pair, proxy: Nginx) -> None:
    user = user_through(proxy, shared_pair)
    with httpx.Client(
        base_url=proxy.base_url, headers=user.headers, verify=False, timeout=60
    ) as client:
        # Round-robin: consecutive requests alternate between A and B, one token for both.
        for _ in range(4):
            assert client.get("/api/auth/me").json()["username"] == user.username
        created = client.post("/api/conversations", json={"title": "through nginx"})
        assert created.status_code == 201
        listed = [c["id"] for c in client.get("/api/conversations").json()["items"]]
        assert created.json()["id"] in listed
        with client.stream(
            "POST", "/api/v1/chat/stream", json={"message": "stream me", "history": []}
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = [line for line in response.iter_lines() if line.startswith("data:")]
    assert len(events) > 3
