"""The control channel is Redis's, and anyone who can publish there may send garbage: each
malformed message is logged and skipped, and the instances go on obeying the next ones."""

from __future__ import annotations

import pytest
from websockets.exceptions import ConnectionClosed

from parley.cluster.keys import CONTROL_CHANNEL
from tests.cluster.conftest import Pair
from tests.cluster.test_two_instances import on
from tests.integration.ws import ChatSocket, new_user

MALFORMED: list[bytes] = [
    b"not json",
    b"\xff\xfe\x00garbage",
    b"[]",
    b"null",
    b'{"op": "launch"}',
    b'{"op": "close", "code": "loud"}',
    b'{"op": "close", "code": 18446744073709551616}',
    b'{"op": "stop", "conversation_id": ["a", "b"]}',
]


async def test_malformed_control_messages_are_skipped(pair: Pair) -> None:
    user = new_user(pair.a)
    conversation_id = user.new_conversation()
    on_b, _ = await ChatSocket.open(on(user, pair), conversation_id)
    publisher = pair.redis.client()
    try:
        for raw in MALFORMED:
            # Both instances listen, so each message reaches two listeners.
            assert publisher.publish(CONTROL_CHANNEL, raw) >= 2
    finally:
        publisher.close()
    # A logout on A is a `close` on the same channel, after the garbage: B still obeys it.
    with user.http() as client:
        assert client.post("/api/auth/logout").status_code == 204
    with pytest.raises(ConnectionClosed) as closed:
        await on_b.next(timeout_s=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    assert pair.b.log().count("skipped a malformed message on the Redis control channel") == len(
        MALFORMED
    )
