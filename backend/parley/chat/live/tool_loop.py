"""A run's tool calls: the loop between the model and the MCP servers.

Each step of a run offers the conversation's picked tools whose server is ready (the last
step none, so the model must answer). Each call the model makes is published as `tool_call`
and saved at once in the answer's `tool_calls` (`content_offset`: the answer's length then);
once the step ends, the calls run in order on their servers, each within the timeout, and
each result is published as `tool_result` and saved. The model's text, its calls and their
results then go back into the prompt, and the next step writes on into the same answer.
A call that fails, times out or names a tool not offered is a result with `is_error`: the
model is told and the run goes on. `stop` during a call cancels it: its result stays null.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from parley.chat.conversations.events import TOOL_CALL, TOOL_RESULT, tool_event
from parley.chat.conversations.store import ChatStore
from parley.chat.live.channels import Channel
from parley.models import Message
from parley.protocol import ChatTurn, ToolCall, ToolCallRecord
from parley.tools import NO_TOOLS, ToolOffer, ToolOutcome, ToolRegistry


class RunTools:
    def __init__(
        self,
        *,
        channel: Channel,
        message: Message,
        store: ChatStore,
        registry: ToolRegistry,
        picked: Sequence[str],
        stopped: asyncio.Event,
    ) -> None:
        self._channel = channel
        self._message = message
        self._store = store
        self._registry = registry
        self._picked = tuple(picked)
        self._stopped = stopped
        self.offer: ToolOffer = NO_TOOLS
        # This step's calls, as the model wrote them, with their index in `tool_calls`.
        self._pending: list[tuple[int, ToolCall]] = []

    def start_step(self, last: bool) -> tuple[ToolOffer, int]:
        """The tools this step offers (none on the last step, or with none picked), and
        where in the answer's content this step's text starts."""
        self.offer = NO_TOOLS if last or not self._picked else self._registry.offer(self._picked)
        self._pending = []
        return self.offer, len(self._message.content)

    async def made(self, call: ToolCall) -> None:
        """The model called a tool: published and saved now; run once the step ends."""
        message = self._message
        records = list(message.tool_calls or [])
        record = ToolCallRecord(
            call_id=call.call_id,
            name=self.offer.qualified.get(call.name, call.name),
            arguments=call.arguments,
            content_offset=len(message.content),
        )
        message.tool_calls = [*records, record.model_dump()]
        self._pending.append((len(records), call))
        await self._publish(TOOL_CALL, len(records))

    async def run_calls(self, text_start: int) -> list[ChatTurn] | None:
        """Run this step's calls; the turns that tell the model what it said (the answer's
        text from `text_start`, never its thinking) and what each call gave, or None when the
        run was stopped during one."""
        if not self._pending:
            return []
        calls = tuple(call for _, call in self._pending)
        turns = [ChatTurn("assistant", self._message.content[text_start:], tool_calls=calls)]
        for index, call in self._pending:
            outcome = await self._outcome(call)
            if outcome is None:
                return None
            await self._record_result(index, outcome)
            turns.append(ChatTurn("tool", outcome.content, tool_call_id=call.call_id))
        return turns

    async def _outcome(self, call: ToolCall) -> ToolOutcome | None:
        name = self.offer.qualified.get(call.name)
        if name is None:
            offered = ", ".join(sorted(self.offer.qualified)) or "none"
            return ToolOutcome(
                f"No tool named {call.name!r} is offered (offered: {offered}).", is_error=True
            )
        running = asyncio.ensure_future(self._registry.call(name, call.arguments))
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({running, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not running.done():
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            return None
        return running.result()

    async def _record_result(self, index: int, outcome: ToolOutcome) -> None:
        message = self._message
        records = list(message.tool_calls or [])
        record = ToolCallRecord.model_validate(records[index])
        records[index] = record.model_copy(
            update={
                "result": outcome.content,
                "is_error": outcome.is_error,
                "duration_ms": outcome.duration_ms,
            }
        ).model_dump()
        message.tool_calls = records
        await self._publish(TOOL_RESULT, index)

    async def _publish(self, kind: str, index: int) -> None:
        """The event of call `index` (its call or its result): numbered, sent, and saved with
        the answer, its place among the text pieces kept in `deltas` for replay."""
        await self._channel.reserve(1)
        seq = self._channel.next_seq()
        message = self._message
        message.deltas = [*(message.deltas or []), [seq, kind, index]]
        self._channel.publish(tool_event(message, seq, kind, index))
        await self._store.save_answer(message, self._channel.last_seq)
