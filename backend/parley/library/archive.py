"""A user's conversations as a whole: search, export and import.

An import stores everything or nothing (one transaction), under new ids, so a file can be
imported twice, or into the account it came from, without clashing. Imported answers get the
seqs and stream records a run would have given them, so a socket replays them like any other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from parley.chat.conversations.events import CHUNK, THINKING, TOOL_CALL, TOOL_RESULT
from parley.chat.conversations.store import check_conversation_room
from parley.chat.conversations.tree import current_branch
from parley.chat.errors import ConversationNotFound
from parley.db import Database
from parley.files.attachments import check_text_room
from parley.library.export_document import (
    ExportDocument,
    ExportedAttachment,
    ExportedConversation,
    ExportedMessage,
)
from parley.library.search import SearchHit, SearchIndex
from parley.library.transfer import (
    ImportLimits,
    conversation_markdown,
    exported_conversation,
    read_import,
    tree_order,
)
from parley.models import Conversation, Message, StoredFile, new_id, utcnow
from parley.workers import PerUserLimit, run_cpu


@dataclass(frozen=True, slots=True)
class ImportedRows:
    conversation: Conversation
    messages: list[Message]
    files: list[StoredFile]


@dataclass(frozen=True, slots=True)
class OwnerCaps:
    """What one user may keep, which an import counts against as uploads and new
    conversations do."""

    max_conversations: int
    max_stored_chars: int


class ArchiveStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def conversations_with_messages(
        self, owner_id: str, conversation_id: str | None = None
    ) -> list[tuple[Conversation, list[Message], dict[str, StoredFile]]]:
        """The caller's conversations (one, or all, oldest first), each with its messages in
        seq order and the files they carry."""

        def work(
            session: Session,
        ) -> list[tuple[Conversation, list[Message], dict[str, StoredFile]]]:
            query = select(Conversation).where(Conversation.owner_id == owner_id)
            if conversation_id is not None:
                query = query.where(Conversation.id == conversation_id)
            conversations = session.exec(query.order_by(col(Conversation.created_at))).all()
            by_conversation: dict[str, list[Message]] = {c.id: [] for c in conversations}
            messages = session.exec(
                select(Message)
                .join(Conversation, col(Conversation.id) == col(Message.conversation_id))
                .where(Conversation.owner_id == owner_id)
                .where(col(Message.conversation_id).in_(by_conversation))
                .order_by(col(Message.seq))
            ).all()
            for message in messages:
                by_conversation[message.conversation_id].append(message)
            file_ids = {a["id"] for m in messages for a in m.attachments or []}
            files = {
                f.id: f
                for f in session.exec(
                    select(StoredFile).where(
                        col(StoredFile.id).in_(file_ids), StoredFile.owner_id == owner_id
                    )
                ).all()
            }
            return [
                (
                    c,
                    by_conversation[c.id],
                    {
                        a["id"]: files[a["id"]]
                        for m in by_conversation[c.id]
                        for a in m.attachments or []
                        if a["id"] in files
                    },
                )
                for c in conversations
            ]

        return await self.db.read(work)

    async def add_imported(self, imported: Sequence[ImportedRows], caps: OwnerCaps) -> None:
        """Everything of an import in one transaction: all of it is stored or none (none,
        with QuotaExceeded, past the owner's caps)."""

        def work(session: Session) -> None:
            if imported:
                owner_id = imported[0].conversation.owner_id
                check_conversation_room(session, owner_id, len(imported), caps.max_conversations)
                chars = sum(len(file.text) for rows in imported for file in rows.files)
                check_text_room(session, owner_id, chars, caps.max_stored_chars)
            for rows in imported:
                session.add_all(rows.files)
                session.add(rows.conversation)
                session.flush()
                # In tree order, which rows of one table keep: parents are inserted first.
                session.add_all(rows.messages)
                session.flush()

        await self.db.write(work)


def _attachment_of(stored: StoredFile) -> ExportedAttachment:
    return ExportedAttachment(
        id=stored.id, name=stored.name, size=stored.size, mime=stored.mime, text=stored.text
    )


def _replayable(message: Message, first_seq: int) -> int:
    """Give an imported message the seqs of the events a run would have sent for it (user:
    `message`; answer: `start`, one `thinking`, a `chunk` of the text before each tool call,
    its `tool_call` and `tool_result`, a `chunk` of the rest, the end) and return the next."""
    message.seq = first_seq
    if message.role == "user":
        return first_seq + 1
    seq = first_seq + 1
    deltas: list[list[object]] = []
    if message.thinking:
        deltas.append([seq, THINKING, len(message.thinking)])
        seq += 1
    start = 0
    for index, record in enumerate(message.tool_calls or []):
        offset = record["content_offset"]
        if offset > start:
            deltas.append([seq, CHUNK, offset - start])
            seq += 1
        start = offset
        deltas.append([seq, TOOL_CALL, index])
        seq += 1
        if record["result"] is not None:
            deltas.append([seq, TOOL_RESULT, index])
            seq += 1
    if len(message.content) > start:
        deltas.append([seq, CHUNK, len(message.content) - start])
        seq += 1
    message.deltas = deltas
    message.end_seq = seq
    return seq + 1


def _ending(message: Message, exported: ExportedMessage) -> None:
    """How an imported answer ended: an answer cut mid-stream in its source is interrupted."""
    if exported.status in ("complete", "cancelled"):
        message.status = exported.status
        message.finish_reason = exported.finish_reason or (
            "cancelled" if exported.status == "cancelled" else "stop"
        )
        return
    message.status = "error" if exported.status == "error" else "interrupted"
    message.error_code = "generation_failed" if exported.status == "error" else "interrupted"
    message.error_message = "This answer did not finish where it was exported from."


def imported_rows(
    owner_id: str,
    exported: ExportedConversation,
    model_served: Callable[[str], bool],
) -> ImportedRows:
    """New rows (new ids) for one conversation of an import, owned by `owner_id`."""
    conversation_id = new_id()
    ids = {m.id: new_id() for m in exported.messages}
    files: dict[str, StoredFile] = {}
    messages: list[Message] = []
    seq = 1
    for source in tree_order(exported.messages):
        attachments = []
        for a in source.attachments:
            stored = files.get(a.id)
            if stored is None:
                stored = files[a.id] = StoredFile(
                    owner_id=owner_id, name=a.name, mime=a.mime, size=a.size, text=a.text
                )
            attachments.append({"id": stored.id, "name": a.name, "size": a.size, "mime": a.mime})
        message = Message(
            id=ids[source.id],
            conversation_id=conversation_id,
            parent_id=ids[source.parent_id] if source.parent_id else None,
            role=source.role,
            content=source.content,
            thinking=source.thinking if source.role == "assistant" else "",
            model=source.model,
            usage=dataclasses.asdict(source.usage) if source.usage else None,
            attachments=attachments or None,
            tool_calls=[call.model_dump() for call in source.tool_calls] or None,
            created_at=source.created_at,
        )
        if source.role == "assistant":
            _ending(message, source)
        seq = _replayable(message, seq)
        messages.append(message)
    leaf = ids.get(exported.current_leaf_id or "")
    if leaf is None and messages:
        leaf = max(messages, key=lambda m: (m.created_at, m.seq)).id
    conversation = Conversation(
        id=conversation_id,
        owner_id=owner_id,
        title=exported.title,
        model=exported.model if exported.model and model_served(exported.model) else None,
        system_prompt=exported.system_prompt,
        thinking=exported.thinking,
        current_leaf_id=leaf,
        last_seq=seq - 1,
        seq_reserved=seq - 1,
        created_at=exported.created_at,
        # The time of the import, so that imported conversations come first in the list.
        updated_at=utcnow(),
    )
    return ImportedRows(conversation, messages, list(files.values()))


class ArchiveService:
    def __init__(
        self,
        store: ArchiveStore,
        index: SearchIndex,
        limits: ImportLimits,
        model_served: Callable[[str], bool],
        imports: PerUserLimit,
        caps: OwnerCaps,
    ) -> None:
        self._imports = imports
        self._caps = caps
        self._store = store
        self._index = index
        self.limits = limits
        self._model_served = model_served

    async def search(self, owner_id: str, query: str, limit: int) -> list[SearchHit]:
        return await self._index.search(owner_id, query, limit)

    async def export(self, owner_id: str, conversation_id: str | None = None) -> ExportDocument:
        """One conversation (ConversationNotFound if it is not the caller's) or all of them."""
        found = await self._store.conversations_with_messages(owner_id, conversation_id)
        if conversation_id is not None and not found:
            raise ConversationNotFound(conversation_id)
        return ExportDocument(
            exported_at=utcnow(),
            conversations=[
                exported_conversation(
                    conversation,
                    messages,
                    {file_id: _attachment_of(f) for file_id, f in files.items()},
                )
                for conversation, messages, files in found
            ],
        )

    async def markdown(self, owner_id: str, conversation_id: str) -> tuple[Conversation, str]:
        found = await self._store.conversations_with_messages(owner_id, conversation_id)
        if not found:
            raise ConversationNotFound(conversation_id)
        conversation, messages, _ = found[0]
        branch = current_branch(messages, conversation.current_leaf_id)
        return conversation, conversation_markdown(conversation, branch)

    async def import_file(self, owner_id: str, raw: bytes) -> list[str]:
        """Store every conversation of an export; raises BadImport and then stores nothing,
        and TooManyAtOnce past the user's imports at once."""

        def prepare() -> list[ImportedRows]:
            conversations = read_import(raw, self.limits)
            return [imported_rows(owner_id, c, self._model_served) for c in conversations]

        with self._imports.slot(owner_id):
            # Reading tens of megabytes of JSON takes a while: on the CPU pool.
            rows = await run_cpu(prepare)
            await self._store.add_imported(rows, self._caps)
        return [r.conversation.id for r in rows]
