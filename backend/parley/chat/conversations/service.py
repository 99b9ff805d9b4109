"""Conversations: listed, created, read, changed and deleted, for every transport. What a
conversation shows of its live run (`generating`, `last_seq`) comes from the channels the
chat service runs answers on."""

from __future__ import annotations

from typing import Any

from parley.chat.conversations.events import newest_seq, to_public
from parley.chat.conversations.store import ChatStore
from parley.chat.errors import ConversationNotFound, UnknownMessage, UnknownTool
from parley.chat.live.channels import ChannelRegistry
from parley.engine.selection.manager import EngineManager
from parley.models import (
    Conversation,
    ConversationCreate,
    ConversationUpdate,
    utcnow,
)
from parley.protocol import ConversationDetail, ConversationPublic, ModelUnavailable, ParleyError
from parley.tools import ToolRegistry


async def owned(store: ChatStore, user_id: str, conversation_id: str) -> Conversation:
    """The user's conversation; ConversationNotFound for a missing one or another user's."""
    conversation = await store.conversation(user_id, conversation_id)
    if conversation is None:
        raise ConversationNotFound(conversation_id)
    return conversation


class ConversationService:
    def __init__(
        self,
        store: ChatStore,
        engines: EngineManager,
        channels: ChannelRegistry,
        tools: ToolRegistry,
    ) -> None:
        self._store = store
        self._engines = engines
        self._channels = channels
        self._tools = tools

    async def _publics(self, conversations: list[Conversation]) -> list[ConversationPublic]:
        live = await self._channels.live([c.id for c in conversations])
        publics = []
        for conversation in conversations:
            public = ConversationPublic.model_validate(conversation, from_attributes=True)
            state = live.get(conversation.id)
            if state is not None:
                public.last_seq = max(public.last_seq, state.last_seq)
                public.generating = state.generating
            publics.append(public)
        return publics

    async def _public(self, conversation: Conversation) -> ConversationPublic:
        return (await self._publics([conversation]))[0]

    def _check_model(self, model: str | None) -> None:
        """A conversation's model must be one this server knows (a field the client fixes)."""
        if model is not None:
            try:
                self._engines.resolve(model)
            except ModelUnavailable as exc:
                raise ParleyError(exc.message, code=exc.code, kind="invalid") from exc

    async def list_conversations(
        self, user_id: str, limit: int, cursor: str | None
    ) -> tuple[list[ConversationPublic], str | None]:
        rows, next_cursor = await self._store.conversation_page(user_id, limit, cursor)
        return await self._publics(rows), next_cursor

    async def create_conversation(
        self, user_id: str, data: ConversationCreate, max_conversations: int
    ) -> ConversationPublic:
        """QuotaExceeded when the user already keeps `max_conversations`."""
        self._check_model(data.model)
        now = utcnow()  # one instant: a new conversation has not been updated since
        conversation = Conversation(
            owner_id=user_id,
            created_at=now,
            updated_at=now,
            **data.model_dump(exclude_unset=True, exclude_none=True),
        )
        saved = await self._store.create_conversation(conversation, max_conversations)
        return await self._public(saved)

    async def conversation_detail(self, user_id: str, conversation_id: str) -> ConversationDetail:
        conversation = await owned(self._store, user_id, conversation_id)
        messages = await self._store.messages(conversation_id)
        public = await self._public(conversation)
        # From here on nothing awaits: the running answer is taken as it stands now.
        channel = self._channels.get(conversation_id)
        run = channel.active_run if channel else None
        shown = [run.message if run and run.id == message.id else message for message in messages]
        # The snapshot's last_seq is the newest event it holds. The live counters may be past
        # it (a message accepted while the rows were read): clients drop what a snapshot
        # claims to have and lacks, and that message reaches them by the socket instead.
        public.last_seq = max([conversation.last_seq, *map(newest_seq, shown)])
        return ConversationDetail(conversation=public, messages=[to_public(m) for m in shown])

    async def update_conversation(
        self, user_id: str, conversation_id: str, data: ConversationUpdate
    ) -> ConversationPublic:
        changes: dict[str, Any] = data.model_dump(exclude_unset=True)
        if "title" in changes and changes["title"] is None:
            del changes["title"]
        if changes.get("system_prompt") is None:
            changes.pop("system_prompt", None)
        if "current_leaf_id" in changes:
            leaf = changes["current_leaf_id"]
            if leaf is None:
                del changes["current_leaf_id"]
            elif not await self._store.has_message(conversation_id, leaf):
                await owned(self._store, user_id, conversation_id)  # a missing one: 404
                raise UnknownMessage(leaf)
        if "tools" in changes:
            picked = changes.pop("tools")
            if picked is not None:
                changes["tools"] = await self._checked_tools(user_id, conversation_id, picked)
        self._check_model(changes.get("model"))
        conversation = await self._store.update_conversation(user_id, conversation_id, changes)
        if conversation is None:
            raise ConversationNotFound(conversation_id)
        return await self._public(conversation)

    async def _checked_tools(
        self, user_id: str, conversation_id: str, picked: list[str]
    ) -> list[str]:
        """The picked tools without repeats; UnknownTool if one is no tool of a configured
        server the user may use (a missing conversation is a 404 first)."""
        unknown = self._tools.unknown(picked, await self._store.username(user_id) or "")
        if unknown:
            await owned(self._store, user_id, conversation_id)
            raise UnknownTool(unknown)
        return list(dict.fromkeys(picked))

    async def delete_conversation(self, user_id: str, conversation_id: str) -> None:
        await owned(self._store, user_id, conversation_id)
        channel = self._channels.get(conversation_id)
        run = channel.active_run if channel else None
        if run is not None:
            await run.stop()
            await run.wait()
        else:
            await self._channels.stop_run(conversation_id)  # one on another instance
        if not await self._store.delete_conversation(user_id, conversation_id):
            raise ConversationNotFound(conversation_id)
