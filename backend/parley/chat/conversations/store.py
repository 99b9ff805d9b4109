"""Every query of the chat service, each in its own transaction off the event loop."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import Session, col, func, select

from parley.db import Database
from parley.models import Conversation, Message, User, utcnow
from parley.protocol import ParleyError, QuotaExceeded


class BadCursor(ParleyError):
    default_code = "bad_cursor"
    default_kind = "invalid"

    def __init__(self) -> None:
        super().__init__("The cursor is not one this server gave out.")


def encode_cursor(conversation: Conversation) -> str:
    raw = f"{conversation.updated_at.isoformat()}|{conversation.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        text, conversation_id = raw.split("|", 1)
        stamp = datetime.fromisoformat(text)
        if stamp.tzinfo is None:
            raise ValueError("cursor time without a timezone")
        # In UTC here, so a time at the edge of the calendar fails now and not in the query.
        return stamp.astimezone(UTC), conversation_id
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as exc:
        raise BadCursor() from exc


@dataclass(frozen=True, slots=True)
class AcceptedTurn:
    user: Message | None
    answer: Message


# The error text of an answer cut by a server that stopped or died.
INTERRUPTED_MESSAGE = "The server stopped before this answer finished."


def _detached_copy(message: Message) -> Message:
    return Message.model_validate(message.model_dump())


# What a run changes on its message as it streams and ends.
_ANSWER_PROGRESS = (
    "content",
    "thinking",
    "status",
    "deltas",
    "end_seq",
    "usage",
    "timings",
    "finish_reason",
    "error_code",
    "error_message",
    "tool_calls",
)


def check_conversation_room(
    session: Session, owner_id: str, adding: int, max_per_owner: int
) -> None:
    """QuotaExceeded when `adding` more conversations would make the owner keep more than
    `max_per_owner`. Run it in the write transaction that adds them: writes take one lock
    (db.py), so conversations made at once, on any instance, cannot pass it together."""
    owner = col(Conversation.owner_id) == owner_id
    held = session.exec(select(func.count()).select_from(Conversation).where(owner)).one()
    if held + adding > max_per_owner:
        raise QuotaExceeded(
            "too_many_conversations", "conversations", max_per_owner, "max_conversations_per_user"
        )


class ChatStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---------- conversations ----------

    async def conversation(self, owner_id: str, conversation_id: str) -> Conversation | None:
        def work(session: Session) -> Conversation | None:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None or conversation.owner_id != owner_id:
                return None
            return conversation

        return await self.db.read(work)

    async def username(self, user_id: str) -> str | None:
        """Whose name the tool servers' `allow` lists are checked against."""
        return await self.db.read(
            lambda session: session.exec(select(User.username).where(User.id == user_id)).first()
        )

    async def conversation_by_id(self, conversation_id: str) -> Conversation | None:
        return await self.db.read(lambda session: session.get(Conversation, conversation_id))

    async def conversation_page(
        self, owner_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Conversation], str | None]:
        after = decode_cursor(cursor) if cursor else None

        def work(session: Session) -> list[Conversation]:
            query = select(Conversation).where(Conversation.owner_id == owner_id)
            if after is not None:
                stamp, last_id = after
                query = query.where(
                    or_(
                        col(Conversation.updated_at) < stamp,
                        and_(col(Conversation.updated_at) == stamp, col(Conversation.id) < last_id),
                    )
                )
            query = query.order_by(col(Conversation.updated_at).desc(), col(Conversation.id).desc())
            return list(session.exec(query.limit(limit + 1)).all())

        rows = await self.db.read(work)
        next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
        return rows[:limit], next_cursor

    async def create_conversation(
        self, conversation: Conversation, max_per_owner: int | None = None
    ) -> Conversation:
        """Saved; QuotaExceeded when its owner already keeps `max_per_owner` (None: no cap)."""

        def work(session: Session) -> Conversation:
            if max_per_owner is not None:
                check_conversation_room(session, conversation.owner_id, 1, max_per_owner)
            session.add(conversation)
            session.flush()
            return conversation

        return await self.db.write(work)

    async def update_conversation(
        self, owner_id: str, conversation_id: str, changes: dict[str, Any]
    ) -> Conversation | None:
        def work(session: Session) -> Conversation | None:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None or conversation.owner_id != owner_id:
                return None
            for name, value in changes.items():
                setattr(conversation, name, value)
            conversation.updated_at = utcnow()
            session.add(conversation)
            session.flush()
            return conversation

        return await self.db.write(work)

    async def delete_conversation(self, owner_id: str, conversation_id: str) -> bool:
        def work(session: Session) -> bool:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None or conversation.owner_id != owner_id:
                return False
            session.delete(conversation)
            return True

        return await self.db.write(work)

    async def reserve_seqs(self, conversation_id: str, reserved: int) -> None:
        def work(session: Session) -> None:
            conversation = session.get(Conversation, conversation_id)
            if conversation is not None and conversation.seq_reserved < reserved:
                conversation.seq_reserved = reserved
                session.add(conversation)

        await self.db.write(work)

    # ---------- messages ----------

    async def messages(self, conversation_id: str) -> list[Message]:
        def work(session: Session) -> list[Message]:
            query = (
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(col(Message.seq))
            )
            return list(session.exec(query).all())

        return await self.db.read(work)

    async def messages_since(self, conversation_id: str, after_seq: int) -> list[Message]:
        """Messages with an event above `after_seq`, and any still streaming."""

        def work(session: Session) -> list[Message]:
            query = (
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .where(
                    or_(
                        col(Message.seq) > after_seq,
                        col(Message.end_seq) > after_seq,
                        col(Message.status) == "streaming",
                    )
                )
                .order_by(col(Message.seq))
            )
            return list(session.exec(query).all())

        return await self.db.read(work)

    async def message(self, message_id: str) -> Message | None:
        return await self.db.read(lambda session: session.get(Message, message_id))

    async def streaming_answers(self) -> list[Message]:
        """Answers whose run has not ended (or whose process died before it could say so)."""
        return await self.db.read(
            lambda session: list(
                session.exec(select(Message).where(Message.status == "streaming")).all()
            )
        )

    async def has_message(self, conversation_id: str, message_id: str) -> bool:
        def work(session: Session) -> bool:
            message = session.get(Message, message_id)
            return message is not None and message.conversation_id == conversation_id

        return await self.db.read(work)

    async def message_by_client_id(self, conversation_id: str, client_id: str) -> Message | None:
        def work(session: Session) -> Message | None:
            query = select(Message).where(
                Message.conversation_id == conversation_id, Message.client_id == client_id
            )
            return session.exec(query).first()

        return await self.db.read(work)

    async def accept_turn(
        self,
        conversation_id: str,
        user: Message | None,
        answer: Message,
        last_seq: int,
        title: str | None = None,
    ) -> AcceptedTurn:
        """Store a user message (none for a regenerate) and the empty answer that follows it,
        and the conversation's new title if it gets one."""

        def work(session: Session) -> AcceptedTurn:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                raise LookupError("conversation deleted")
            if user is not None:
                session.add(user)
            session.add(answer)
            conversation.last_seq = last_seq
            conversation.seq_reserved = max(conversation.seq_reserved, last_seq)
            conversation.updated_at = utcnow()
            # The new answer is where the conversation goes on from.
            conversation.current_leaf_id = answer.id
            if title is not None:
                conversation.title = title
            session.add(conversation)
            session.flush()
            return AcceptedTurn(
                user=_detached_copy(user) if user is not None else None,
                answer=_detached_copy(answer),
            )

        return await self.db.write(work)

    async def save_answer(self, answer: Message, last_seq: int) -> None:
        """Save the answer as it stands now (the values are taken before this awaits)."""
        values = {name: getattr(answer, name) for name in _ANSWER_PROGRESS}
        # The list grows while the write waits for its turn; its entries never change, and
        # the other values are replaced, never changed in place.
        values["deltas"] = list(answer.deltas or [])
        message_id, conversation_id = answer.id, answer.conversation_id

        def work(session: Session) -> None:
            stored = session.get(Message, message_id)
            conversation = session.get(Conversation, conversation_id)
            if stored is None or conversation is None:
                return  # deleted while it streamed
            for name, value in values.items():
                setattr(stored, name, value)
            session.add(stored)
            conversation.last_seq = max(conversation.last_seq, last_seq)
            conversation.updated_at = utcnow()
            session.add(conversation)

        await self.db.write(work)

    # ---------- start-up ----------

    def mark_interrupted(self) -> int:
        """Close answers left `streaming` by a dead process (blocking; runs before serving)."""

        def work(session: Session) -> int:
            stale = session.exec(select(Message).where(Message.status == "streaming")).all()
            for message in stale:
                conversation = session.get(Conversation, message.conversation_id)
                assert conversation is not None
                # Above every seq the dead process may have sent.
                seq = max(conversation.seq_reserved, conversation.last_seq) + 1
                conversation.last_seq = conversation.seq_reserved = seq
                message.status = "interrupted"
                message.end_seq = seq
                message.error_code = "interrupted"
                message.error_message = INTERRUPTED_MESSAGE
                session.add(message)
                session.add(conversation)
            return len(stale)

        return self.db.run_write(work)
