"""A conversation as every transport shows it (and as the Python client reads it).

SQLModel classes without a table, so `models.Conversation` (the table) shares their fields.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import field_validator
from sqlmodel import Field, SQLModel

from parley.protocol.messages import MessagePublic

# What a conversation is called until its first message names it, or someone renames it.
DEFAULT_TITLE = "New conversation"
TITLE_MAX = 200
SYSTEM_PROMPT_MAX = 16_000


class ConversationBase(SQLModel):
    title: str = Field(DEFAULT_TITLE, max_length=TITLE_MAX)
    model: str | None = Field(None, max_length=200)
    system_prompt: str = Field("", max_length=SYSTEM_PROMPT_MAX)
    # The default of a run's `options.thinking`; None leaves it to the model's template.
    thinking: bool | None = None
    # The newest message of the branch last written to or picked (None before any message).
    current_leaf_id: str | None = None


class ConversationPublic(ConversationBase):
    id: str
    created_at: datetime
    updated_at: datetime
    last_seq: int
    generating: bool = False
    # The tools answers may call, "<server>.<tool>" each.
    tools: list[str] = []

    @field_validator("tools", mode="before")
    @classmethod
    def _none_picked(cls, value: list[str] | None) -> list[str]:
        return value or []


class ConversationPage(SQLModel):
    items: list[ConversationPublic]
    next_cursor: str | None


class ConversationDetail(SQLModel):
    conversation: ConversationPublic
    messages: list[MessagePublic]
