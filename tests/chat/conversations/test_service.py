"""A conversation's REST snapshot claims no event it lacks (a real SQLite store)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from parley.chat.conversations.service import ConversationService
from parley.chat.conversations.store import ChatStore
from parley.chat.live.channels import ChannelRegistry
from parley.config import Settings
from parley.db import Database
from parley.engine.selection.manager import EngineManager
from parley.models import Conversation, User
from parley.tools import ToolRegistry


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'parley.db'}")
    database.migrate()
    yield database
    database.close()


async def test_a_message_being_accepted_is_not_claimed_by_the_snapshot(
    db: Database, tmp_path: Path
) -> None:
    settings = Settings(model="scripted", data_dir=tmp_path)
    store, channels = ChatStore(db), ChannelRegistry()
    service = ConversationService(
        store,
        EngineManager(settings.engine_config()),
        channels,
        ToolRegistry(settings.tools_config()),
    )
    user = User(username="snap", password_hash="x")
    db.run_write(lambda session: session.add(user))
    conversation = await store.create_conversation(Conversation(owner_id=user.id))
    async with channels.hold(
        conversation.id, lambda: channels.create(conversation, store.reserve_seqs)
    ) as channel:
        # A send between the snapshot's reads: seqs handed out, its rows not written yet.
        await channel.reserve(2)
        channel.next_seq(), channel.next_seq()
        detail = await service.conversation_detail(user.id, conversation.id)
    assert detail.messages == []
    # The client drops what a snapshot says it has and lacks: it must not claim seqs 1 and 2.
    assert detail.conversation.last_seq == 0
