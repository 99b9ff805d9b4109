"""Parley in this process: the app `create_app` builds, its lifespan run, its services at hand
and its REST API through httpx's ASGI transport. No socket, no subprocess: a failing service
shows its own traceback. The database is real (the `db_url` fixture's, so `--db postgresql`
applies); the model is the scripted engine unless the settings name another."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from parley.accounts.service import AccountService
from parley.app import create_app
from parley.chat.completions import CompletionService
from parley.chat.conversations.service import ConversationService
from parley.chat.live.channels import Close
from parley.chat.live.service import ChatService, Connection
from parley.config import Settings
from parley.models import ConversationCreate, UserCreate
from parley.protocol import ServerFrame, server_frame_adapter
from tests.helpers import PASSWORD, unique_username

# Every wait below is on an event; this only bounds how long a broken one hangs the suite.
WAIT_S = 10.0


@dataclass(frozen=True, slots=True)
class User:
    id: str
    token: str


@dataclass
class InProcessApp:
    app: FastAPI
    settings: Settings
    # Closed before the app stops, as a server's sockets are.
    connections: list[Connection] = field(default_factory=list)

    @property
    def chat(self) -> ChatService:
        service: ChatService = self.app.state.chat
        return service

    @property
    def conversations(self) -> ConversationService:
        service: ConversationService = self.app.state.conversations
        return service

    @property
    def completions(self) -> CompletionService:
        service: CompletionService = self.app.state.completions
        return service

    @property
    def accounts(self) -> AccountService:
        service: AccountService = self.app.state.accounts
        return service

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        """The REST API, in process."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://localhost",
            headers=headers,
        )

    async def connect(
        self, user: User, conversation_id: str, after_seq: int | None = None
    ) -> Connection:
        """A socket's subscription to the conversation (its first frame is `ready`)."""
        connection = await self.chat.connect(user.id, conversation_id, after_seq)
        self.connections.append(connection)
        return connection

    async def new_user(self) -> User:
        user = await self.accounts.register(
            UserCreate(username=unique_username(), password=PASSWORD)
        )
        return User(user.id, self.accounts.issue(user).access_token)

    async def new_conversation(self, user_id: str, **fields: Any) -> str:
        created = await self.conversations.create_conversation(
            user_id, ConversationCreate(**fields), self.settings.max_conversations_per_user
        )
        return created.id


def settings_for(data_dir: Path, database_url: str, **settings: Any) -> Settings:
    defaults: dict[str, Any] = {
        "model": "scripted",
        "secret_key": "in-process-" + "0" * 32,
        # The lowest bcrypt cost: the tests make many accounts.
        "bcrypt_rounds": 4,
        "scripted_token_delay_s": 0.0,
    }
    return Settings(data_dir=data_dir, database_url=database_url, **(defaults | settings))


@asynccontextmanager
async def running_app(
    data_dir: Path, database_url: str, **settings: Any
) -> AsyncIterator[InProcessApp]:
    """The app with its lifespan entered (runs recovered, engines and tools started) and left."""
    app = create_app(settings_for(data_dir, database_url, **settings))
    async with app.router.lifespan_context(app):
        running = InProcessApp(app, app.state.settings)
        try:
            yield running
        finally:
            for connection in running.connections:
                running.chat.disconnect(connection)


async def next_frame(connection: Connection) -> ServerFrame:
    """The next frame the connection's socket would write; fails on a close."""
    item = await asyncio.wait_for(connection.subscriber.queue.get(), WAIT_S)
    assert not isinstance(item, Close), item
    return server_frame_adapter.validate_json(item)


async def frames_until(connection: Connection, *types: str) -> list[ServerFrame]:
    """The connection's frames up to and including the first of one of `types`."""
    frames: list[ServerFrame] = []
    while not frames or frames[-1].type not in types:
        frames.append(await next_frame(connection))
    return frames
