"""Zendesk's per-minute request limits, as fixed windows.

Zendesk counts requests per account per minute (400 on Growth/Professional) and, separately, 10
per minute on the incremental export endpoints. Over the limit it answers 429 with an integer
``Retry-After`` (seconds until the window resets); zenpy sleeps exactly that long, one second at a
time, then retries (zendesk-notes 1.4). Every answer carries ``X-Rate-Limit`` /
``X-Rate-Limit-Remaining`` and ``ratelimit-limit`` / ``-remaining`` / ``-reset``
(https://developer.zendesk.com/api-reference/introduction/rate-limits).

The clock is injected so tests can let time pass without sleeping.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(frozen=True)
class Allowance:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # whole seconds until the window resets (at least 1 when refused)


class MinuteWindow:
    """At most ``limit`` requests per ``window_seconds`` window; thread-safe."""

    def __init__(self, limit: int, window_seconds: float = 60.0, clock: Clock = time.monotonic):
        if limit < 1:
            raise ValueError(f"a rate limit must allow at least 1 request, got {limit}")
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._window_start = clock()
        self._used = 0

    def take(self) -> Allowance:
        """Count one request if the window has room; otherwise say how long to wait."""
        with self._lock:
            now = self._clock()
            elapsed = now - self._window_start
            if elapsed >= self.window_seconds:
                self._window_start, self._used, elapsed = now, 0, 0.0
            left = self.window_seconds - elapsed
            if self._used >= self.limit:
                return Allowance(False, self.limit, 0, max(1, math.ceil(left)))
            self._used += 1
            return Allowance(True, self.limit, self.limit - self._used, max(0, math.ceil(left)))

    def headers(self, allowance: Allowance) -> dict[str, str]:
        return {
            "X-Rate-Limit": str(allowance.limit),
            "X-Rate-Limit-Remaining": str(allowance.remaining),
            "ratelimit-limit": str(allowance.limit),
            "ratelimit-remaining": str(allowance.remaining),
            "ratelimit-reset": str(allowance.reset_seconds),
        }
