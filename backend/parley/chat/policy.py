"""Limits that hold for every transport: the socket, /api and /api/v1, and /v1."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MessageLimits:
    max_message_chars: int

    def overlong(self, texts: Iterable[str]) -> str | None:
        """Why the texts are refused (`too_long`), or None when every one fits."""
        if any(len(text) > self.max_message_chars for text in texts):
            return f"Messages are limited to {self.max_message_chars} characters."
        return None
