"""A message as every transport shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from parley.protocol.progress import FinishReason, Usage

MessageRole = Literal["user", "assistant"]
MessageStatus = Literal["complete", "streaming", "cancelled", "interrupted", "error"]


class Timings(BaseModel):
    ttft_ms: float | None
    tokens_per_s: float | None


class AttachmentPublic(BaseModel):
    """A file as a message (or an upload's answer) shows it; its text stays on the server."""

    id: str
    name: str
    size: int
    mime: str


class MessagePublic(BaseModel):
    id: str
    parent_id: str | None
    role: MessageRole
    content: str
    thinking: str
    status: MessageStatus
    created_at: datetime
    seq: int
    usage: Usage | None = None
    client_id: str | None = None
    model: str | None = None
    # Set once an answer has ended (null while it streams, and for user messages).
    finish_reason: FinishReason | None = None
    timings: Timings | None = None
    # The files sent with a user message (always empty for an answer).
    attachments: list[AttachmentPublic] = []
