"""The sockets each user holds open, against PARLEY_MAX_SOCKETS_PER_USER.

One interface, two counts: `LocalSocketCounts` for one process alone, and the shared one of
instances behind one Redis (cluster/counters.py), which counts a user's sockets on all of
them. The app picks one where it wires Redis; the socket endpoint only takes and releases.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Protocol


class SocketCounts(Protocol):
    """A user's open sockets, each named by an id its endpoint makes."""

    async def take(self, user_id: str, socket_id: str, limit: int) -> bool:
        """Count the socket among the user's; False (and nothing counted) when the user
        already holds `limit`."""
        ...

    def release(self, user_id: str, socket_id: str) -> None:
        """The socket closed (or was never counted): it no longer counts. At once here;
        elsewhere it may take a moment to travel."""
        ...


class LocalSocketCounts:
    """The sockets each user holds open in this process."""

    def __init__(self) -> None:
        self._open: dict[str, set[str]] = {}

    async def take(self, user_id: str, socket_id: str, limit: int) -> bool:
        # Never suspends: between the check and the count no other socket comes in.
        held = self._open.setdefault(user_id, set())
        if len(held) >= limit:
            return False
        held.add(socket_id)
        return True

    def release(self, user_id: str, socket_id: str) -> None:
        held = self._open.get(user_id)
        if held is None:
            return
        held.discard(socket_id)
        if not held:
            del self._open[user_id]

    def held(self) -> Mapping[str, Set[str]]:
        """The users with sockets open and their sockets' ids (a view: do not keep it across
        an await)."""
        return self._open
