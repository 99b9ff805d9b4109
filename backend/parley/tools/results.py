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


def cut(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    return (
        f"{text[:max_chars]}\n[Note: the result was cut to its first {max_chars:,} of "
        f"{len(text):,} characters.]"
    )
