"""From a conversation's stored messages to the turns that fit the model's context for one run."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from parley.engine.base import ChatTurn, Engine
from parley.models import Message
from parley.protocol import ToolCall, ToolCallRecord, ToolSpec
from parley.tools import called_name

# What the model reads for a call that `stop` (or a crash) cut short.
NO_RESULT = "The call was cancelled before it returned."


class PromptTooLong(Exception):
    pass


def history_turns(
    branch: Sequence[Message], user_text: Callable[[Message], str] = lambda m: m.content
) -> list[ChatTurn]:
    """Turns for the model: answers without their thinking, with their tool calls and results;
    failed or empty answers left out; a user message as `user_text` renders it (with its
    files, say)."""
    turns: list[ChatTurn] = []
    for message in branch:
        if message.role == "user":
            turns.append(ChatTurn("user", user_text(message)))
        elif (message.content or message.tool_calls) and message.status != "error":
            turns.extend(answer_turns(message))
    return turns


def answer_turns(answer: Message) -> list[ChatTurn]:
    """An answer as the model wrote it: the text up to each step's calls (those made at one
    `content_offset`) as an assistant turn with the calls, each call's result as a tool turn,
    then the text after the last call."""
    turns: list[ChatTurn] = []
    records = [ToolCallRecord.model_validate(record) for record in answer.tool_calls or []]
    start = 0
    for offset, step in itertools.groupby(records, key=lambda record: record.content_offset):
        calls = list(step)
        turns.append(
            ChatTurn(
                "assistant",
                answer.content[start:offset],
                tool_calls=tuple(
                    ToolCall(call.call_id, called_name(call.name), call.arguments) for call in calls
                ),
            )
        )
        turns.extend(
            ChatTurn(
                "tool",
                call.result if call.result is not None else NO_RESULT,
                tool_call_id=call.call_id,
            )
            for call in calls
        )
        start = offset
    if answer.content[start:] or not turns:
        turns.append(ChatTurn("assistant", answer.content[start:]))
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


# Exact re-counts allowed after the estimate, to correct where a template is not additive.
MAX_EXACT_CORRECTIONS = 8


def exchanges(turns: Sequence[ChatTurn]) -> list[list[ChatTurn]]:
    """The turns in groups that are kept or dropped together: each starts with a question and
    holds its replies (a group of replies alone can only come first)."""
    groups: list[list[ChatTurn]] = []
    for turn in turns:
        if turn.role == "user" or not groups:
            groups.append([turn])
        else:
            groups[-1].append(turn)
    return groups


async def build_prompt(
    engine: Engine,
    system_prompt: str,
    turns: Sequence[ChatTurn],
    *,
    max_new_tokens: int,
    enable_thinking: bool | None,
    tools: Sequence[ToolSpec] = (),
) -> Prompt:
    """Keep the newest turns that fit the model's context with room for the answer: the
    newest turn always, then whole exchanges, newest first, never a reply without its question.
    When the newest turns are tool results, their whole exchange counts as the newest turn (a
    result cannot be read without its call, nor the call without its question). The offered
    `tools` are part of every whole prompt counted.

    Linear in the history, whatever its length: each exchange is counted once on its own, from
    the newest back, until the estimate is full, so the exchanges that cannot fit are never
    rendered; the prompt kept (at most a context's worth) is then counted exactly, with a few
    corrections where the template is not additive. Engines count off the event loop.
    """
    context = engine.card.context_length
    budget = context - answer_reserve(context, max_new_tokens)
    system = (ChatTurn("system", system_prompt),) if system_prompt.strip() else ()
    if turns and turns[-1].role == "tool":
        *older, last = exchanges(turns)
        newest = tuple(last)
    else:
        newest = tuple(turns[-1:])
        older = exchanges(turns[:-1])

    async def count(groups_kept: int) -> int:
        kept = [turn for group in older[len(older) - groups_kept :] for turn in group]
        return await engine.prompt_tokens(
            (*system, *kept, *newest), enable_thinking=enable_thinking, tools=tools
        )

    base = await count(0)
    if base > budget:
        raise PromptTooLong(
            f"The message needs {base} tokens; the model's context holds {context}."
        )
    # Estimate: each exchange costs what it counts alone, less the template's fixed part
    # (measured on the newest exchange, which is counted exactly next anyway).
    kept, estimate, exact = 0, base, base
    overhead = 0
    while kept < len(older):
        alone = await engine.prompt_tokens(older[-1 - kept], enable_thinking=enable_thinking)
        if kept == 0:
            with_newest = await count(1)
            overhead = max(0, base + alone - with_newest)
            if with_newest > budget:
                break
            kept, estimate, exact = 1, with_newest, with_newest
            continue
        if estimate + alone - overhead > budget:
            break
        kept += 1
        estimate += alone - overhead
    if kept > 1:
        exact = await count(kept)
        for _ in range(MAX_EXACT_CORRECTIONS):
            if exact <= budget:
                break
            kept -= 1
            exact = await count(kept)
        else:
            kept, exact = 0, base  # a template far from additive: the newest turn alone
    final = (*system, *(t for group in older[len(older) - kept :] for t in group), *newest)
    return Prompt(
        turns=final,
        tokens=exact,
        max_new_tokens=max(1, min(max_new_tokens, context - exact)),
        dropped_turns=len(turns) - len(final) + len(system),
    )
