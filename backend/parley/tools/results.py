"""A tool call's outcome as the text the model reads and the client shows."""

from __future__ import annotations

import json
from dataclasses import dataclass

from mcp.types import (
    AudioContent,
    CallToolResult,
    ContentBlock,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)


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


# In a result's `_meta`: the result was read only in part (bounded_stdio.py), from a message
# of this many bytes.
CUT_META_KEY = "parley/cut_from_bytes"


def read_cut_from(result: CallToolResult) -> int | None:
    """The size of the message a result was read in part from; None when it was read whole."""
    whole_bytes = (result.meta or {}).get(CUT_META_KEY)
    return whole_bytes if isinstance(whole_bytes, int) else None


def cut(text: str, max_chars: int, whole_bytes: int | None = None) -> str:
    """The text within `max_chars`, with a note when anything was left out: here, or already
    as it was read (`whole_bytes`: the size of the message it was read from)."""
    if whole_bytes is not None:
        kept = min(len(text), max_chars)
        return (
            f"{text[:max_chars]}\n[Note: the result was cut to its first {kept:,} characters "
            f"of a {whole_bytes:,}-byte message.]"
        )
    if len(text) <= max_chars:
        return text
    return (
        f"{text[:max_chars]}\n[Note: the result was cut to its first {max_chars:,} of "
        f"{len(text):,} characters.]"
    )
