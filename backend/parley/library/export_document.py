"""The document Parley exports and imports (JSON, version 1): conversations with every branch,
their messages, files and tool calls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from parley.files.names import NAME_MAX, clean_mime, clean_name
from parley.protocol import MessageRole, MessageStatus, ParleyError, ToolCallRecord, Usage
from parley.protocol.conversations import DEFAULT_TITLE, SYSTEM_PROMPT_MAX, TITLE_MAX
from parley.protocol.frames import SAFE_INT_MAX

EXPORT_FORMAT = "parley.export"
ID_MAX = 200
# The files.size column is a 32-bit integer on PostgreSQL.
FILE_SIZE_MAX = 2**31 - 1


def _in_utc(value: datetime) -> datetime:
    """A time as UTC, which the database keeps; one whose UTC is off the calendar (year 1 at
    +14:00, 9999-12-31 at -12:00) is refused here rather than failing to store."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is a date out of range") from None


def _content_type(value: str) -> str:
    mime = clean_mime(value)
    if not mime:
        raise ValueError("is not a content type (type/subtype)")
    return mime


def _counted(usage: Usage | None) -> Usage | None:
    if usage is not None and not (
        0 <= usage.prompt_tokens <= SAFE_INT_MAX and 0 <= usage.completion_tokens <= SAFE_INT_MAX
    ):
        raise ValueError(f"token counts must be between 0 and {SAFE_INT_MAX}")
    return usage


def _placed(calls: list[ToolCallRecord]) -> list[ToolCallRecord]:
    for call in calls:
        if not 0 <= call.content_offset <= SAFE_INT_MAX:
            raise ValueError(f"content_offset must be between 0 and {SAFE_INT_MAX}")
        if call.duration_ms is not None and not 0 <= call.duration_ms <= SAFE_INT_MAX:
            raise ValueError(f"duration_ms must be between 0 and {SAFE_INT_MAX}")
    return calls


ExportedTime = Annotated[AwareDatetime, AfterValidator(_in_utc)]


class BadImport(ParleyError):
    """A file that is not an export Parley reads; the message says why, for the user."""

    default_code = "bad_import"
    default_kind = "invalid"


class _Exported(BaseModel):
    # Newer exports may carry more; what this version knows is read, the rest ignored.
    model_config = ConfigDict(extra="ignore")


class ExportedAttachment(_Exported):
    id: str = Field(max_length=ID_MAX)
    # Names and types as an upload's are (a safe base name, a well-formed type).
    name: Annotated[str, Field(max_length=NAME_MAX), AfterValidator(clean_name)]
    size: int = Field(ge=0, le=FILE_SIZE_MAX)
    mime: Annotated[str, Field(max_length=100), AfterValidator(_content_type)]
    # The file's text, so that an import elsewhere can give it to prompts again.
    text: str = ""


class ExportedMessage(_Exported):
    id: str = Field(min_length=1, max_length=ID_MAX)
    parent_id: str | None = Field(None, max_length=ID_MAX)
    role: MessageRole
    content: str = ""
    thinking: str = ""
    status: MessageStatus = "complete"
    created_at: ExportedTime
    model: str | None = Field(None, max_length=200)
    finish_reason: Literal["stop", "length", "cancelled"] | None = None
    usage: Annotated[Usage | None, AfterValidator(_counted)] = None
    attachments: list[ExportedAttachment] = []
    # An answer's tool calls, placed in `content` by their `content_offset`.
    tool_calls: Annotated[list[ToolCallRecord], AfterValidator(_placed)] = []


class ExportedConversation(_Exported):
    id: str = Field(min_length=1, max_length=ID_MAX)
    title: str = Field(DEFAULT_TITLE, max_length=TITLE_MAX)
    model: str | None = Field(None, max_length=200)
    system_prompt: str = Field("", max_length=SYSTEM_PROMPT_MAX)
    thinking: bool | None = None
    current_leaf_id: str | None = Field(None, max_length=ID_MAX)
    created_at: ExportedTime
    updated_at: ExportedTime
    messages: list[ExportedMessage] = []


class ExportDocument(_Exported):
    format: Literal["parley.export"] = "parley.export"
    version: Literal[1] = 1
    exported_at: ExportedTime
    conversations: list[ExportedConversation]
