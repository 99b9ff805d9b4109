"""A stored message as its public shape and as the exact stream events that made it."""

from __future__ import annotations

from typing import cast

from parley.models import Message
from parley.protocol import (
    AttachmentPublic,
    ChunkFrame,
    EndFrame,
    ErrorCode,
    ErrorFrame,
    FinishReason,
    MessageFrame,
    MessagePublic,
    MessageRole,
    MessageStatus,
    RunEvent,
    StartFrame,
    ThinkingFrame,
    Timings,
    ToolCallFrame,
    ToolCallRecord,
    ToolResultFrame,
    Usage,
)

THINKING = "t"
CHUNK = "c"
# Tool events in `deltas`: [seq, TOOL_CALL or TOOL_RESULT, index of the call in `tool_calls`].
TOOL_CALL = "k"
TOOL_RESULT = "r"


def to_public(message: Message) -> MessagePublic:
    return MessagePublic(
        id=message.id,
        parent_id=message.parent_id,
        role=cast(MessageRole, message.role),
        content=message.content,
        thinking=message.thinking,
        status=cast(MessageStatus, message.status),
        created_at=message.created_at,
        seq=message.seq,
        usage=Usage(**message.usage) if message.usage else None,
        client_id=message.client_id,
        model=message.model,
        finish_reason=cast(FinishReason | None, message.finish_reason),
        timings=Timings(**message.timings) if message.timings else None,
        attachments=[AttachmentPublic(**a) for a in message.attachments or []],
        tool_calls=[ToolCallRecord(**record) for record in message.tool_calls or []],
    )


def newest_seq(message: Message) -> int:
    """The seq of the newest event a stored message holds: itself, its deltas, its end."""
    deltas = (int(delta[0]) for delta in message.deltas or [])
    return max(message.seq or 0, message.end_seq or 0, *deltas)


def end_event(message: Message) -> EndFrame | ErrorFrame:
    """The event that closed an answer: `end`, or `error` for a failed or interrupted one."""
    assert message.end_seq is not None
    if message.error_code is not None:
        return ErrorFrame(
            seq=message.end_seq,
            code=cast(ErrorCode, message.error_code),
            message=message.error_message or "",
            message_id=message.id,
        )
    return EndFrame(
        seq=message.end_seq,
        message_id=message.id,
        finish_reason=cast(FinishReason, message.finish_reason or "stop"),
        usage=Usage(**(message.usage or {})),
        timings=Timings(**(message.timings or {"ttft_ms": None, "tokens_per_s": None})),
    )


def tool_event(message: Message, seq: int, kind: str, index: int) -> RunEvent:
    """The event of the answer's call `index`: its `tool_call`, or its `tool_result` once in."""
    record = ToolCallRecord(**(message.tool_calls or [])[index])
    if kind == TOOL_CALL:
        return ToolCallFrame(
            seq=seq,
            message_id=message.id,
            call_id=record.call_id,
            name=record.name,
            arguments=record.arguments,
        )
    return ToolResultFrame(
        seq=seq,
        call_id=record.call_id,
        content=record.result or "",
        is_error=record.is_error,
        duration_ms=record.duration_ms,
    )


def message_events(message: Message, after_seq: int) -> list[RunEvent]:
    """Every event of this message with a seq above `after_seq`, exactly as first sent."""
    if message.role == "user":
        if message.seq <= after_seq:
            return []
        return [MessageFrame(seq=message.seq, message=to_public(message))]
    events: list[RunEvent] = []
    if message.seq > after_seq:
        events.append(
            StartFrame(
                seq=message.seq,
                run_id=message.id,
                message_id=message.id,
                parent_id=message.parent_id,
            )
        )
    offsets = {THINKING: 0, CHUNK: 0}
    for seq, channel, length in message.deltas or []:
        if channel in (TOOL_CALL, TOOL_RESULT):
            if seq > after_seq:
                events.append(tool_event(message, seq, channel, length))
            continue
        start = offsets[channel]
        offsets[channel] = start + length
        if seq <= after_seq:
            continue
        if channel == THINKING:
            events.append(ThinkingFrame(seq=seq, content=message.thinking[start : start + length]))
        else:
            events.append(ChunkFrame(seq=seq, content=message.content[start : start + length]))
    if message.end_seq is not None and message.end_seq > after_seq:
        events.append(end_event(message))
    return events
