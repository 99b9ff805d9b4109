"""Conversations in and out of Parley: its own JSON export (every branch; the document is
export_document.py's), Markdown (one branch, for reading), and imports of either that or
ChatGPT's `conversations.json` (chatgpt_import.py), checked against the limits.

Everything here is pure: documents in, documents out. `archive.py` stores and loads them.
"""

from __future__ import annotations

import heapq
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from parley.files.attachments import FILE_TEXT_MAX_CHARS, capped_text
from parley.library.chatgpt_import import TextBudget, chatgpt_conversation
from parley.library.export_document import (
    EXPORT_FORMAT,
    BadImport,
    ExportDocument,
    ExportedAttachment,
    ExportedConversation,
    ExportedMessage,
)
from parley.models import Conversation, Message, utcnow
from parley.protocol import ToolCallRecord, Usage


def exported_message(message: Message, files: Mapping[str, ExportedAttachment]) -> ExportedMessage:
    attachments = [
        files.get(a["id"]) or ExportedAttachment.model_validate(a)
        for a in message.attachments or []
    ]
    return ExportedMessage(
        id=message.id,
        parent_id=message.parent_id,
        role=message.role,
        content=message.content,
        thinking=message.thinking,
        status=message.status,
        created_at=message.created_at,
        model=message.model,
        finish_reason=message.finish_reason,
        usage=Usage(**message.usage) if message.usage else None,
        attachments=attachments,
        tool_calls=[ToolCallRecord.model_validate(r) for r in message.tool_calls or []],
    )


def exported_conversation(
    conversation: Conversation,
    messages: Sequence[Message],
    files: Mapping[str, ExportedAttachment],
) -> ExportedConversation:
    return ExportedConversation(
        id=conversation.id,
        title=conversation.title,
        model=conversation.model,
        system_prompt=conversation.system_prompt,
        thinking=conversation.thinking,
        current_leaf_id=conversation.current_leaf_id,
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
        messages=[exported_message(m, files) for m in messages],
    )


# ---------- Markdown ----------


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def conversation_markdown(conversation: Conversation, branch: Sequence[Message]) -> str:
    """One branch as a Markdown document: thinking folded away in a <details> block."""
    lines = [f"# {conversation.title}", ""]
    facts = [f"Exported from Parley, {utcnow():%Y-%m-%d %H:%M} UTC"]
    if conversation.model:
        facts.append(f"model {conversation.model}")
    lines += [f"*{' · '.join(facts)}*", ""]
    if conversation.system_prompt.strip():
        lines += ["**System prompt**", "", _quote(conversation.system_prompt), ""]
    for message in branch:
        heading = "User" if message.role == "user" else "Assistant"
        lines += [f"## {heading}", ""]
        for a in message.attachments or []:
            lines.append(f"📎 `{a['name']}` ({a['mime']}, {a['size']} bytes)")
        if message.attachments:
            lines.append("")
        if message.thinking.strip():
            lines += [
                "<details>",
                "<summary>Thinking</summary>",
                "",
                message.thinking.strip(),
                "",
                "</details>",
                "",
            ]
        lines += _answer_markdown(message)
        if message.status not in ("complete", "streaming"):
            lines += [f"*({message.status})*", ""]
    return "\n".join(lines).rstrip() + "\n"


def _answer_markdown(message: Message) -> list[str]:
    """The text, each tool call quoted where it was made."""
    lines: list[str] = []
    start = 0
    for record in (ToolCallRecord.model_validate(r) for r in message.tool_calls or []):
        if message.content[start : record.content_offset].strip():
            lines += [message.content[start : record.content_offset].strip(), ""]
        start = record.content_offset
        outcome = "no result" if record.result is None else record.result
        label = "error" if record.is_error else "result"
        lines += [
            f"> 🔧 `{record.name}` `{record.arguments}`",
            ">",
            _quote(f"{label}: {outcome}" if record.result is not None else outcome),
            "",
        ]
    if message.content[start:].strip():
        lines += [message.content[start:].strip(), ""]
    return lines


# ---------- reading an import ----------


@dataclass(frozen=True, slots=True)
class ImportLimits:
    max_bytes: int
    max_conversations: int
    max_messages: int
    max_file_text_chars: int = FILE_TEXT_MAX_CHARS


def _not_json(constant: str) -> Any:
    # Python reads NaN and Infinity, which JSON (and PostgreSQL's json) has no place for.
    raise json.JSONDecodeError(f"{constant} is not a JSON value", constant, 0)


def _json(raw: bytes, max_bytes: int) -> Any:
    if raw.startswith(b"PK\x03\x04"):
        raw = _conversations_from_zip(raw, max_bytes)
    try:
        return json.loads(raw.decode("utf-8-sig"), parse_constant=_not_json)
    except UnicodeDecodeError as exc:
        raise BadImport("The file is not UTF-8 text.") from exc
    except (json.JSONDecodeError, RecursionError) as exc:
        raise BadImport(f"The file is not valid JSON: {exc}") from exc


def _conversations_from_zip(raw: bytes, max_bytes: int) -> bytes:
    """ChatGPT hands its export out as a zip with conversations.json inside."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == "conversations.json"]
            if not names:
                raise BadImport("The zip file holds no conversations.json.")
            info = archive.getinfo(names[0])
            # The size an import may have applies to what the zip unpacks to, as well.
            if info.file_size > max_bytes:
                raise BadImport(
                    f"conversations.json in the zip file unpacks to more than {max_bytes} bytes."
                )
            with archive.open(info) as member:
                unpacked = member.read(max_bytes + 1)
            if len(unpacked) > max_bytes:
                raise BadImport(
                    f"conversations.json in the zip file unpacks to more than {max_bytes} bytes."
                )
            return unpacked
    except (zipfile.BadZipFile, OSError, NotImplementedError) as exc:
        raise BadImport(f"The zip file cannot be read: {exc}") from exc


def _validation_reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def read_import(raw: bytes, limits: ImportLimits) -> list[ExportedConversation]:
    """The conversations of a Parley export or a ChatGPT `conversations.json` (or its zip);
    BadImport, saying why, for anything else or anything over the limits."""
    data = _json(raw, limits.max_bytes)
    if isinstance(data, dict) and data.get("format") == EXPORT_FORMAT:
        try:
            conversations = ExportDocument.model_validate(data).conversations
        except ValidationError as exc:
            raise BadImport(f"Not a valid Parley export: {_validation_reason(exc)}") from exc
    elif isinstance(data, list) and all(
        isinstance(item, dict) and isinstance(item.get("mapping"), dict) for item in data
    ):
        conversations = _chatgpt_conversations(data, TextBudget(limits.max_bytes))
    else:
        raise BadImport("The file is neither a Parley export nor ChatGPT's conversations.json.")
    if not conversations:
        raise BadImport("The file holds no conversation.")
    if len(conversations) > limits.max_conversations:
        raise BadImport(
            f"The file holds {len(conversations)} conversations; at most "
            f"{limits.max_conversations} are imported at once."
        )
    total = sum(len(c.messages) for c in conversations)
    if total > limits.max_messages:
        raise BadImport(
            f"The file holds {total} messages; at most {limits.max_messages} are imported at once."
        )
    for index, conversation in enumerate(conversations):
        _check_tree(index, conversation)
        for message in conversation.messages:
            for attachment in message.attachments:
                attachment.text = capped_text(attachment.text, limits.max_file_text_chars)
    return conversations


def _chatgpt_conversations(
    data: list[dict[str, Any]], budget: TextBudget
) -> list[ExportedConversation]:
    conversations = []
    for index, item in enumerate(data):
        try:
            conversations.append(chatgpt_conversation(index, item, budget))
        except ValidationError as exc:
            raise BadImport(
                f"Conversation {index + 1} is not one Parley can import: {_validation_reason(exc)}"
            ) from exc
    return conversations


def _check_tree(index: int, conversation: ExportedConversation) -> None:
    """Unique ids and parents that exist; parents before children is not required."""
    ids = [m.id for m in conversation.messages]
    if len(set(ids)) != len(ids):
        raise BadImport(f"Conversation {index + 1}: two messages share an id.")
    known = set(ids)
    for message in conversation.messages:
        if message.parent_id is not None and message.parent_id not in known:
            raise BadImport(
                f"Conversation {index + 1}: message {message.id} answers a message "
                "that is not in the file."
            )
    if len(tree_order(conversation.messages)) != len(ids):
        raise BadImport(f"Conversation {index + 1}: its messages' parents form a loop.")
    for message in conversation.messages:
        offsets = [call.content_offset for call in message.tool_calls]
        if offsets and (
            message.role != "assistant"
            or offsets != sorted(offsets)
            or not 0 <= offsets[0] <= offsets[-1] <= len(message.content)
        ):
            raise BadImport(
                f"Conversation {index + 1}: message {message.id} has tool calls that are "
                "not an answer's, in order, within its text."
            )


def tree_order(messages: Sequence[ExportedMessage]) -> list[ExportedMessage]:
    """Parents before their children, otherwise oldest first (messages in a loop left out)."""
    children: dict[str | None, list[int]] = {}
    for i, message in enumerate(messages):
        children.setdefault(message.parent_id, []).append(i)
    ready = [(messages[i].created_at, i) for i in children.get(None, [])]
    heapq.heapify(ready)
    ordered: list[ExportedMessage] = []
    while ready:
        _, i = heapq.heappop(ready)
        ordered.append(messages[i])
        for child in children.get(messages[i].id, []):
            heapq.heappush(ready, (messages[child].created_at, child))
    return ordered
