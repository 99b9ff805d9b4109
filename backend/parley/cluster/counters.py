"""What instances sharing a Redis count together: each user's answers in progress and open
sockets (the login throttle's shared count is accounts/throttle.py's)."""

from __future__ import annotations

import asyncio
import logging

import redis

from parley.cluster.connection import ClusterConnection
from parley.cluster.keys import (
    ANSWER_ENTER,
    ANSWERS_TTL_S,
    LEASE_PREFIX,
    SOCKET_RENEW,
    SOCKET_TAKE,
    answers_key,
    sockets_key,
)
from parley.realtime.counts import LocalSocketCounts

log = logging.getLogger(__name__)

# How long a socket waits for Redis to count it before it is let in on this instance's count.
TAKE_TIMEOUT_S = 2.0


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


class SharedSocketCounts:
    """Each user's open sockets on every instance: a sorted set of socket ids, each scored by
    when its hold ends. This instance renews the holds of its own sockets every third of
    `hold_s`, so the sockets of an instance that dies stop counting within `hold_s`, and one
    whose uncounting was lost within `hold_s` of its close.

    Redis failing locks no one out: the socket is let in on this instance's count alone (so
    the cap still holds per instance), with a warning, and the renewal counts it in Redis
    once Redis answers again."""

    def __init__(self, cluster: ClusterConnection, hold_s: float) -> None:
        self._cluster = cluster
        self._hold_ms = max(1, int(hold_s * 1000))
        self._here = LocalSocketCounts()
        # Sockets whose count in Redis is on its way: not renewed yet, or a refused one
        # would be counted again.
        self._taking: set[str] = set()
        self._take = cluster.redis.register_script(SOCKET_TAKE)
        self._renew = cluster.redis.register_script(SOCKET_RENEW)
        self._renewer: asyncio.Task[None] | None = None

    async def take(self, user_id: str, socket_id: str, limit: int) -> bool:
        if not await self._here.take(user_id, socket_id, limit):
            return False  # never more than the cap on one instance, whatever Redis says
        self._taking.add(socket_id)
        try:
            counted = bool(
                await asyncio.wait_for(
                    self._take(keys=[sockets_key(user_id)], args=[socket_id, limit, self._hold_ms]),
                    TAKE_TIMEOUT_S,
                )
            )
        except (redis.RedisError, TimeoutError) as exc:
            log.warning(
                "could not count a socket of %s in Redis; let in on this instance's count: %r",
                user_id,
                exc,
            )
            counted = True
        except asyncio.CancelledError:
            # Its endpoint will not release a socket whose take never returned.
            self.release(user_id, socket_id)
            raise
        finally:
            self._taking.discard(socket_id)
        if not counted:
            self._here.release(user_id, socket_id)
            return False
        if self._renewer is None or self._renewer.done():
            self._renewer = self._cluster.keep(self._renew_held(), "socket-holds", writer=False)
        return True

    def release(self, user_id: str, socket_id: str) -> None:
        self._here.release(user_id, socket_id)
        self._cluster.keep(self._forget(user_id, [socket_id]), f"close-{socket_id}", writer=True)

    async def _renew_held(self) -> None:
        """Renew the holds of this instance's sockets until none is left open."""
        while self._here.held():
            await asyncio.sleep(self._hold_ms / 3000)
            renewed = {
                user_id: [s for s in sockets if s not in self._taking]
                for user_id, sockets in self._here.held().items()
            }
            try:
                async with self._cluster.redis.pipeline(transaction=False) as pipe:
                    for user_id, sockets in renewed.items():
                        if sockets:
                            await self._renew(
                                keys=[sockets_key(user_id)],
                                args=[self._hold_ms, *sockets],
                                client=pipe,
                            )
                    await pipe.execute()
            except redis.RedisError as exc:
                if _cancel_requested():
                    raise asyncio.CancelledError from exc
                log.warning("could not renew the holds of open sockets in Redis: %s", exc)
                continue
            if _cancel_requested():
                raise asyncio.CancelledError
            # Closed while the renewal was on its way: its uncounting may have gone first.
            held = self._here.held()
            closed = {
                user_id: [s for s in sockets if s not in held.get(user_id, ())]
                for user_id, sockets in renewed.items()
            }
            for user_id, sockets in closed.items():
                if sockets:
                    await self._forget(user_id, sockets)

    async def _forget(self, user_id: str, socket_ids: list[str]) -> None:
        try:
            await self._cluster.redis.zrem(sockets_key(user_id), *socket_ids)
        except redis.RedisError as exc:
            log.warning(
                "could not uncount %d socket(s) of %s in Redis (their hold runs out): %s",
                len(socket_ids),
                user_id,
                exc,
            )


def _cancel_requested() -> bool:
    """Whether this task was cancelled: redis-py can turn a cancel that lands inside a command
    into a connection error, or lose it (registry.close's note), and a renewal that went on
    after its instance closed would hold its sockets forever."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
