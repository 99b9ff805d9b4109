"""Picking one answer out of a conversation's event stream: the frames that belong to the
run started by one `send` (known by its client_id), and the answer they add up to.

Used by parley.client over the WebSocket and by the chat service for REST callers that
name a conversation."""

from __future__ import annotations

from dataclasses import dataclass, field

from parley.protocol.frames import (
    AnswerEvent,
    ChunkFrame,
    EndFrame,
    ErrorFrame,
    MessageFrame,
    ServerFrame,
    StartFrame,
    StatusFrame,
    ThinkingFrame,
)
from parley.protocol.progress import FinishReason, Usage


@dataclass(frozen=True, slots=True)
class ChatAnswer:
    message_id: str | None
    content: str
    thinking: str
    finish_reason: FinishReason | None
    usage: Usage | None
    error: ErrorFrame | None = None


@dataclass
class AnswerTracker:
    """Follows the frames of a conversation and picks out the answer to one `send`."""

    client_id: str
    message_id: str | None = None
    content: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    end: EndFrame | None = None
    error: ErrorFrame | None = None
    _sent_seq: int | None = None

    @property
    def done(self) -> bool:
        return self.end is not None or self.error is not None

    def feed(self, frame: ServerFrame) -> AnswerEvent | None:
        """The frame if it belongs to this answer (or is a wait status), else None."""
        match frame:
            case MessageFrame() if frame.message.client_id == self.client_id:
                self._sent_seq = frame.seq
            case StartFrame() if self._sent_seq is not None and self.message_id is None:
                self.message_id = frame.message_id
                return frame
            case StatusFrame() if self.message_id is None:
                return frame
            case ThinkingFrame() if self._ours(frame.seq):
                self.thinking.append(frame.content)
                return frame
            case ChunkFrame() if self._ours(frame.seq):
                self.content.append(frame.content)
                return frame
            case EndFrame() if frame.message_id == self.message_id:
                self.end = frame
                return frame
            case ErrorFrame() if frame.seq is None or frame.message_id == self.message_id:
                # No seq: an answer to this socket's own frame (busy, too_long, ...).
                self.error = frame
                return frame
        return None

    def _ours(self, seq: int) -> bool:
        return self.message_id is not None and not self.done and seq > (self._sent_seq or 0)

    def answer(self) -> ChatAnswer:
        return ChatAnswer(
            message_id=self.message_id,
            content="".join(self.content),
            thinking="".join(self.thinking),
            finish_reason=self.end.finish_reason if self.end else None,
            usage=self.end.usage if self.end else None,
            error=self.error,
        )
