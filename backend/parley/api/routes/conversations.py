"""Conversations of the current user."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, status

from parley.api.deps import ChatDep, CurrentUser
from parley.api.errors import ApiError, not_found
from parley.chat.service import ConversationNotFound
from parley.chat.store import BadCursor
from parley.models import (
    ConversationCreate,
    ConversationDetail,
    ConversationPage,
    ConversationPublic,
    ConversationUpdate,
)
from parley.protocol import ModelUnavailable

router = APIRouter(prefix="/api/conversations", tags=["conversations"])


def _unknown_model(exc: ModelUnavailable) -> ApiError:
    return ApiError(422, exc.code, exc.message)


@router.get("", response_model=ConversationPage)
async def list_conversations(
    user: CurrentUser,
    chat: ChatDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> ConversationPage:
    try:
        items, next_cursor = await chat.list_conversations(user.id, limit, cursor)
    except BadCursor as exc:
        raise ApiError(422, "bad_cursor", "The cursor is not one this server gave out.") from exc
    return ConversationPage(items=items, next_cursor=next_cursor)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ConversationPublic)
async def create_conversation(
    data: Annotated[
        ConversationCreate,
        Body(examples=[{"title": "Trip planning", "system_prompt": "Answer briefly."}]),
    ],
    user: CurrentUser,
    chat: ChatDep,
) -> ConversationPublic:
    try:
        return await chat.create_conversation(user.id, data)
    except ModelUnavailable as exc:
        raise _unknown_model(exc) from exc


@router.get("/{conversation_id}", response_model=ConversationDetail)
async def get_conversation(
    conversation_id: str, user: CurrentUser, chat: ChatDep
) -> ConversationDetail:
    try:
        return await chat.conversation_detail(user.id, conversation_id)
    except ConversationNotFound as exc:
        raise not_found() from exc


@router.patch("/{conversation_id}", response_model=ConversationPublic)
async def update_conversation(
    conversation_id: str,
    data: Annotated[ConversationUpdate, Body(examples=[{"title": "Renamed"}])],
    user: CurrentUser,
    chat: ChatDep,
) -> ConversationPublic:
    try:
        return await chat.update_conversation(user.id, conversation_id, data)
    except ConversationNotFound as exc:
        raise not_found() from exc
    except ModelUnavailable as exc:
        raise _unknown_model(exc) from exc


@router.delete("/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_conversation(conversation_id: str, user: CurrentUser, chat: ChatDep) -> None:
    try:
        await chat.delete_conversation(user.id, conversation_id)
    except ConversationNotFound as exc:
        raise not_found() from exc
