"""A decode loop's thread-side events as one request's async stream. Torch-free."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable

from parley.engine.admission import S
from parley.engine.base import EngineError, EngineEvent, Finished, GenerationRequest
from parley.engine.decode_loop import DecodeLoop
from parley.engine.decoding import Decode


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


async def stream_request(
    loop: DecodeLoop[S],
    kind: type[S],
    request: GenerationRequest,
    encode: Callable[[str], list[int]],
    context_length: int,
    decode: Decode,
) -> AsyncGenerator[EngineEvent]:
    """One request through a decode loop, as the events of its answer.

    The prompt is encoded and checked on the first step of the stream, the request submitted
    as a `kind` sequence; events are yielded until `Finished` (or its EngineError is raised).
    Closing the stream early cancels the request, which frees its slot."""
    prompt_ids = encode(request.prompt)
    room = answer_room(prompt_ids, context_length)
    params = request.params
    running = asyncio.get_running_loop()
    events: asyncio.Queue[EngineEvent | EngineError] = asyncio.Queue()

    def emit(event: EngineEvent | EngineError) -> None:
        # A consumer whose loop has closed no longer listens.
        with contextlib.suppress(RuntimeError):
            running.call_soon_threadsafe(events.put_nowait, event)

    loop.submit(
        kind.start(
            request.request_id,
            prompt_ids,
            params,
            min(params.max_tokens, room),
            decode,
            emit,
        )
    )
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
            loop.cancel(request.request_id)
