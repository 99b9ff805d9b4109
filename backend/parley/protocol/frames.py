"""Every WebSocket frame as a pydantic model: the one schema of the realtime protocol.

The run events (message, start, thinking, chunk, end, error) are also what the chat service
publishes and what `/api/v1` streams for a conversation. `shared/protocol.schema.json` is
generated from this module (`parley schema`), and the frontend's TypeScript types from that file.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from parley.protocol.errors import ErrorCode
from parley.protocol.messages import MessagePublic, Timings
from parley.protocol.progress import FinishReason, JsonOutput, Usage

# The largest integer a client may send: JavaScript's largest safe one, and well inside the
# database's 64-bit integers.
SAFE_INT_MAX = 2**53 - 1


class Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------- client -> server ----------


class AuthFrame(Frame):
    type: Literal["auth"]
    token: str = Field(min_length=1)
    after_seq: int | None = Field(None, ge=0, le=SAFE_INT_MAX)


class JsonSchemaFormat(BaseModel):
    """OpenAI's `json_schema` response format: the answer is JSON valid against `schema`."""

    # Unknown keys are kept (and ignored): OpenAI's SDKs add their own.
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    name: str = Field("response", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    description: str | None = None
    schema_: dict[str, Any] = Field(alias="schema")
    # Decoding is always constrained where the engine can; `false` asks for no less.
    strict: bool | None = None


class ResponseFormat(BaseModel):
    """What the answer must be, in OpenAI's shape: `text` (anything), `json_object` (a JSON
    object) or `json_schema` (JSON valid against the schema given)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_with_its_type(self) -> ResponseFormat:
        if (self.type == "json_schema") != (self.json_schema is not None):
            raise ValueError("`json_schema` is given exactly when the type is `json_schema`")
        return self

    def output(self) -> JsonOutput | None:
        """The engine's form of it; None for plain text."""
        if self.type == "text":
            return None
        return JsonOutput(self.json_schema.schema_ if self.json_schema is not None else None)


class SendOptions(Frame):
    max_tokens: int | None = Field(None, ge=1, le=SAFE_INT_MAX)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    thinking: bool | None = None
    # JSON output; a constrained answer is made with thinking off (docs/protocol.md).
    response_format: ResponseFormat | None = None


MAX_ATTACHMENTS = 10


class SendFrame(Frame):
    type: Literal["send"]
    # Length is checked by the server against its configured limit (error `too_long`).
    content: str = Field(min_length=1)
    client_id: str = Field(min_length=1, max_length=100)
    options: SendOptions = SendOptions()
    # The answer this message follows; null starts the conversation anew (an edit of its first
    # message). Left out: the conversation's current leaf.
    parent_id: str | None = Field(None, max_length=100)
    # Ids of the sender's files (POST /api/files), their text given to the model.
    attachments: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=MAX_ATTACHMENTS
    )


class StopFrame(Frame):
    type: Literal["stop"]


class RegenerateFrame(Frame):
    type: Literal["regenerate"]
    options: SendOptions = SendOptions()
    # The answer to answer again (a sibling of it); left out: the current branch's last answer.
    message_id: str | None = Field(None, max_length=100)


class PingFrame(Frame):
    type: Literal["ping"]


ClientFrame = Annotated[
    AuthFrame | SendFrame | StopFrame | RegenerateFrame | PingFrame, Field(discriminator="type")
]
client_frame_adapter: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)


# ---------- server -> client ----------


class ActiveRun(Frame):
    run_id: str
    message_id: str


class ReadyFrame(Frame):
    type: Literal["ready"] = "ready"
    conversation_id: str
    last_seq: int
    active_run: ActiveRun | None


class PongFrame(Frame):
    type: Literal["pong"] = "pong"


class StatusFrame(Frame):
    """Sent while a run waits for its first token; no seq, never replayed."""

    type: Literal["status"] = "status"
    state: Literal["queued", "prefill"]
    position: int | None = None


class MessageFrame(Frame):
    type: Literal["message"] = "message"
    seq: int
    message: MessagePublic


class StartFrame(Frame):
    type: Literal["start"] = "start"
    seq: int
    run_id: str
    message_id: str
    parent_id: str | None = None


class ThinkingFrame(Frame):
    type: Literal["thinking"] = "thinking"
    seq: int
    content: str


class ChunkFrame(Frame):
    type: Literal["chunk"] = "chunk"
    seq: int
    content: str


class ToolCallFrame(Frame):
    """The model called a tool; the server runs it and sends its `tool_result`."""

    type: Literal["tool_call"] = "tool_call"
    seq: int
    message_id: str
    call_id: str
    # "<server>.<tool>", as in GET /api/tools.
    name: str
    # JSON text as the model wrote it.
    arguments: str


class ToolResultFrame(Frame):
    type: Literal["tool_result"] = "tool_result"
    seq: int
    call_id: str
    content: str
    # A tool's own error, a timeout or an unknown tool: the model is told, the run goes on.
    is_error: bool
    duration_ms: float | None = None


class EndFrame(Frame):
    type: Literal["end"] = "end"
    seq: int
    message_id: str
    finish_reason: FinishReason
    usage: Usage
    timings: Timings


class ErrorFrame(Frame):
    type: Literal["error"] = "error"
    seq: int | None = None
    code: ErrorCode
    message: str
    message_id: str | None = None


# The seq'd frames of one answer, from its start to its end.
_RunFrames = (
    StartFrame
    | ThinkingFrame
    | ChunkFrame
    | ToolCallFrame
    | ToolResultFrame
    | EndFrame
    | ErrorFrame
)
RunEvent = MessageFrame | _RunFrames
# The frames of one answer, its wait states included.
AnswerEvent = StatusFrame | _RunFrames
ServerFrame = Annotated[
    ReadyFrame
    | PongFrame
    | StatusFrame
    | MessageFrame
    | StartFrame
    | ThinkingFrame
    | ChunkFrame
    | ToolCallFrame
    | ToolResultFrame
    | EndFrame
    | ErrorFrame,
    Field(discriminator="type"),
]
server_frame_adapter: TypeAdapter[ServerFrame] = TypeAdapter(ServerFrame)


def protocol_schema() -> dict[str, Any]:
    """One JSON Schema holding every frame, for generating the frontend's types."""
    client = client_frame_adapter.json_schema(ref_template="#/$defs/{model}")
    server = server_frame_adapter.json_schema(ref_template="#/$defs/{model}")
    defs: dict[str, Any] = {**client.pop("$defs", {}), **server.pop("$defs", {})}
    defs["ClientFrame"] = client
    defs["ServerFrame"] = server
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ParleyProtocol",
        "description": "Frames of Parley's WebSocket protocol (generated; do not edit).",
        "$defs": dict(sorted(defs.items())),
    }


def protocol_schema_json() -> str:
    return json.dumps(protocol_schema(), indent=2, sort_keys=False) + "\n"
