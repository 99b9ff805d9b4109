"""The login throttle: failed logins counted per (username, address) and per address, in this
process's memory or, for instances that share a Redis, in Redis."""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from typing import Protocol, TypeVar

import redis.asyncio as aioredis

from parley.cluster.keys import LOGIN_ATTEMPT, login_keys
from parley.models import new_id

K = TypeVar("K")

# The login throttle's rules: failures per (username, address) and per address in a window.
MAX_LOGIN_FAILURES = 5
LOGIN_WINDOW_S = 300.0
MAX_ADDRESS_FAILURES = 30


class Throttle(Protocol):
    """What logins ask of a login throttle (this process's, or one that instances share)."""

    async def attempt(self, username: str, address: str) -> int | None:
        """Start an attempt: seconds to wait, or None with the attempt counted as a failure
        until `succeeded` clears it, so guesses in flight together count before they finish."""
        ...

    async def succeeded(self, username: str, address: str) -> None:
        """A success clears the username's count; of the address's, it takes back only the
        failure its own attempt counted in advance."""
        ...


class LoginThrottle:
    """Failed logins in a sliding window, counted two ways: per (username, client address), the
    contract's rule, and per client address across usernames, so spraying fresh names from one
    address is stopped too.

    Memory is bounded: each key keeps at most the timestamps its rule looks at, and at most
    `max_keys` keys of each kind are remembered; beyond that the one whose last failure is
    oldest is forgotten first (a key idle for a whole window is forgotten anyway).
    """

    def __init__(
        self,
        max_failures: int = MAX_LOGIN_FAILURES,
        window_s: float = LOGIN_WINDOW_S,
        max_address_failures: int = MAX_ADDRESS_FAILURES,
        max_keys: int = 10_000,
    ) -> None:
        self.max_failures = max_failures
        self.max_address_failures = max_address_failures
        self.window_s = window_s
        self.max_keys = max_keys
        self._per_user: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._per_address: OrderedDict[str, deque[float]] = OrderedDict()

    def tracked_keys(self) -> int:
        return len(self._per_user) + len(self._per_address)

    def _recent(self, table: OrderedDict[K, deque[float]], key: K, now: float) -> int:
        failures = table.get(key)
        if failures is None:
            return 0
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if not failures:
            del table[key]
        return len(failures)

    def _wait(self, table: OrderedDict[K, deque[float]], key: K, limit: int, now: float) -> int:
        if self._recent(table, key, now) < limit:
            return 0
        oldest_counted = table[key][-limit]
        return max(1, math.ceil(oldest_counted + self.window_s - now))

    def retry_after(self, username: str, address: str) -> int | None:
        """Seconds until another attempt is allowed, or None when it is allowed now."""
        now = time.monotonic()
        wait = max(
            self._wait(self._per_user, (username.lower(), address), self.max_failures, now),
            self._wait(self._per_address, address, self.max_address_failures, now),
        )
        return wait or None

    async def attempt(self, username: str, address: str) -> int | None:
        retry_after = self.retry_after(username, address)
        if retry_after is None:
            self.failed(username, address)
        return retry_after

    def _append(self, table: OrderedDict[K, deque[float]], key: K, limit: int) -> None:
        failures = table.get(key)
        if failures is None:
            failures = table[key] = deque(maxlen=limit)
        table.move_to_end(key)
        failures.append(time.monotonic())
        while len(table) > self.max_keys:
            table.popitem(last=False)

    def failed(self, username: str, address: str) -> None:
        self._append(self._per_user, (username.lower(), address), self.max_failures)
        self._append(self._per_address, address, self.max_address_failures)

    async def succeeded(self, username: str, address: str) -> None:
        self._per_user.pop((username.lower(), address), None)
        failures = self._per_address.get(address)
        if failures:
            failures.pop()


class SharedLoginThrottle:
    """The login throttle (LoginThrottle's rules) with its failures in Redis, so
    guesses on every instance add up. Each key holds at most the failures its rule looks at,
    and expires a window after its last one."""

    def __init__(
        self,
        client: aioredis.Redis,
        max_failures: int = MAX_LOGIN_FAILURES,
        window_s: float = LOGIN_WINDOW_S,
        max_address_failures: int = MAX_ADDRESS_FAILURES,
    ) -> None:
        self.max_failures = max_failures
        self.max_address_failures = max_address_failures
        self.window_s = window_s
        self._redis = client
        self._attempt = client.register_script(LOGIN_ATTEMPT)

    async def attempt(self, username: str, address: str) -> int | None:
        wait_ms = await self._attempt(
            keys=login_keys(username, address),
            args=[
                max(1, int(self.window_s * 1000)),
                self.max_failures,
                self.max_address_failures,
                new_id(),
            ],
        )
        wait = int(wait_ms)
        return max(1, math.ceil(wait / 1000)) if wait > 0 else None

    async def succeeded(self, username: str, address: str) -> None:
        per_user, per_address = login_keys(username, address)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(per_user)
            pipe.zpopmax(per_address)  # the newest failure: the one this attempt counted
            await pipe.execute()
