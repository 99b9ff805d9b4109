"""What instances sharing a Redis count together: each user's answers in progress (the login
throttle's shared count is accounts/throttle.py's)."""

from __future__ import annotations

import asyncio
import logging

import redis

from parley.cluster.connection import ClusterConnection
from parley.cluster.keys import (
    ANSWER_ENTER,
    ANSWERS_TTL_S,
    LEASE_PREFIX,
    answers_key,
)

log = logging.getLogger(__name__)


class SharedAnswerCount:
    """Each user's answers in progress on every instance: one field per answer naming its
    instance, so the answers of an instance that dies stop counting when its lease ends."""

    def __init__(self, cluster: ClusterConnection) -> None:
        self._cluster = cluster
        self._enter = cluster.redis.register_script(ANSWER_ENTER)

    async def enter(self, user_id: str, ticket_id: str, per_user: int) -> bool:
        counted = await self._enter(
            keys=[answers_key(user_id)],
            args=[ticket_id, self._cluster.instance_id, per_user, ANSWERS_TTL_S, LEASE_PREFIX],
        )
        return bool(counted)

    def leave(self, user_id: str, ticket_id: str) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # a ticket collected after the loop: the instance's lease ends it
        self._cluster.keep(self._forget(user_id, ticket_id), f"leave-{ticket_id}", writer=True)

    async def _forget(self, user_id: str, ticket_id: str) -> None:
        try:
            await self._cluster.redis.hdel(answers_key(user_id), ticket_id)
        except redis.RedisError as exc:
            log.warning("could not uncount answer %s of %s in Redis: %s", ticket_id, user_id, exc)
