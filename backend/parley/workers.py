"""CPU-heavy work off the event loop, on a bounded pool of its own: PDF text, import parsing,
token counting and prompt fitting. Database work has its own threads (db.py), so a user
uploading PDFs or importing archives never queues other users' requests behind them; and
`PerUserLimit` caps how much of this pool one user may keep busy at once."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from parley.protocol import ParleyError

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_THREADS = 2

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_threads = DEFAULT_THREADS


def configure(threads: int) -> None:
    """The pool's size from now on (the settings'; a pool already started is replaced)."""
    global _threads
    _threads = threads
    close()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_threads, thread_name_prefix="parley-cpu")
        return _pool


async def run_cpu(work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`work(*args, **kwargs)` on the CPU pool; waits for a free thread if all are busy."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), lambda: work(*args, **kwargs))


def close() -> None:
    """Let running work finish and drop the pool (the next `run_cpu` makes a new one)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False)


class TooManyAtOnce(ParleyError):
    default_code = "rate_limited"
    default_kind = "rate_limited"


class PerUserLimit:
    """At most `per_user` of one kind of work (uploads, imports) per user at once in this
    process; more get 429 `rate_limited` with a Retry-After, at once rather than queued."""

    def __init__(self, what: str, per_user: int, retry_after_s: int = 1) -> None:
        self.what = what
        self.per_user = per_user
        self.retry_after_s = retry_after_s
        self._active: dict[str, int] = {}

    @contextlib.contextmanager
    def slot(self, user_id: str) -> Iterator[None]:
        # The event loop's one thread is the only one to touch `_active`: no lock.
        if self._active.get(user_id, 0) >= self.per_user:
            raise TooManyAtOnce(
                f"At most {self.per_user} {self.what} of one user run at once; try again "
                "when one has finished.",
                retry_after_s=self.retry_after_s,
            )
        self._active[user_id] = self._active.get(user_id, 0) + 1
        try:
            yield
        finally:
            left = self._active[user_id] - 1
            if left:
                self._active[user_id] = left
            else:
                del self._active[user_id]
