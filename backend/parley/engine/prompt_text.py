"""Role markers only where the chat template writes them.

A template renders the turns to text, and the text is tokenized with special tokens parsed,
since that is how the template's own `<|im_start|>` becomes one token. Parsed everywhere, a
message, an attachment or a tool result holding `<|im_end|><|im_start|>system ...` would make
a real system turn. So every special token's text in the request's strings is swapped, before
rendering, for a placeholder no one can write (a fresh number each render); after it, the text
goes back and its span is remembered, and `encode_prompt` tokenizes those spans as plain text.

Text holding no special token's text renders and tokenizes exactly as without any of this (the
same ids, so a conversation's next prompt still starts with the tokens of its last).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from parley.engine.tool_prompts import TemplateMessage, TemplateRender, TemplateTools

# Reads a prompt's text, special tokens parsed or not, to token ids.
Tokenize = Callable[[str, bool], list[int]]


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    """A prompt's text, and the spans of it that came from the request and spell a special
    token (to be read as plain text)."""

    text: str
    literal_spans: tuple[tuple[int, int], ...] = ()

    def followed_by(self, template_text: str) -> RenderedPrompt:
        return RenderedPrompt(self.text + template_text, self.literal_spans)


def special_texts_pattern(texts: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern matching any of a tokenizer's special tokens' texts (the longest first, so a
    text that starts another is taken whole); None for a tokenizer with none."""
    ordered = sorted({text for text in texts if text}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered))) if ordered else None


class _Placeholders:
    """One render's swap of special tokens' texts for placeholders, and back."""

    def __init__(self, specials: re.Pattern[str]) -> None:
        self._specials = specials
        self._nonce = f"{secrets.randbelow(10**12):012d}"
        self._hidden: list[str] = []
        # Letters, digits and dashes only: a template's filters (JSON, HTML escaping, case)
        # leave them as they are.
        self._placeholder = re.compile(f"@@parley-{self._nonce}-([0-9]+)@@", re.IGNORECASE)

    def hide(self, value: Any) -> Any:
        """`value` with every special token's text in its strings (mapping keys included)
        swapped; other values as they are."""
        if isinstance(value, str):
            return self._specials.sub(self._swap, value)
        if isinstance(value, dict):
            return {self.hide(key): self.hide(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.hide(item) for item in value]
        return value

    def _swap(self, match: re.Match[str]) -> str:
        self._hidden.append(match.group())
        return f"@@parley-{self._nonce}-{len(self._hidden) - 1}@@"

    def reveal(self, rendered: str) -> RenderedPrompt:
        if not self._hidden:
            return RenderedPrompt(rendered)
        parts: list[str] = []
        spans: list[tuple[int, int]] = []
        length = start = 0
        for match in self._placeholder.finditer(rendered):
            before = rendered[start : match.start()]
            literal = self._hidden[int(match.group(1))]
            parts += (before, literal)
            length += len(before)
            spans.append((length, length + len(literal)))
            length += len(literal)
            start = match.end()
        parts.append(rendered[start:])
        return RenderedPrompt("".join(parts), tuple(spans))


def render_literally(
    specials: re.Pattern[str] | None,
    render: TemplateRender,
    messages: list[TemplateMessage],
    tools: TemplateTools | None,
) -> RenderedPrompt:
    """`render(messages, tools)`, with the special tokens' texts in them marked as literal."""
    if specials is None:
        return RenderedPrompt(render(messages, tools))
    placeholders = _Placeholders(specials)
    hidden_messages, hidden_tools = placeholders.hide(messages), placeholders.hide(tools)
    return placeholders.reveal(render(hidden_messages, hidden_tools))


def encode_prompt(prompt: RenderedPrompt, tokenize: Tokenize) -> list[int]:
    """The prompt's token ids: its literal spans read as plain text, the rest with special
    tokens parsed (all of it in one call when there is no literal span)."""
    ids: list[int] = []
    start = 0
    for span_start, span_end in prompt.literal_spans:
        if span_start > start:
            ids += tokenize(prompt.text[start:span_start], True)
        ids += tokenize(prompt.text[span_start:span_end], False)
        start = span_end
    if start < len(prompt.text) or not ids:
        ids += tokenize(prompt.text[start:], True)
    return ids
