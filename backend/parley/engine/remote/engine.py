"""A model served by a remote OpenAI-compatible server, behind the same `Engine` interface as
the models Parley runs itself.

The remote applies its own chat template, so an answer starts from the turns, not a rendered
prompt. Its reasoning arrives in a reasoning field (`reasoning_content` or `reasoning`) or
inline as `<think>` text; both come out as thinking pieces. The card carries the remote's
`max_concurrency`, which the chat layer's admission takes as the model's slot count, so the
requests beyond it wait there, in the same line as every model's. `stop` closes the HTTP
stream, which is how vLLM, SGLang and llama.cpp learn to stop generating.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from math import ceil
from typing import Any
from urllib.parse import urlsplit

from parley.engine.base import (
    ChatTurn,
    EmbeddingInput,
    Embeddings,
    EngineError,
    GenerationRequest,
    ModelCard,
)
from parley.engine.reasoning import ReasoningSplitter
from parley.engine.remote.client import OpenAIClient
from parley.engine.remote.stream import (
    RemoteRefused,
    RemoteStreamFailed,
    RemoteUnavailable,
    StreamDelta,
    ToolCallAssembler,
)
from parley.engine.specs import RemoteSpec
from parley.engine.structured import checked_output
from parley.engine.tool_calls import new_call_id
from parley.engine.tool_prompts import offers_tools, template_tool
from parley.protocol import (
    AnswerProgress,
    Finished,
    FinishReason,
    Piece,
    Pieces,
    Prefilling,
    ToolCall,
    ToolCallMade,
    ToolChoice,
    ToolSpec,
    Usage,
)

log = logging.getLogger(__name__)

# When neither the models file nor the remote's /v1/models says: small enough for any model
# served today, so history fitting never overflows a remote that did not say.
DEFAULT_REMOTE_CONTEXT = 4096
# Template framing per message (role markers, separators), for the estimate.
_TURN_OVERHEAD_TOKENS = 8
_COUNT_CACHE_SIZE = 256
# How long close() lets running answers end (their streams closed) before closing the pool.
_CLOSE_GRACE_S = 5.0


class RemoteModelUnavailable(EngineError):
    """The remote could not take an answer (unreachable, refusing, busy past the retries):
    an engine error of the `unavailable` kind, which the chat layer reports as
    `model_unavailable` rather than `generation_failed`."""

    default_code = "model_unavailable"
    default_kind = "unavailable"


def estimate_prompt_tokens(turns: Sequence[ChatTurn], tools: Sequence[ToolSpec] = ()) -> int:
    """An upper estimate of a prompt's tokens without the remote's tokenizer: a digit per token
    (some tokenizers split numbers so), other ASCII three characters per token (English runs
    near four), other text half a token per UTF-8 byte (CJK: 1.5 per character), and framing.
    Calls count by their name and arguments, offered tools by their JSON."""
    total = _TURN_OVERHEAD_TOKENS
    for turn in turns:
        calls = "".join(call.name + call.arguments for call in turn.tool_calls)
        total += _TURN_OVERHEAD_TOKENS + _text_tokens(turn.content + calls)
    if tools:
        offer = json.dumps([template_tool(tool) for tool in tools], ensure_ascii=False)
        total += _TURN_OVERHEAD_TOKENS + _text_tokens(offer)
    return total


def _text_tokens(text: str) -> int:
    digits = sum(ch.isascii() and ch.isdigit() for ch in text)
    ascii_other = sum(ch.isascii() for ch in text) - digits
    wide_bytes = sum(len(ch.encode()) for ch in text if not ch.isascii())
    return digits + ceil(ascii_other / 3) + ceil(wide_bytes / 2)


def _count_key(turns: Sequence[ChatTurn], tools: Sequence[ToolSpec]) -> int:
    # Tools by name: their schemas are mappings (unhashable), and rarely change under a name.
    return hash((tuple(turns), tuple(tool.name for tool in tools)))


def _pieces(delta: StreamDelta, splitter: ReasoningSplitter) -> tuple[Piece, ...]:
    """A reasoning field is thinking as it is; answer text may hold inline thinking tags."""
    thinking = (Piece("thinking", delta.reasoning),) if delta.reasoning else ()
    return (*thinking, *splitter.feed(delta.content)) if delta.content else thinking


def _finish_reason(remote: str | None, made_calls: bool) -> FinishReason:
    # Some remotes (Ollama) finish an answer of calls with "stop".
    if remote == "length":
        return "length"
    return "tool_calls" if made_calls else "stop"


def _tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    if isinstance(choice, str):
        return choice
    return {"type": "function", "function": {"name": choice.name}}


class RemoteEngine:
    """One model at one remote; build it with `connect`."""

    def __init__(self, spec: RemoteSpec, client: OpenAIClient, context_length: int) -> None:
        self._spec = spec
        self._client = client
        address = urlsplit(spec.base_url)
        self._card = ModelCard(
            name=spec.id,
            context_length=context_length,
            think_open=spec.think_open,
            think_close=spec.think_close,
            device=f"remote {address.netloc}",
            dtype="remote",
            engine="openai",
            max_concurrency=spec.max_concurrency,
        )
        self._cancels: dict[str, asyncio.Event] = {}
        # Set while no answer is running, so close() can wait for the streams to end.
        self._idle = asyncio.Event()
        self._idle.set()
        # Prompt sizes counted for fitting, reused for the prefill status and usage fallback;
        # keyed by the turns' hash, so no conversation text is kept here.
        self._counts: OrderedDict[int, int] = OrderedDict()

    @classmethod
    async def connect(cls, spec: RemoteSpec) -> RemoteEngine:
        """Check that the remote answers and lists the model; raises RemoteModelUnavailable."""
        api_key = None
        if spec.api_key_env is not None:
            api_key = os.environ.get(spec.api_key_env)
            if not api_key:
                raise RemoteModelUnavailable(
                    f"The environment variable {spec.api_key_env} (the API key of "
                    f"{spec.base_url}) is not set."
                )
        client = OpenAIClient(spec.base_url, api_key=api_key, idle_timeout_s=spec.idle_timeout_s)
        try:
            advertised = await _listed_context(client, spec)
        except BaseException:
            await client.close()
            raise
        context = spec.context_length or advertised or DEFAULT_REMOTE_CONTEXT
        if spec.context_length is None and advertised is None:
            log.warning(
                "%s: %s does not say its context length; assuming %d (set context_length)",
                spec.id,
                spec.base_url,
                DEFAULT_REMOTE_CONTEXT,
            )
        return cls(spec, client, context)

    @property
    def card(self) -> ModelCard:
        return self._card

    async def check(self) -> None:
        """Is the remote still there with the model? Raises RemoteModelUnavailable if not.

        Not asked while an answer streams: the stream says so already, and llama-cpp-python's
        server (by default) cuts the answer it is streaming short for any new request."""
        if self._cancels:
            return
        await _listed_context(self._client, self._spec)

    async def prompt_tokens(
        self,
        turns: Sequence[ChatTurn],
        *,
        enable_thinking: bool | None,
        tools: Sequence[ToolSpec] = (),
    ) -> int:
        """The remote's own count (vLLM's /tokenize) where it has one, else an upper estimate."""
        key = _count_key(turns, tools)
        counted = await self._client.count_prompt_tokens(
            self._spec.model, _messages(turns), [template_tool(tool) for tool in tools]
        )
        count = counted if counted is not None else estimate_prompt_tokens(turns, tools)
        self._counts[key] = count
        self._counts.move_to_end(key)
        while len(self._counts) > _COUNT_CACHE_SIZE:
            self._counts.popitem(last=False)
        return count

    def _known_prompt_tokens(self, request: GenerationRequest) -> int:
        tools = request.tools if offers_tools(request) else ()
        return self._counts.get(_count_key(request.turns, tools)) or estimate_prompt_tokens(
            request.turns, tools
        )

    def request_body(self, request: GenerationRequest) -> dict[str, Any]:
        """The /chat/completions body: the turns as messages and the run's own choices."""
        params = request.params
        body: dict[str, Any] = {
            "model": self._spec.model,
            "messages": _messages(request.turns),
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if params.stop:
            body["stop"] = list(params.stop)
        if params.seed is not None:
            body["seed"] = params.seed
        if params.logprobs is not None:
            body["logprobs"] = True
            body["top_logprobs"] = params.logprobs
        if params.ignore_eos:
            # vLLM's and SGLang's extension, for benchmarks.
            body["ignore_eos"] = True
        if request.tools:
            # The remote offers them through its own template and parses its own calls.
            body["tools"] = [template_tool(tool) for tool in request.tools]
            body["tool_choice"] = _tool_choice(request.tool_choice)
            body["parallel_tool_calls"] = request.parallel_tool_calls
        if request.output is not None:
            # OpenAI's shape, which vLLM, SGLang, llama.cpp's server and Ollama all read.
            schema = request.output.schema
            body["response_format"] = (
                {"type": "json_object"}
                if schema is None
                else {
                    "type": "json_schema",
                    "json_schema": {"name": "response", "schema": dict(schema), "strict": True},
                }
            )
        thinking = request.enable_thinking
        if thinking is not None:
            if self._spec.thinking_switch == "chat_template_kwargs":
                body["chat_template_kwargs"] = {"enable_thinking": thinking}
            elif self._spec.thinking_switch == "ollama":
                body["think"] = thinking
                if not thinking:
                    body["reasoning_effort"] = "none"
        return body

    def check_request(self, request: GenerationRequest) -> None:
        """The remote constrains its answer by its own means (checked as it comes back)."""

    async def generate(self, request: GenerationRequest) -> AsyncIterator[AnswerProgress]:
        """`Prefilling` until the remote's first chunk, then `Pieces`, last `Finished`. Raises
        RemoteModelUnavailable when the remote cannot take it, EngineError (after the text so
        far) when its stream breaks off, InvalidOutput when the answer is not the JSON or the
        call asked for."""
        stream = checked_output(self._generate(request), request)
        async with contextlib.aclosing(stream):  # type: ignore[type-var]
            async for event in stream:
                yield event

    async def _generate(self, request: GenerationRequest) -> AsyncGenerator[AnswerProgress]:
        cancelled = asyncio.Event()
        self._cancels[request.request_id] = cancelled
        self._idle.clear()
        prompt_tokens = self._known_prompt_tokens(request)
        try:
            yield Prefilling(prompt_tokens)
            # Closed at once when our caller closes us early, so the HTTP stream closes too.
            answer = self._stream(request, prompt_tokens, cancelled)
            async with contextlib.aclosing(answer):
                async for progress in answer:
                    yield progress
        finally:
            self._cancels.pop(request.request_id, None)
            if not self._cancels:
                self._idle.set()

    async def _stream(
        self, request: GenerationRequest, prompt_tokens: int, cancelled: asyncio.Event
    ) -> AsyncGenerator[AnswerProgress]:
        splitter = ReasoningSplitter(self._card.think_open, self._card.think_close)
        assembler = ToolCallAssembler()
        completion_tokens = 0
        finish: str | None = None
        usage: Usage | None = None
        try:
            async with self._client.chat_stream(
                self.request_body(request), cancelled=cancelled
            ) as deltas:
                if deltas is None:
                    yield Finished("cancelled", Usage(prompt_tokens, 0))
                    return
                async for delta in deltas:
                    for piece in delta.tool_calls:
                        assembler.add(piece)
                    if delta.reasoning or delta.content or delta.tool_calls:
                        # A streamed chunk is one token on vLLM, SGLang, llama.cpp and Ollama.
                        completion_tokens += 1
                        yield Pieces(_pieces(delta, splitter), completion_tokens, delta.logprobs)
                    elif delta.logprobs:
                        yield Pieces((), completion_tokens, delta.logprobs)
                    usage = delta.usage or usage
                    finish = delta.finish_reason or finish
        except RemoteUnavailable as exc:
            raise RemoteModelUnavailable(exc.message) from exc
        except RemoteStreamFailed as exc:
            tail = splitter.flush()
            if tail:
                yield Pieces(tuple(tail), completion_tokens)
            log.warning("%s: %s", self._spec.id, exc.message)
            raise EngineError(exc.message) from exc
        tail = splitter.flush()
        if tail:
            yield Pieces(tuple(tail), completion_tokens)
        # Calls come whole, once their pieces have all arrived (a stopped answer makes none).
        calls = [] if cancelled.is_set() else assembler.calls(new_call_id)
        for index, call in enumerate(calls):
            yield ToolCallMade(call, index)
        reason: FinishReason = (
            "cancelled" if cancelled.is_set() else _finish_reason(finish, bool(calls))
        )
        if usage is None or reason == "cancelled":
            usage = Usage(
                usage.prompt_tokens if usage else prompt_tokens,
                completion_tokens,
                usage.cached_tokens if usage else 0,
            )
        yield Finished(reason, usage)

    async def embed(self, inputs: Sequence[EmbeddingInput]) -> Embeddings:
        """The remote's /embeddings, passed through: whether its model embeds is its word."""
        body = {
            "model": self._spec.model,
            "input": [value if isinstance(value, str) else list(value) for value in inputs],
            "encoding_format": "float",
        }
        try:
            answer = await self._client.embeddings(body)
        except RemoteRefused as exc:
            raise EngineError(exc.message, code="remote_refused", kind="malformed") from exc
        except RemoteUnavailable as exc:
            raise RemoteModelUnavailable(exc.message) from exc
        embeddings = _embeddings(answer, len(inputs))
        if embeddings is None:
            raise RemoteModelUnavailable("The remote's embeddings answer is not OpenAI's shape.")
        return embeddings

    async def cancel(self, request_id: str) -> None:
        cancelled = self._cancels.get(request_id)
        if cancelled is not None:
            cancelled.set()

    async def close(self) -> None:
        """Disconnect: running answers end as cancelled (their streams closed), then the pool."""
        for cancelled in self._cancels.values():
            cancelled.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), _CLOSE_GRACE_S)
        await self._client.close()


def _embeddings(answer: Any, count: int) -> Embeddings | None:
    """An OpenAI embeddings list as Embeddings, by `index`; None unless it holds `count`
    float vectors."""
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list) or len(data) != count:
        return None
    vectors: list[tuple[float, ...] | None] = [None] * count
    for item in data:
        index = item.get("index") if isinstance(item, dict) else None
        vector = item.get("embedding") if isinstance(item, dict) else None
        if type(index) is not int or not 0 <= index < count or not isinstance(vector, list):
            return None
        if not all(isinstance(x, int | float) for x in vector):
            return None
        vectors[index] = tuple(float(x) for x in vector)
    usage = answer.get("usage")
    tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    found = [vector for vector in vectors if vector is not None]
    if len(found) != count:
        return None
    return Embeddings(tuple(found), tokens if type(tokens) is int else 0)


def _messages(turns: Sequence[ChatTurn]) -> list[dict[str, Any]]:
    """The turns as OpenAI messages, an assistant's calls and each tool result included."""
    return [_message(turn) for turn in turns]


def _message(turn: ChatTurn) -> dict[str, Any]:
    message: dict[str, Any] = {"role": turn.role, "content": turn.content}
    if turn.tool_calls:
        message["tool_calls"] = [_wire_call(call) for call in turn.tool_calls]
    if turn.role == "tool":
        message["tool_call_id"] = turn.tool_call_id
    return message


def _wire_call(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.call_id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


async def _listed_context(client: OpenAIClient, spec: RemoteSpec) -> int | None:
    """The context length the remote advertises for the model (None: it does not say);
    raises RemoteModelUnavailable when the remote does not answer or does not list it."""
    try:
        models = await client.models()
    except RemoteUnavailable as exc:
        raise RemoteModelUnavailable(exc.message) from exc
    for model in models:
        if model.id == spec.model:
            return model.context_length
    names = ", ".join(sorted(m.id for m in models)[:10]) or "none"
    raise RemoteModelUnavailable(
        f"{spec.base_url} does not serve a model named {spec.model!r} (it lists: {names})."
    )
