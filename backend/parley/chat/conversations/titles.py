"""A conversation's first message names it, until someone renames it."""

from __future__ import annotations

from parley.protocol.conversations import DEFAULT_TITLE

TITLE_CHARS = 60


def title_from_message(content: str) -> str:
    """The message's first line, cut at a word boundary to fit a sidebar."""
    line = next((line.strip() for line in content.splitlines() if line.strip()), "")
    if not line:
        return DEFAULT_TITLE
    if len(line) <= TITLE_CHARS:
        return line
    cut = line[:TITLE_CHARS].rsplit(" ", 1)[0].rstrip(" ,.;:")
    return (cut or line[:TITLE_CHARS]) + "…"
