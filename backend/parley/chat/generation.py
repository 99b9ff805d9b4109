"""One generation on a loaded engine: prompt in, thinking and answer pieces out.

The one place where an engine's token stream becomes split text. WebSocket runs
(chat/runs.py) and the stateless completion routes (chat/completions.py) both go through it,
so they share the prompt building, the sampling defaults and the thinking splitter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from parley.chat.prompts import Prompt, build_prompt
from parley.engine.base import (
    ChatTurn,
    Delta,
    Engine,
    EngineError,
    Finished,
    FinishReason,
    GenerationRequest,
    Prefilling,
    Queued,
    SamplingParams,
)
from parley.engine.reasoning import Piece, ReasoningSplitter


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    """What a caller may choose about one answer; None means the server's default."""

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    thinking: bool | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None

    @classmethod
    def chosen_in(cls, source: AnswerChoices) -> GenerationOptions:
        """The choices every transport offers, read off its own body or frame."""
        return cls(
            max_tokens=source.max_tokens,
            temperature=source.temperature,
            top_p=source.top_p,
            thinking=source.thinking,
        )


class AnswerChoices(Protocol):
    """A WebSocket frame's or a request body's answer options (read-only attributes)."""

    @property
    def max_tokens(self) -> int | None: ...
    @property
    def temperature(self) -> float | None: ...
    @property
    def top_p(self) -> float | None: ...
    @property
    def thinking(self) -> bool | None: ...


@dataclass(frozen=True, slots=True)
class PreparedGeneration:
    """A rendered prompt and the request that will be submitted for it."""

    prompt: Prompt
    request: GenerationRequest
    starts_in_thinking: bool


@dataclass(frozen=True, slots=True)
class TokenText:
    """The split text of one engine delta (empty while a tag is still undecided)."""

    pieces: list[Piece]
    completion_tokens: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a generation ended, with the text the splitter held back until the end."""

    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int
    tail: list[Piece]


class GenerationFailed(Exception):
    """The engine failed; `tail` is the split text held back before the failure."""

    def __init__(self, message: str, tail: list[Piece]) -> None:
        super().__init__(message)
        self.message = message
        self.tail = tail


GenerationEvent = Queued | Prefilling | TokenText | Outcome


def prepare_generation(
    engine: Engine,
    request_id: str,
    system_prompt: str,
    turns: Sequence[ChatTurn],
    options: GenerationOptions,
    *,
    default_max_tokens: int,
    ignore_eos: bool = False,
) -> PreparedGeneration:
    """Render the prompt and choose the sampling parameters; raises PromptTooLong."""
    prompt = build_prompt(
        engine,
        system_prompt,
        turns,
        max_new_tokens=options.max_tokens or default_max_tokens,
        enable_thinking=options.thinking,
    )
    defaults = SamplingParams()
    params = SamplingParams(
        max_tokens=prompt.max_new_tokens,
        temperature=defaults.temperature if options.temperature is None else options.temperature,
        top_p=defaults.top_p if options.top_p is None else options.top_p,
        stop=options.stop,
        seed=options.seed,
        ignore_eos=ignore_eos,
    )
    return PreparedGeneration(
        prompt=prompt,
        request=GenerationRequest(request_id=request_id, prompt=prompt.text, params=params),
        starts_in_thinking=prompt.text.rstrip().endswith(engine.card.think_open),
    )


async def split_generation(
    engine: Engine, prepared: PreparedGeneration
) -> AsyncIterator[GenerationEvent]:
    """Run the request: waiting states as the engine reports them, one `TokenText` per delta,
    and last an `Outcome`. Raises GenerationFailed if the engine fails. Closing the
    iterator early cancels the request (the engine's own contract)."""
    card = engine.card
    splitter = ReasoningSplitter(
        card.think_open, card.think_close, start_in_thinking=prepared.starts_in_thinking
    )
    finish: FinishReason = "stop"
    prompt_tokens, completion_tokens = prepared.prompt.tokens, 0
    try:
        async for event in engine.generate(prepared.request):
            if isinstance(event, Delta):
                completion_tokens = event.completion_tokens
                yield TokenText(splitter.feed(event.text), completion_tokens)
            elif isinstance(event, Finished):
                finish = event.finish_reason
                prompt_tokens = event.prompt_tokens
                completion_tokens = event.completion_tokens
            else:
                yield event
    except EngineError as exc:
        raise GenerationFailed(str(exc), splitter.flush()) from exc
    yield Outcome(finish, prompt_tokens, completion_tokens, splitter.flush())
