"""Stateless completions: turns and options in, thinking and answer text out.

The entry point of the chat service for the seed-style `/api/v1` routes and the
OpenAI-compatible `/v1` routes. Nothing is stored; the answer goes through the same engine
(and its batching) as WebSocket runs, by way of chat/prepare/request.py.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from parley.chat.metering import GenerationObserver, TokenMeter
from parley.chat.prepare.fairness import Admission, Ticket
from parley.chat.prepare.limits import MessageLimits
from parley.chat.prepare.prompts import PromptTooLong
from parley.chat.prepare.request import GenerationOptions, PreparedGeneration, prepare_generation
from parley.chat.prepare.tool_limits import check_tool_request
from parley.engine.base import (
    ChatTurn,
    Embedder,
    EmbeddingInput,
    Embeddings,
    Engine,
    EngineError,
    ModelCard,
)
from parley.engine.embedding import cannot_embed
from parley.engine.selection.manager import EngineManager
from parley.protocol import (
    ErrorKind,
    Finished,
    ModelUnavailable,
    ParleyError,
    Piece,
    Pieces,
    Prefilling,
    Queued,
    TokenLogprob,
    ToolCall,
    ToolCallMade,
    ToolChoice,
    ToolSpec,
    Usage,
)

# How long a client is told to wait before retrying while a model loads.
LOADING_RETRY_AFTER_S = 5


class CompletionRefused(ParleyError):
    """A request that cannot be answered, refused before anything is sent back."""

    default_kind: ClassVar[ErrorKind] = "invalid"

    def __init__(self, code: str, message: str, *, retry_after_s: int | None = None) -> None:
        super().__init__(message, code=code, retry_after_s=retry_after_s)


class ModelNotLoaded(CompletionRefused):
    default_kind = "unavailable"


class BadOptions(CompletionRefused):
    pass


class EmbeddingRefused(CompletionRefused):
    """A model that does not embed, or an input it cannot read (HTTP 400)."""

    default_kind = "malformed"


class TooLarge(CompletionRefused):
    """More to read than a request may carry (HTTP 413)."""

    default_kind = "too_large"


class CompletionFailed(ParleyError):
    """The answer failed once it was under way (the transports above cannot tell engine
    errors apart); the message is safe to show. An engine error keeps its code and kind:
    `model_unavailable` (unavailable) where a remote could not take the answer."""

    default_code = "generation_failed"
    default_kind = "failed"

    @classmethod
    def of(cls, error: EngineError) -> CompletionFailed:
        return cls(error.message, code=error.code, kind=error.kind)


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    turns: Sequence[ChatTurn]
    system_prompt: str = ""
    options: GenerationOptions = field(default_factory=GenerationOptions)
    model: str | None = None
    # Functions the model may call; the caller runs the calls (see chat/prepare/tool_limits.py).
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice = "auto"
    parallel_tool_calls: bool = True


@dataclass(frozen=True, slots=True)
class Logprobs:
    """Log probabilities of tokens whose text is the pieces that follow (or was held back:
    a call's markup), for a request that asked for them."""

    tokens: tuple[TokenLogprob, ...]


# The answer's progress with its pieces one by one, for transports that send each on its own.
CompletionEvent = Queued | Prefilling | Logprobs | Piece | ToolCallMade | Finished


@dataclass(frozen=True, slots=True)
class Completion:
    """A whole answer, for callers that do not stream."""

    model: str
    answer: str
    thinking: str
    finish: Finished
    elapsed_ms: float
    tool_calls: tuple[ToolCall, ...] = ()
    # Where asked for: every generated token's, in order.
    logprobs: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True, slots=True)
class PendingCompletion:
    """A completion whose model is loaded and whose prompt fits: ready to stream. It holds
    its user's place (`ticket`) until it is streamed to the end or dropped."""

    model: str
    engine: Engine
    generation: PreparedGeneration
    ticket: Ticket


class CompletionService:
    def __init__(
        self,
        engines: EngineManager,
        admission: Admission,
        *,
        default_max_tokens: int,
        limits: MessageLimits | None = None,
        observer: GenerationObserver | None = None,
    ) -> None:
        self._limits = limits
        self._engines = engines
        self._admission = admission
        self._default_max_tokens = default_max_tokens
        # Token counts and timings go to telemetry as for runs; no run report (no conversation).
        self._observer = observer

    # ---------- models ----------

    async def loaded_card(self, model_id: str) -> ModelCard | None:
        """The card of a model that is loaded now; None (without loading it) otherwise."""
        if self._engines.status(model_id).state != "loaded":
            return None
        return (await self._engines.acquire(model_id)).card

    async def load(self, model: str | None) -> str:
        """Load a model, again after a failure, and wait for it; raises ModelUnavailable."""
        model_id = self._engines.resolve(model)
        await self._engines.load(model_id)
        await self._engines.acquire(model_id)
        return model_id

    # ---------- completions ----------

    def check_lengths(self, texts: Iterable[str]) -> None:
        """Raises BadOptions (`too_long`) for a text over the message limit."""
        if self._limits is not None and (refusal := self._limits.overlong(texts)) is not None:
            raise BadOptions("too_long", refusal)

    def _ready_model(self, model: str | None) -> str:
        """The model's id if it can answer now or after an on-demand load; raises
        ModelUnavailable (`unknown_model`) for a model the server does not know."""
        model_id = self._engines.resolve(model)
        status = self._engines.status(model_id)
        if status.state == "loading":
            raise ModelNotLoaded(
                "model_not_loaded",
                f"The model {model_id!r} is still loading; try again shortly.",
                retry_after_s=LOADING_RETRY_AFTER_S,
            )
        # A failed model is left to acquire(): it gives the reason, and asks a remote again.
        return model_id

    def _check_bounds(self, request: CompletionRequest) -> None:
        if self._limits is not None:
            refusal = self._limits.check_request(
                request.turns, request.system_prompt, request.options.stop, request.tools
            )
            if refusal is not None:
                kind = TooLarge if refusal.too_large else BadOptions
                raise kind(refusal.code, refusal.message)
        # After the size bounds, so a schema is checked only once it is known to be small.
        check_tool_request(request.tools, request.tool_choice, request.turns)

    async def admit(self, user_id: str) -> Ticket:
        """A place among the user's answers in progress; raises TooManyActive beyond the cap.
        Each `prepare` given the ticket takes one use of it (see Ticket.share)."""
        return await self._admission.admit(user_id)

    async def prepare(self, request: CompletionRequest, ticket: Ticket) -> PendingCompletion:
        """Check the bounds, the model and the options, and render the prompt, before anything
        is sent back; raises CompletionRefused, ModelUnavailable (unknown, failed to load, or no
        room without unloading a model that is answering) or ToolsRefused (having released its
        use of the ticket)."""
        try:
            self._check_bounds(request)
            model_id = self._ready_model(request.model)
            return await self._prepare(request, model_id, ticket)
        except BaseException:
            ticket.release()
            raise

    async def _prepare(
        self, request: CompletionRequest, model_id: str, ticket: Ticket
    ) -> PendingCompletion:
        engine = await self._engines.acquire(model_id)
        context = engine.card.context_length
        max_tokens = request.options.max_tokens
        if max_tokens is not None and max_tokens > context:
            raise BadOptions(
                "max_tokens_too_large",
                f"max_tokens may be at most {context} for the model {model_id!r}.",
            )
        try:
            generation = await prepare_generation(
                engine,
                f"completion-{uuid.uuid4()}",
                request.system_prompt,
                request.turns,
                request.options,
                default_max_tokens=self._default_max_tokens,
                tools=request.tools,
                tool_choice=request.tool_choice,
                parallel_tool_calls=request.parallel_tool_calls,
            )
        except PromptTooLong as exc:
            raise BadOptions("context_length_exceeded", str(exc)) from exc
        return PendingCompletion(model_id, engine, generation, ticket)

    async def stream(self, pending: PendingCompletion) -> AsyncIterator[CompletionEvent]:
        """Waiting states, thinking and answer pieces as they are made, then `Finished`; raises
        CompletionFailed. Closing the iterator early cancels the generation. The model is
        held (never unloaded for another) and the user's place kept until the end."""
        try:
            meter = TokenMeter(self._observer, pending.model)
            async with self._engines.lease(pending.model) as engine:
                stream = self._admission.generate(
                    pending.ticket, pending.model, engine, pending.generation.request
                )
                async with contextlib.aclosing(stream):
                    async for event in stream:
                        if isinstance(event, Pieces):
                            meter.tokens(event.completion_tokens)
                            if event.logprobs:
                                yield Logprobs(event.logprobs)
                            for piece in event.pieces:
                                yield piece
                        else:
                            if isinstance(event, Finished):
                                meter.tokens(event.usage.completion_tokens, timed=False)
                            yield event
        except EngineError as exc:
            raise CompletionFailed.of(exc) from exc
        except ModelUnavailable as exc:
            raise CompletionFailed(exc.message) from exc
        finally:
            pending.ticket.release()

    # ---------- embeddings ----------

    async def embed(
        self, model: str | None, inputs: Sequence[EmbeddingInput]
    ) -> tuple[str, Embeddings]:
        """The model's id and its embeddings of `inputs`, loading it if needed; raises
        EmbeddingRefused (the model does not embed, an input it cannot read),
        ModelUnavailable or CompletionFailed. Not metered as answers are, nor admitted
        among them: an embedding takes its own context and one decode per batch of inputs."""
        self.check_lengths(value for value in inputs if isinstance(value, str))
        model_id = self._ready_model(model)
        async with self._engines.lease(model_id) as engine:
            if not isinstance(engine, Embedder):
                refusal = cannot_embed(model_id)
                raise EmbeddingRefused(refusal.code, refusal.message)
            try:
                return model_id, await engine.embed(inputs)
            except EngineError as exc:
                if exc.kind == "malformed":
                    raise EmbeddingRefused(exc.code, exc.message) from exc
                raise CompletionFailed.of(exc) from exc

    async def collect(self, pending: PendingCompletion, started: float) -> Completion:
        """The whole answer; `started` (time.monotonic()) is when the request came in."""
        answer: list[str] = []
        thinking: list[str] = []
        calls: list[ToolCall] = []
        logprobs: list[TokenLogprob] = []
        finish = Finished("stop", Usage(pending.generation.prompt.tokens, completion_tokens=0))
        async for event in self.stream(pending):
            if isinstance(event, Logprobs):
                logprobs.extend(event.tokens)
            elif isinstance(event, Piece):
                (thinking if event.channel == "thinking" else answer).append(event.text)
            elif isinstance(event, ToolCallMade):
                calls.append(event.call)
            elif isinstance(event, Finished):
                finish = event
        return Completion(
            model=pending.model,
            answer="".join(answer),
            thinking="".join(thinking),
            finish=finish,
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
            tool_calls=tuple(calls),
            logprobs=tuple(logprobs),
        )
