"""How the text of attached files goes into a user turn, cut to fit the model's context.

The files come first, each in an <attachment> block, then what the user wrote. When the files
do not fit, each is cut at the end (the room shared out evenly, room a short file leaves going
to the others) and a note after the cut block tells the model how much of the file it sees,
so it does not take a part for the whole.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from parley.chat.prepare.prompts import answer_reserve
from parley.engine.base import Engine
from parley.models import Message, StoredFile
from parley.protocol import ChatTurn

# No tokenizer makes a token of more characters than this, in practice: a first cut that
# keeps every file that could fit, before tokens are counted.
MAX_CHARS_PER_TOKEN = 8
# Counting tokens is a tokenizer pass over the whole turn: a few tries find the cut.
FIT_TRIES = 6


@dataclass(frozen=True, slots=True)
class AttachedText:
    name: str
    mime: str
    text: str


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def render_turn(content: str, files: Sequence[AttachedText], shown: Sequence[int]) -> str:
    """The user turn: each file's first `shown[i]` characters, a note where one was cut, then
    the user's own text."""
    blocks: list[str] = []
    for file, keep in zip(files, shown, strict=True):
        block = (
            f'<attachment name="{_escape(file.name)}" type="{_escape(file.mime)}">\n'
            f"{file.text[:keep]}\n</attachment>"
        )
        if keep < len(file.text):
            block += (
                f"\n[Note: only the first {keep:,} of the {len(file.text):,} characters of "
                f'"{file.name}" are shown; the rest was cut to fit the context.]'
            )
        blocks.append(block)
    return "\n\n".join([*blocks, content]) if blocks else content


def share_chars(lengths: Sequence[int], room: int) -> list[int]:
    """At most `room` characters shared among texts of these lengths: even shares, what a
    short text leaves over going to the longer ones."""
    shown = [0] * len(lengths)
    waiting = sorted(range(len(lengths)), key=lambda i: lengths[i])
    left = max(0, room)
    while waiting:
        share = left // len(waiting)
        i = waiting.pop(0)
        shown[i] = min(lengths[i], share)
        left -= shown[i]
    return shown


async def fit_turn(
    content: str,
    files: Sequence[AttachedText],
    fits: Callable[[str], Awaitable[bool]],
    max_tokens: int,
) -> str:
    """The largest rendering of the turn (files cut evenly) that `fits` accepts; with every
    file cut to nothing if none does. `max_tokens` bounds the room the files could have."""
    lengths = [len(f.text) for f in files]
    bound = max(0, max_tokens) * MAX_CHARS_PER_TOKEN
    whole = render_turn(content, files, lengths)
    # Far too long files are not even counted whole (a tokenizer pass over megabytes).
    if not files or (sum(lengths) <= bound and await fits(whole)):
        return whole
    # The turn fits with `low` characters of files in all (or nothing fits), not with `high`.
    low, high = 0, min(sum(lengths), bound + 1)
    best = render_turn(content, files, share_chars(lengths, low))
    for _ in range(FIT_TRIES):
        if high - low <= max(64, high // 50):
            break
        middle = (low + high) // 2
        candidate = render_turn(content, files, share_chars(lengths, middle))
        if await fits(candidate):
            low, best = middle, candidate
        else:
            high = middle
    return best


# An earlier message's files (before the one being answered) share this many characters:
# they are context, and the oldest turns are the first dropped when the prompt is too long.
EARLIER_FILES_CHARS = 32_000


def attached_texts(message: Message, files: Mapping[str, StoredFile]) -> tuple[AttachedText, ...]:
    """The text of the files a user message carries (those still stored)."""
    return tuple(
        AttachedText(stored.name, stored.mime, stored.text)
        for a in message.attachments or []
        if (stored := files.get(a["id"])) is not None
    )


def earlier_turn(message: Message, files: Mapping[str, StoredFile]) -> str:
    """An earlier user message with its files, cut to share EARLIER_FILES_CHARS."""
    texts = attached_texts(message, files)
    return render_turn(
        message.content, texts, share_chars([len(t.text) for t in texts], EARLIER_FILES_CHARS)
    )


async def fit_question(
    engine: Engine,
    system_prompt: str,
    turns: Sequence[ChatTurn],
    files: Sequence[AttachedText],
    *,
    max_new_tokens: int,
    enable_thinking: bool | None,
) -> list[ChatTurn]:
    """`turns` with the files put into the last one (the question), cut so that the system
    prompt, the question and room for the answer fit the model's context; the earlier turns
    are then the prompt fitting's to drop."""
    if not files:
        return list(turns)
    *earlier, question = turns
    system = [ChatTurn("system", system_prompt)] if system_prompt.strip() else []
    context = engine.card.context_length
    room = context - answer_reserve(context, max_new_tokens)

    async def fits(text: str) -> bool:
        candidate = (*system, ChatTurn("user", text))
        return await engine.prompt_tokens(candidate, enable_thinking=enable_thinking) <= room

    text = await fit_turn(question.content, files, fits, max_tokens=room)
    return [*earlier, ChatTurn("user", text)]
