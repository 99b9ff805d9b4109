"""From a conversation's stored messages to the turns that fit the model's context for one run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from parley.engine.base import ChatTurn, Engine
from parley.models import Message


class PromptTooLong(Exception):
    pass


def branch_to(messages: Sequence[Message], leaf_id: str) -> list[Message]:
    """The messages on the path from the root to `leaf_id`, oldest first (siblings left out)."""
    by_id = {message.id: message for message in messages}
    path: list[Message] = []
    current = by_id.get(leaf_id)
    while current is not None:
        path.append(current)
        current = by_id.get(current.parent_id) if current.parent_id else None
    path.reverse()
    return path


def history_turns(
    branch: Sequence[Message], user_text: Callable[[Message], str] = lambda m: m.content
) -> list[ChatTurn]:
    """Turns for the model: answers without their thinking; failed or empty answers left out;
    a user message as `user_text` renders it (with its files, say)."""
    turns: list[ChatTurn] = []
    for message in branch:
        if message.role == "user":
            turns.append(ChatTurn("user", user_text(message)))
        elif message.content and message.status != "error":
            turns.append(ChatTurn("assistant", message.content))
    return turns


@dataclass(frozen=True, slots=True)
class Prompt:
    # The system turn (if any) and the history that fits, oldest first.
    turns: tuple[ChatTurn, ...]
    tokens: int
    max_new_tokens: int
    dropped_turns: int


def answer_reserve(context: int, max_new_tokens: int) -> int:
    """Room a prompt leaves for the answer: at least a short one, even when the history is
    long."""
    return min(max_new_tokens, max(context // 4, 1))


async def build_prompt(
    engine: Engine,
    system_prompt: str,
    turns: Sequence[ChatTurn],
    *,
    max_new_tokens: int,
    enable_thinking: bool | None,
) -> Prompt:
    """Drop the oldest turns until the prompt (the model's chat template applied) and the answer
    fit the model's context. The newest turn is always kept."""
    context = engine.card.context_length
    reserve = answer_reserve(context, max_new_tokens)
    system = [ChatTurn("system", system_prompt)] if system_prompt.strip() else []
    history = list(turns)
    dropped = 0
    while True:
        kept = (*system, *history)
        tokens = await engine.prompt_tokens(kept, enable_thinking=enable_thinking)
        if tokens + reserve <= context:
            break
        if len(history) <= 1:
            raise PromptTooLong(
                f"The message needs {tokens} tokens; the model's context holds {context}."
            )
        # Drop the oldest turn, and a reply left at the front without its question.
        history.pop(0)
        dropped += 1
        while len(history) > 1 and history[0].role == "assistant":
            history.pop(0)
            dropped += 1
    return Prompt(
        turns=kept,
        tokens=tokens,
        max_new_tokens=max(1, min(max_new_tokens, context - tokens)),
        dropped_turns=dropped,
    )
