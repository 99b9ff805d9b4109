"""What the chat layer tells telemetry about generations: token timings as they stream and one
report per ended run. Counts and timings only, never text; nothing here knows Prometheus.

Any path that streams a generation (a run over the socket, a REST or OpenAI-style completion)
can meter it with a TokenMeter, so every answer shows in the same metrics.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RunReport:
    """What is known of a run once it has ended."""

    run_id: str
    conversation_id: str
    user_id: str
    model: str
    status: str
    finish_reason: str | None
    error_code: str | None
    prompt_tokens: int
    completion_tokens: int
    ttft_s: float | None
    duration_s: float
    tokens_per_s: float | None


class GenerationObserver(Protocol):
    """Told of every generation's progress; called on the event loop, must not block."""

    def first_token(self, model: str, ttft_s: float) -> None: ...

    def tokens(self, model: str, count: int, gap_s: float | None) -> None:
        """`count` new tokens, `gap_s` after the previous ones (None: first, or not timed)."""
        ...

    def run_finished(self, report: RunReport) -> None: ...


class NullObserver:
    def first_token(self, model: str, ttft_s: float) -> None:
        pass

    def tokens(self, model: str, count: int, gap_s: float | None) -> None:
        pass

    def run_finished(self, report: RunReport) -> None:
        pass


class TokenMeter:
    """Times one generation from its start: the wait for the first token, the gap before each
    later one, and the token count, reported to an observer as they happen."""

    def __init__(self, observer: GenerationObserver | None, model: str) -> None:
        self._observer: GenerationObserver = observer or NullObserver()
        self.model = model
        self.started_at = time.monotonic()
        self.first_token_at: float | None = None
        self.count = 0
        self._last_at = 0.0

    @property
    def ttft_s(self) -> float | None:
        return None if self.first_token_at is None else self.first_token_at - self.started_at

    def tokens(self, completion_tokens: int, *, timed: bool = True) -> None:
        """The engine's running count of completion tokens. `timed=False` for a final count
        (tokens that made no text, like a stop string): counted, but not a token's arrival."""
        now = time.monotonic()
        gap: float | None = now - self._last_at if timed else None
        if timed and self.first_token_at is None:
            self.first_token_at = now
            self._observer.first_token(self.model, now - self.started_at)
            gap = None
        new = completion_tokens - self.count
        if new > 0:
            self._observer.tokens(self.model, new, gap)
            self.count = completion_tokens
            self._last_at = now

    def finished(self, report: RunReport) -> None:
        self._observer.run_finished(report)
