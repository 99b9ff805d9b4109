"""A decode loop's thread-side events as one request's async stream. Torch-free."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable

from parley.engine.admission import S
from parley.engine.base import EngineError, EngineEvent, Finished
from parley.engine.decode_loop import DecodeLoop
from parley.engine.sequence import Emit


def answer_room(prompt_ids: list[int], context_length: int) -> int:
    """How many new tokens fit after the prompt; EngineError when none do."""
    if not prompt_ids:
        raise EngineError("The prompt is empty.")
    room = context_length - len(prompt_ids)
    if room <= 0:
        raise EngineError(
            f"The prompt has {len(prompt_ids)} tokens; the model reads at most {context_length}."
        )
    return room


async def stream_sequence(
    loop: DecodeLoop[S], request_id: str, build: Callable[[Emit], S]
) -> AsyncGenerator[EngineEvent]:
    """Submit the sequence `build` makes and yield its events until `Finished` (or raise its
    EngineError). Closing the stream early cancels the request, which frees its slot."""
    running = asyncio.get_running_loop()
    events: asyncio.Queue[EngineEvent | EngineError] = asyncio.Queue()

    def emit(event: EngineEvent | EngineError) -> None:
        # A consumer whose loop has closed no longer listens.
        with contextlib.suppress(RuntimeError):
            running.call_soon_threadsafe(events.put_nowait, event)

    loop.submit(build(emit))
    finished = False
    try:
        while not finished:
            event = await events.get()
            if isinstance(event, EngineError):
                finished = True
                raise event
            finished = isinstance(event, Finished)
            yield event
    finally:
        if not finished:
            loop.cancel(request_id)
