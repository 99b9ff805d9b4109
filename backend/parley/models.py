"""Tables and their public shapes: one SQLModel family per entity."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, field_validator
from sqlalchemy import JSON, Column, DateTime, Dialect, Index, TypeDecorator
from sqlmodel import Field, SQLModel

from parley.protocol.conversations import (
    SYSTEM_PROMPT_MAX,
    TITLE_MAX,
    ConversationBase,
)

USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{3,32}$"
PASSWORD_MIN_BYTES = 8
PASSWORD_MAX_BYTES = 72  # bcrypt reads no further than this


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[datetime]):
    """Times stored in UTC and read back timezone-aware (SQLite keeps no zone itself)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def _utc_column(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), **kwargs))


# ---------- users ----------


class UserBase(SQLModel):
    # SQLModel's `regex=` is ignored under pydantic 2: the pattern must travel as `pattern`.
    username: str = Field(min_length=3, max_length=32, schema_extra={"pattern": USERNAME_PATTERN})


class UserCreate(UserBase):
    password: str

    @field_validator("password")
    @classmethod
    def _password_bytes(cls, value: str) -> str:
        size = len(value.encode("utf-8"))
        if not PASSWORD_MIN_BYTES <= size <= PASSWORD_MAX_BYTES:
            raise ValueError(
                f"password must be {PASSWORD_MIN_BYTES}-{PASSWORD_MAX_BYTES} bytes in UTF-8"
            )
        return value


class User(UserBase, table=True):
    __tablename__ = "users"

    id: str = Field(default_factory=new_id, primary_key=True)
    username: str = Field(unique=True, index=True, max_length=32)
    password_hash: str
    is_admin: bool = False
    # Bumped at logout and when disabled: every token carrying an older version stops working.
    token_version: int = 0
    # Set by an administrator: the user's tokens and API keys stop working, login is refused.
    disabled: bool = False
    created_at: datetime = _utc_column(nullable=False)


class UserPublic(UserBase):
    id: str
    is_admin: bool = False
    disabled: bool = False
    created_at: datetime


class UserAdminUpdate(SQLModel):
    """What an administrator may change of a user; fields left out stay as they are."""

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"disabled": True}, {"is_admin": True}]},
    }

    disabled: bool | None = None
    is_admin: bool | None = None


# ---------- conversations ----------


class ConversationCreate(SQLModel):
    title: str | None = Field(None, min_length=1, max_length=TITLE_MAX)
    model: str | None = Field(None, max_length=200)
    system_prompt: str | None = Field(None, max_length=SYSTEM_PROMPT_MAX)
    thinking: bool | None = Field(
        None, description="Whether answers think first; null leaves it to the model."
    )


# A conversation's picked tools, "<server>.<tool>" each.
TOOL_NAME_MAX = 200
MAX_PICKED_TOOLS = 64


class ConversationUpdate(ConversationCreate):
    tools: list[Annotated[str, Field(min_length=1, max_length=TOOL_NAME_MAX)]] | None = Field(
        None,
        max_length=MAX_PICKED_TOOLS,
        description='The tools answers may call, "<server>.<tool>" as GET /api/tools lists '
        "them; [] for none.",
    )
    current_leaf_id: str | None = Field(
        None,
        max_length=100,
        description="Show this branch: a message of the conversation, the newest of the branch "
        "shown; the next message sent without a parent_id follows it.",
    )


class Conversation(ConversationBase, table=True):
    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_owner_updated", "owner_id", "updated_at", "id"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(foreign_key="users.id", ondelete="CASCADE")
    # The tools answers may call ("<server>.<tool>"); None: none picked yet.
    tools: list[str] | None = Field(default=None, sa_column=Column(JSON))
    # The seq of the last event of this conversation; events are numbered per conversation.
    last_seq: int = 0
    # Seqs are handed out in blocks reserved here before use, so after a crash the next seq
    # is above any seq a client may already have seen, even one that was never saved.
    seq_reserved: int = 0
    created_at: datetime = _utc_column(nullable=False)
    updated_at: datetime = _utc_column(nullable=False)


# ---------- messages ----------


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_seq", "conversation_id", "seq"),
        Index("ix_messages_conversation_client", "conversation_id", "client_id", unique=True),
    )

    id: str = Field(default_factory=new_id, primary_key=True)
    conversation_id: str = Field(foreign_key="conversations.id", ondelete="CASCADE")
    parent_id: str | None = Field(default=None, foreign_key="messages.id", ondelete="CASCADE")
    role: str
    content: str = ""
    thinking: str = ""
    status: str = "complete"
    client_id: str | None = None
    model: str | None = None
    # The seq of the event that created the message (`message` or `start`).
    seq: int = 0
    # An answer's stream as [seq, channel ("t" thinking, "c" chunk), length] triples over
    # `thinking`/`content`, so the exact events can be replayed; `end_seq` is its `end`/`error`.
    deltas: list[list[Any]] | None = Field(default=None, sa_column=Column(JSON))
    end_seq: int | None = None
    usage: dict[str, int] | None = Field(default=None, sa_column=Column(JSON))
    timings: dict[str, float | None] | None = Field(default=None, sa_column=Column(JSON))
    finish_reason: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    # The files sent with a user message, as AttachmentPublic dicts (their text is in `files`).
    attachments: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    # An answer's tool calls in order, as ToolCallRecord dicts (each replaced, never changed in
    # place, as the call runs); their events are in `deltas`.
    tool_calls: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = _utc_column(nullable=False)


# ---------- uploaded files ----------


class StoredFile(SQLModel, table=True):
    """An upload: its name, type and size, and the text a prompt gets from it. The bytes
    themselves are not kept: only their text is ever used."""

    __tablename__ = "files"

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=255)
    mime: str = Field(max_length=100)
    size: int
    text: str
    created_at: datetime = _utc_column(nullable=False)


# ---------- stored responses (/v1/responses) ----------


class StoredResponse(SQLModel, table=True):
    """A Response of OpenAI's Responses API kept for its owner (`store`), in the shape the
    API shows it; api/responses_schemas.py reads and writes `body` and `input_items`."""

    __tablename__ = "responses"

    id: str = Field(primary_key=True, max_length=64)
    owner_id: str = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    # The Response's status, apart so that start-up finds the background ones a crash cut.
    status: str = Field(max_length=16)
    background: bool = False
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # The items the answer was made from: those of the responses it continues, then its input.
    input_items: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc_column(nullable=False)


class StoredResponseEvent(SQLModel, table=True):
    """One typed event of a background response's stream, kept so that a client can replay
    it from any `sequence_number`, on any instance and after a restart."""

    __tablename__ = "response_events"

    response_id: str = Field(foreign_key="responses.id", ondelete="CASCADE", primary_key=True)
    sequence_number: int = Field(primary_key=True)
    event: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


# ---------- the signing secret ----------


class SecretFingerprint(SQLModel, table=True):
    """The fingerprint of the secret that signs the database's tokens (never the secret), so
    an instance started with another secret says so instead of issuing tokens no other
    instance accepts."""

    __tablename__ = "secret_fingerprints"

    # What the secret signs; one row per purpose ("tokens").
    purpose: str = Field(primary_key=True, max_length=32)
    fingerprint: str = Field(max_length=64)
    created_at: datetime = _utc_column(nullable=False)


# ---------- API keys ----------

API_KEY_PREFIX = "pk-"


class ApiKeyBase(SQLModel):
    name: str = Field(min_length=1, max_length=100, description="What the key is for.")


class ApiKeyCreate(ApiKeyBase):
    expires_at: AwareDatetime | None = Field(
        None, description="When the key stops working (with a time zone); never if left out."
    )

    @field_validator("expires_at")
    @classmethod
    def _in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value <= utcnow():
            raise ValueError("expires_at must be in the future")
        return value


class ApiKey(ApiKeyBase, table=True):
    """A long-lived credential for scripts. Only its SHA-256 is kept; logout leaves it valid."""

    __tablename__ = "api_keys"

    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    key_hash: str = Field(unique=True, index=True, max_length=64)
    # The key's first characters, enough to tell keys apart in a list.
    hint: str = Field(max_length=32)
    created_at: datetime = _utc_column(nullable=False)
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ApiKeyPublic(ApiKeyBase):
    id: str
    hint: str
    created_at: datetime
    expires_at: datetime | None = None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The key itself; shown this once and never again.")
