"""Conversations of the current user."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, status

from parley.api.deps import ConversationsDep, CurrentUser, SettingsDep
from parley.models import ConversationCreate, ConversationUpdate
from parley.protocol import ConversationDetail, ConversationPage, ConversationPublic

router = APIRouter(prefix="/api/conversations", tags=["conversations"])


@router.get("", response_model=ConversationPage)
async def list_conversations(
    user: CurrentUser,
    conversations: ConversationsDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> ConversationPage:
    items, next_cursor = await conversations.list_conversations(user.id, limit, cursor)
    return ConversationPage(items=items, next_cursor=next_cursor)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ConversationPublic)
async def create_conversation(
    data: Annotated[
        ConversationCreate,
        Body(examples=[{"title": "Trip planning", "system_prompt": "Answer briefly."}]),
    ],
    user: CurrentUser,
    conversations: ConversationsDep,
    settings: SettingsDep,
) -> ConversationPublic:
    return await conversations.create_conversation(
        user.id, data, settings.max_conversations_per_user
    )


@router.get("/{conversation_id}", response_model=ConversationDetail)
async def get_conversation(
    conversation_id: str, user: CurrentUser, conversations: ConversationsDep
) -> ConversationDetail:
    return await conversations.conversation_detail(user.id, conversation_id)


@router.patch("/{conversation_id}", response_model=ConversationPublic)
async def update_conversation(
    conversation_id: str,
    data: Annotated[ConversationUpdate, Body(examples=[{"title": "Renamed"}])],
    user: CurrentUser,
    conversations: ConversationsDep,
) -> ConversationPublic:
    return await conversations.update_conversation(user.id, conversation_id, data)


@router.delete("/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_conversation(
    conversation_id: str, user: CurrentUser, conversations: ConversationsDep
) -> None:
    await conversations.delete_conversation(user.id, conversation_id)
