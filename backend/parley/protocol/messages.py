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
