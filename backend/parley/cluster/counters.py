"""Limits that instances sharing a Redis count together: the login throttle and each user's
answers in progress."""

from __future__ import annotations

import asyncio
import logging
import math

import redis
import redis.asyncio as aioredis

from parley.cluster.keys import (
    ANSWER_ENTER,
    ANSWERS_TTL_S,
    LEASE_PREFIX,
    LOGIN_ATTEMPT,
    answers_key,
    login_keys,
)
from parley.cluster.registry import SharedRegistry
from parley.models import new_id
from parley.security import LOGIN_WINDOW_S, MAX_ADDRESS_FAILURES, MAX_LOGIN_FAILURES

log = logging.getLogger(__name__)


class SharedLoginThrottle:
    """The login throttle (security.LoginThrottle's rules) with its failures in Redis, so
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


class SharedAnswerCount:
    """Each user's answers in progress on every instance: one field per answer naming its
    instance, so the answers of an instance that dies stop counting when its lease ends."""

    def __init__(self, registry: SharedRegistry) -> None:
        self._registry = registry
        self._enter = registry.redis.register_script(ANSWER_ENTER)

    async def enter(self, user_id: str, ticket_id: str, per_user: int) -> bool:
        counted = await self._enter(
            keys=[answers_key(user_id)],
            args=[ticket_id, self._registry.instance_id, per_user, ANSWERS_TTL_S, LEASE_PREFIX],
        )
        return bool(counted)

    def leave(self, user_id: str, ticket_id: str) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # a ticket collected after the loop: the instance's lease ends it
        self._registry.keep(self._forget(user_id, ticket_id), f"leave-{ticket_id}", writer=True)

    async def _forget(self, user_id: str, ticket_id: str) -> None:
        try:
            await self._registry.redis.hdel(answers_key(user_id), ticket_id)
        except redis.RedisError as exc:
            log.warning("could not uncount answer %s of %s in Redis: %s", ticket_id, user_id, exc)
