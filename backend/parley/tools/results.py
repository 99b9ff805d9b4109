"""A tool call's outcome as the text the model reads and the client shows; what stands for a
message from a tool server that was read only up to the byte limit."""

from __future__ import annotations

import json
from dataclasses import dataclass

from mcp.shared.message import SessionMessage
from mcp.types import (
    AudioContent,
    CallToolResult,
    ContentBlock,
    EmbeddedResource,
    ImageContent,
    JSONRPCResponse,
    RequestId,
    ResourceLink,
    TextContent,
    TextResourceContents,
)
from pydantic_core import from_json


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    content: str
    # The tool's own error, a timeout, a server that is down, an unknown tool, bad arguments.
    is_error: bool
    duration_ms: float | None = None


def _block_text(block: ContentBlock) -> str:
    if isinstance(block, TextContent):
        return block.text
    if isinstance(block, ImageContent | AudioContent):
        return f"[{block.type}: {block.mime_type}]"
    if isinstance(block, EmbeddedResource):
        resource = block.resource
        if isinstance(resource, TextResourceContents):
            return resource.text
        return f"[resource: {resource.uri}]"
    assert isinstance(block, ResourceLink)
    return f"[resource: {block.uri}]"


def result_text(result: CallToolResult) -> str:
    """The result's content blocks as text (a placeholder for what has none); its structured
    content as JSON when it has no blocks."""
    if not result.content and result.structured_content is not None:
        return json.dumps(result.structured_content, ensure_ascii=False)
    return "\n".join(_block_text(block) for block in result.content)


# In a result's `_meta`: the result was read only in part (bounded_stdio.py, bounded_http.py),
# from a message of this many bytes (CUT_META_KEY), or of more than this many, the rest of it
# never read (CUT_PAST_META_KEY).
CUT_META_KEY = "parley/cut_from_bytes"
CUT_PAST_META_KEY = "parley/cut_past_bytes"


def read_cut_from(result: CallToolResult) -> str | None:
    """What a result read in part was read from, in words ("a 5,000-byte message"); None when
    it was read whole."""
    meta = result.meta or {}
    whole_bytes, past_bytes = meta.get(CUT_META_KEY), meta.get(CUT_PAST_META_KEY)
    if isinstance(whole_bytes, int):
        return f"a {whole_bytes:,}-byte message"
    if isinstance(past_bytes, int):
        return f"a message of over {past_bytes:,} bytes"
    return None


def cut(text: str, max_chars: int, cut_from: str | None = None) -> str:
    """The text within `max_chars`, with a note when anything was left out: here, or already
    as it was read (`cut_from`: what it was read from, as `read_cut_from` says)."""
    if cut_from is not None:
        kept = min(len(text), max_chars)
        return (
            f"{text[:max_chars]}\n[Note: the result was cut to its first {kept:,} characters "
            f"of {cut_from}.]"
        )
    if len(text) <= max_chars:
        return text
    return (
        f"{text[:max_chars]}\n[Note: the result was cut to its first {max_chars:,} of "
        f"{len(text):,} characters.]"
    )


def cut_message(
    beginning: bytes,
    whole_bytes: int | None,
    max_bytes: int,
    answers: RequestId | None = None,
) -> SessionMessage | Exception:
    """What stands for a message cut at `max_bytes`: an error result, for the request the
    message answers, made of the text of its beginning; an error value when it answers none.

    `whole_bytes` is the message's size, None when the rest of it was never read; `answers`
    the request it answers when its beginning does not say (an HTTP reply to a request).
    """
    try:
        message = from_json(beginning.decode(errors="ignore"), allow_partial="trailing-strings")
    except ValueError:
        message = None
    request_id = message.get("id") if isinstance(message, dict) else None
    if not isinstance(request_id, int | str) or isinstance(request_id, bool):
        request_id = answers
    if request_id is None or (isinstance(message, dict) and "method" in message):
        size = f" ({whole_bytes:,} bytes)" if whole_bytes is not None else ""
        return ValueError(
            f"a message from the tool server passed the {max_bytes:,}-byte limit{size} "
            "and answers no request"
        )
    result = message.get("result") if isinstance(message, dict) else None
    blocks = result.get("content") if isinstance(result, dict) else None
    texts = [
        block["text"]
        for block in blocks or ()
        if isinstance(block, dict) and isinstance(block.get("text"), str)
    ]
    text = "\n".join(texts) if texts else beginning.decode(errors="replace")
    cut_result = CallToolResult(
        content=[TextContent(type="text", text=text)],
        # An error, for the SDK checks a result's structured content (gone here) against the
        # tool's output schema unless it is one; the note says what happened.
        is_error=True,
        _meta=(
            {CUT_META_KEY: whole_bytes}
            if whole_bytes is not None
            else {CUT_PAST_META_KEY: max_bytes}
        ),
    )
    response = JSONRPCResponse(
        jsonrpc="2.0", id=request_id, result=cut_result.model_dump(by_alias=True)
    )
    return SessionMessage(response)
