"""A run: the making of one assistant message, owned by the server rather than by a socket.

It asks the engine for tokens, splits thinking from answer, numbers every event, saves the
message as it streams and at the end (before `end` goes out), and fans events out through
the conversation's channel. It goes on when every socket has closed. When the model calls
tools, the run is several steps (chat/live/tool_loop.py), all writing into the one message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from parley.chat.conversations.events import CHUNK, THINKING, end_event
from parley.chat.conversations.store import ChatStore
from parley.chat.live.channels import Channel
from parley.chat.live.tool_loop import RunTools
from parley.chat.metering import GenerationObserver, RunReport, TokenMeter
from parley.chat.prepare.fairness import Admission, Ticket
from parley.chat.prepare.file_prompts import AttachedText, fit_question
from parley.chat.prepare.prompts import PromptTooLong
from parley.chat.prepare.request import GenerationOptions, prepare_generation
from parley.engine.base import ChatTurn, Engine
from parley.engine.selection.manager import EngineManager
from parley.models import Message
from parley.protocol import (
    ChunkFrame,
    ErrorCode,
    Finished,
    ParleyError,
    Piece,
    Pieces,
    Prefilling,
    Queued,
    SendOptions,
    StatusFrame,
    ThinkingFrame,
    ToolCallMade,
    ToolSpec,
    Usage,
    socket_code,
)
from parley.tools import ToolRegistry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunConfig:
    flush_interval_s: float = 1.0
    status_interval_s: float = 10.0
    default_max_tokens: int = 1024
    # Benchmarks only: answers run to max_tokens regardless of end-of-sequence.
    ignore_eos: bool = False
    # Generations in one answer, tool calls between them; the last offers no tools.
    tool_max_steps: int = 8


@dataclass(frozen=True, slots=True)
class RunPlan:
    model: str | None
    system_prompt: str
    history: Sequence[ChatTurn]
    options: SendOptions
    # The files of the message being answered (the last turn), fitted to the model's context.
    attached: tuple[AttachedText, ...] = ()
    # The conversation's picked tools, "<server>.<tool>" each.
    tools: tuple[str, ...] = ()


RunPhase = Literal["queued", "prefill", "decoding"]


class RunFailed(ParleyError):
    """A run that ended in an error of the run's own; its answer ends with an error frame of
    `code` (as it does for any ParleyError, with the code `socket_code` gives it)."""

    default_kind = "failed"

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message, code=code)
        self.code: ErrorCode = code


class Run:
    def __init__(
        self,
        *,
        channel: Channel,
        message: Message,
        plan: RunPlan,
        store: ChatStore,
        engines: EngineManager,
        tools: ToolRegistry,
        admission: Admission,
        ticket: Ticket,
        config: RunConfig,
        on_done: Callable[[Run], None],
        observer: GenerationObserver | None = None,
    ) -> None:
        self.channel = channel
        self.message = message
        self._plan = plan
        self._store = store
        self._engines = engines
        self._admission = admission
        # The owner's place among their answers in progress, given back when the run ends.
        self._ticket = ticket
        self._config = config
        self._on_done = on_done
        self.done = False
        self.finished = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._interrupted = False
        self._engine: Engine | None = None
        self._status = StatusFrame(state="queued")
        self._meter = TokenMeter(observer, message.model or plan.model or "default")
        self._dirty = False
        self._task: asyncio.Task[None] | None = None
        self._tools = RunTools(
            channel=channel,
            message=message,
            store=store,
            registry=tools,
            picked=plan.tools,
            stopped=self._stop_requested,
        )

    @property
    def id(self) -> str:
        return self.message.id

    @property
    def model(self) -> str:
        return self._meter.model

    @property
    def phase(self) -> RunPhase:
        """Waiting for a slot (`queued`), reading the prompt (`prefill`), or streaming."""
        return self._status.state if self._meter.first_token_at is None else "decoding"

    def start(self) -> None:
        self._task = asyncio.create_task(self._execute(), name=f"run-{self.id}")

    async def stop(self) -> None:
        """Cancel the generation; the run ends with `end` / finish_reason `cancelled`."""
        self._stop_requested.set()
        if self._engine is not None:
            await self._engine.cancel(self.id)

    async def interrupt(self) -> None:
        """Stop because the server is going down: the message is left `interrupted`."""
        self._interrupted = True
        await self.stop()

    # ---------- the run ----------

    async def _execute(self) -> None:
        background = [
            asyncio.create_task(self._flush_periodically()),
            asyncio.create_task(self._send_status_until_first_token()),
        ]
        try:
            finish = await self._generate()
            await self._finish(finish)
        except ParleyError as error:
            # The model could not load or take the answer, the engine failed, the prompt
            # cannot fit: the answer ends with the error's code as a socket would say it.
            await self._fail(socket_code(error), error.message)
        except Exception:
            log.exception("run %s failed", self.id)
            await self._fail("internal_error", "The answer failed because of a server error.")
        finally:
            self._ticket.release()
            for task in background:
                task.cancel()
            self.done = True
            self.finished.set()
            self._on_done(self)

    async def _acquire_engine(self, held: contextlib.AsyncExitStack) -> Engine | None:
        """The model, held until `held` closes (never unloaded for another meanwhile), or None
        when the run is stopped while its model loads."""
        lease = self._engines.lease(self._plan.model)
        acquire = asyncio.ensure_future(held.enter_async_context(lease))
        stopped = asyncio.ensure_future(self._stop_requested.wait())
        await asyncio.wait({acquire, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not acquire.done():
            acquire.cancel()
            return None
        return acquire.result()

    async def _generate(self) -> Finished:
        async with contextlib.AsyncExitStack() as held:
            return await self._generate_on(await self._acquire_engine(held))

    async def _generate_on(self, engine: Engine | None) -> Finished:
        if engine is None:
            return Finished("cancelled", Usage(prompt_tokens=0, completion_tokens=0))
        self._engine = engine
        options = GenerationOptions.from_send(self._plan.options)
        try:
            turns = await fit_question(
                engine,
                self._plan.system_prompt,
                self._plan.history,
                self._plan.attached,
                max_new_tokens=options.max_tokens or self._config.default_max_tokens,
                enable_thinking=options.thinking,
            )
        except PromptTooLong as exc:
            raise RunFailed("too_long", str(exc)) from exc
        # Each step is one generation; the tool calls it makes run before the next.
        read = made = cached = 0
        last_step = self._config.tool_max_steps - 1
        for step in range(self._config.tool_max_steps):
            offer, text_start = self._tools.start_step(last=step == last_step)
            finished = await self._step(engine, turns, options, offer.specs, made)
            read += finished.usage.prompt_tokens
            made += finished.usage.completion_tokens
            cached += finished.usage.cached_tokens
            if finished.finish_reason != "tool_calls":
                return Finished(finished.finish_reason, Usage(read, made, cached))
            # A stop that came once the calls were made, before they ran, cancels them too.
            stopped = self._stop_requested.is_set()
            results = None if stopped else await self._tools.run_calls(text_start)
            if results is None or self._stop_requested.is_set():
                return Finished("cancelled", Usage(read, made, cached))
            if not results:  # "tool_calls" without a call: nothing to go on with
                break
            turns = [*turns, *results]
        # An answer never ends on "tool_calls" (a chat client has no calls to make).
        return Finished("stop", Usage(read, made, cached))

    async def _step(
        self,
        engine: Engine,
        turns: Sequence[ChatTurn],
        options: GenerationOptions,
        tools: tuple[ToolSpec, ...],
        made_before: int,
    ) -> Finished:
        """One generation into the answer; `made_before`: the tokens earlier steps made."""
        try:
            prepared = await prepare_generation(
                engine,
                self.id,
                self._plan.system_prompt,
                turns,
                options,
                default_max_tokens=self._config.default_max_tokens,
                ignore_eos=self._config.ignore_eos,
                tools=tools,
            )
        except PromptTooLong as exc:
            raise RunFailed("too_long", str(exc)) from exc
        if self._stop_requested.is_set():
            return Finished("cancelled", Usage(prepared.prompt.tokens, completion_tokens=0))
        finished: Finished | None = None
        stream = self._admission.generate(
            self._ticket, self.model, engine, prepared.request, stopped=self._stop_requested
        )
        try:
            async for event in stream:
                if isinstance(event, Pieces):
                    self._meter.tokens(made_before + event.completion_tokens)
                    await self._emit(event.pieces)
                elif isinstance(event, ToolCallMade):
                    await self._tools.made(event.call)
                elif isinstance(event, Finished):
                    # Tokens that produced no text (a stop string, say) still count.
                    self._meter.tokens(made_before + event.usage.completion_tokens, timed=False)
                    finished = event
                elif isinstance(event, Queued):
                    self._set_status(StatusFrame(state="queued", position=event.position))
                elif isinstance(event, Prefilling):
                    self._set_status(StatusFrame(state="prefill"))
        finally:
            await stream.aclose()
        if finished is None and self._stop_requested.is_set():  # stopped while in line
            return Finished("cancelled", Usage(prepared.prompt.tokens, completion_tokens=0))
        if finished is None:
            raise RunFailed("internal_error", "The engine ended without finishing.")
        return finished

    def _set_status(self, status: StatusFrame) -> None:
        self._status = status
        if self._meter.first_token_at is None:
            self.channel.publish(status)

    async def _emit(self, pieces: Sequence[Piece]) -> None:
        if not pieces:
            return
        await self.channel.reserve(len(pieces))
        message = self.message
        deltas = message.deltas if message.deltas is not None else []
        for piece in pieces:
            seq = self.channel.next_seq()
            if piece.channel == "thinking":
                message.thinking += piece.text
                deltas.append([seq, THINKING, len(piece.text)])
                self.channel.publish(ThinkingFrame(seq=seq, content=piece.text))
            else:
                message.content += piece.text
                deltas.append([seq, CHUNK, len(piece.text)])
                self.channel.publish(ChunkFrame(seq=seq, content=piece.text))
        message.deltas = deltas
        self._dirty = True

    # ---------- endings: saved first, then sent ----------

    async def _finish(self, result: Finished) -> None:
        finish, usage = result.finish_reason, result.usage
        if self._interrupted:
            await self._fail("interrupted", "The server stopped before this answer finished.")
            return
        message = self.message
        message.status = "cancelled" if finish == "cancelled" else "complete"
        message.finish_reason = finish
        message.usage = {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "cached_tokens": usage.cached_tokens,
        }
        message.timings = self._timings(usage.completion_tokens)
        await self._close()

    async def _fail(self, code: ErrorCode, text: str) -> None:
        message = self.message
        message.status = "interrupted" if code == "interrupted" else "error"
        message.error_code = code
        message.error_message = text
        await self._close()

    async def _close(self) -> None:
        await self.channel.reserve(1)
        self.message.end_seq = self.channel.next_seq()
        await self._store.save_answer(self.message, self.channel.last_seq)
        self.channel.publish(end_event(self.message))
        self._meter.finished(self._report())

    def _report(self) -> RunReport:
        message = self.message
        usage = message.usage or {}
        rate = (message.timings or {}).get("tokens_per_s")
        meter = self._meter
        return RunReport(
            run_id=self.id,
            conversation_id=self.channel.conversation_id,
            user_id=self.channel.owner_id,
            model=meter.model,
            status=message.status,
            finish_reason=message.finish_reason,
            error_code=message.error_code,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or meter.count),
            ttft_s=meter.ttft_s,
            duration_s=time.monotonic() - meter.started_at,
            tokens_per_s=None if rate is None else float(rate),
        )

    def _timings(self, completion_tokens: int) -> dict[str, float | None]:
        first, ttft = self._meter.first_token_at, self._meter.ttft_s
        if first is None or ttft is None:
            return {"ttft_ms": None, "tokens_per_s": None}
        decode_s = time.monotonic() - first
        rate = (
            (completion_tokens - 1) / decode_s if completion_tokens > 1 and decode_s > 0 else None
        )
        return {
            "ttft_ms": round(ttft * 1000, 1),
            "tokens_per_s": round(rate, 2) if rate is not None else None,
        }

    # ---------- background duties ----------

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._config.flush_interval_s)
            if self._dirty:
                self._dirty = False
                await self._store.save_answer(self.message, self.channel.last_seq)

    async def _send_status_until_first_token(self) -> None:
        """Heartbeats before the first token keep proxies and clients from timing out."""
        self.channel.publish(self._status)
        while self._meter.first_token_at is None:
            await asyncio.sleep(self._config.status_interval_s)
            if self._meter.first_token_at is None:
                self.channel.publish(self._status)

    async def wait(self, limit_s: float | None = None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.finished.wait(), limit_s)
