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


class ToolCallRecord(BaseModel):
    """One tool call of an answer as stored and replayed; `content_offset` is the length of the
    answer's `content` when the call was made, so a client can place it in the text."""

    call_id: str
    name: str
    arguments: str
    # Null while the call runs (and for a call cut short by `stop`).
    result: str | None = None
    is_error: bool = False
    content_offset: int
    duration_ms: float | None = None


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
    # The tools an answer called, in order (always empty for a user message).
    tool_calls: list[ToolCallRecord] = []
