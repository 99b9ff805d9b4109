"""The document Parley exports and imports (JSON, version 1): conversations with every branch,
their messages, files and tool calls."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from parley.protocol import MessageRole, MessageStatus, ParleyError, ToolCallRecord, Usage
from parley.protocol.conversations import DEFAULT_TITLE, SYSTEM_PROMPT_MAX, TITLE_MAX

EXPORT_FORMAT = "parley.export"
ID_MAX = 200


class BadImport(ParleyError):
    """A file that is not an export Parley reads; the message says why, for the user."""

    default_code = "bad_import"
    default_kind = "invalid"


class _Exported(BaseModel):
    # Newer exports may carry more; what this version knows is read, the rest ignored.
    model_config = ConfigDict(extra="ignore")


class ExportedAttachment(_Exported):
    id: str = Field(max_length=ID_MAX)
    name: str = Field(max_length=255)
    size: int = Field(ge=0)
    mime: str = Field(max_length=100)
    # The file's text, so that an import elsewhere can give it to prompts again.
    text: str = ""


class ExportedMessage(_Exported):
    id: str = Field(min_length=1, max_length=ID_MAX)
    parent_id: str | None = Field(None, max_length=ID_MAX)
    role: MessageRole
    content: str = ""
    thinking: str = ""
    status: MessageStatus = "complete"
    created_at: AwareDatetime
    model: str | None = Field(None, max_length=200)
    finish_reason: Literal["stop", "length", "cancelled"] | None = None
    usage: Usage | None = None
    attachments: list[ExportedAttachment] = []
    # An answer's tool calls, placed in `content` by their `content_offset`.
    tool_calls: list[ToolCallRecord] = []


class ExportedConversation(_Exported):
    id: str = Field(min_length=1, max_length=ID_MAX)
    title: str = Field(DEFAULT_TITLE, max_length=TITLE_MAX)
    model: str | None = Field(None, max_length=200)
    system_prompt: str = Field("", max_length=SYSTEM_PROMPT_MAX)
    thinking: bool | None = None
    current_leaf_id: str | None = Field(None, max_length=ID_MAX)
    created_at: AwareDatetime
    updated_at: AwareDatetime
    messages: list[ExportedMessage] = []


class ExportDocument(_Exported):
    format: Literal["parley.export"] = "parley.export"
    version: Literal[1] = 1
    exported_at: AwareDatetime
    conversations: list[ExportedConversation]
