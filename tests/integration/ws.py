"""A test-side view of Parley: a fresh user, their conversation, and sockets on it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.conftest import ServerProcess
from tests.helpers import PASSWORD, login, new_account, unique_username

Frame = dict[str, Any]


@dataclass
class ChatUser:
    server: ServerProcess
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.server.base_url, headers=self.headers, timeout=30)

    def new_conversation(self, **fields: Any) -> str:
        with self.http() as client:
            response = client.post("/api/conversations", json=fields)
            response.raise_for_status()
            return str(response.json()["id"])

    def conversation(self, conversation_id: str) -> Frame:
        with self.http() as client:
            response = client.get(f"/api/conversations/{conversation_id}")
            response.raise_for_status()
            return dict(response.json())


def new_user(server: ServerProcess) -> ChatUser:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        account = new_account(client)
    return ChatUser(server, account.username, account.token)


def new_admin(server: ServerProcess) -> ChatUser:
    """An administrator made with `parley user create --admin`, logged in."""
    username = unique_username("admin")
    subprocess.run(
        [sys.executable, "-m", "parley", "user", "create", username, "--admin", "--password-stdin"],
        input=f"{PASSWORD}\n",
        text=True,
        env=server.env,
        check=True,
        capture_output=True,
    )
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        response = login(client, username)
    response.raise_for_status()
    return ChatUser(server, username, response.json()["access_token"])


class ChatSocket:
    """One WebSocket on a conversation, with helpers to read frames by type."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.received: list[Frame] = []

    @classmethod
    async def open(
        cls,
        user: ChatUser,
        conversation_id: str,
        *,
        after_seq: int | None = None,
        token: str | None = None,
        ws_url: str | None = None,
        **connect: Any,
    ) -> tuple[ChatSocket, Frame]:
        """`ws_url` reaches the server another way (through a proxy, say)."""
        url = f"{ws_url or user.server.ws_url}/ws/conversations/{conversation_id}"
        connection = await websockets.connect(url, max_size=None, **connect)
        socket = cls(connection)
        auth: Frame = {"type": "auth", "token": token if token is not None else user.token}
        if after_seq is not None:
            auth["after_seq"] = after_seq
        await socket.send(auth)
        ready = await socket.next()
        return socket, ready

    async def send(self, frame: Frame) -> None:
        await self.connection.send(json.dumps(frame))

    async def say(self, content: str, **options: Any) -> str:
        client_id = str(uuid.uuid4())
        frame: Frame = {"type": "send", "content": content, "client_id": client_id}
        if options:
            frame["options"] = options
        await self.send(frame)
        return client_id

    async def next(self, timeout_s: float = 15.0) -> Frame:
        frame: Frame = json.loads(await asyncio.wait_for(self.connection.recv(), timeout_s))
        self.received.append(frame)
        return frame

    async def until(self, *types: str, timeout_s: float = 30.0) -> list[Frame]:
        """Frames up to and including the first of one of `types`."""
        frames: list[Frame] = []
        while True:
            frame = await self.next(timeout_s)
            frames.append(frame)
            if frame["type"] in types:
                return frames

    async def close(self) -> None:
        await self.connection.close()


async def refusal_code(user: ChatUser, conversation_id: str, **open_options: Any) -> int | None:
    """The close code of a socket whose opening the server refuses after the handshake."""
    with pytest.raises(ConnectionClosed) as closed:
        await ChatSocket.open(user, conversation_id, **open_options)
    return closed.value.rcvd.code if closed.value.rcvd else None


async def reopened(user: ChatUser, conversation_id: str) -> ChatSocket:
    """A socket opened once the server has counted a closed one out (it does so just after
    the close handshake, so a few tries may be refused; bounded in count and time)."""
    deadline = time.monotonic() + 10
    for _ in range(100):
        socket, first = await ChatSocket.open(user, conversation_id)
        if first["type"] == "ready":
            return socket
        await socket.close()
        assert time.monotonic() < deadline, first
        await asyncio.sleep(0.05)
    raise AssertionError("the closed socket was never counted out")


def text_of(frames: list[Frame], kind: str) -> str:
    return "".join(frame["content"] for frame in frames if frame["type"] == kind)


def seqs(frames: list[Frame]) -> list[int]:
    return [frame["seq"] for frame in frames if frame.get("seq") is not None]
