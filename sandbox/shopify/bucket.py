"""Shopify's leaky bucket of query-cost points, per app and store.

https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits: a query may run when the
bucket holds its requested cost; the bucket refills continuously at the restore rate up to its
maximum. Time comes from an injected monotonic clock so the arithmetic is testable offline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LeakyBucket:
    """Shopify's per app-and-store bucket: ``maximum`` points, refilled at ``restore_rate``/s.

    Defaults are what a standard plan's dev store reports (2000 points, 100/s). Numbers are echoed
    in ``throttleStatus`` as given, so ``LeakyBucket(1000.0, 50.0)`` answers like the docs' sample.
    """

    maximum: float = 2000
    restore_rate: float = 100
    clock: Callable[[], float] = time.monotonic
    _level: float = field(init=False)
    _at: float = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.maximum <= 0 or self.restore_rate <= 0:
            raise ValueError("LeakyBucket needs a positive maximum and restore_rate")
        self._level = float(self.maximum)
        self._at = self.clock()

    def available(self) -> float:
        with self._lock:
            return self._refill()

    def try_spend(self, points: int) -> bool:
        """Take ``points`` if the bucket holds that many; False (nothing taken) otherwise."""
        with self._lock:
            if points > self._refill():
                return False
            self._level -= points
            return True

    def refund(self, points: int) -> None:
        with self._lock:
            self._refill()
            self._level = min(float(self.maximum), self._level + points)

    def throttle_status(self) -> dict[str, Any]:
        with self._lock:
            level = self._refill()
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": int(level),
            "restoreRate": self.restore_rate,
        }

    def _refill(self) -> float:
        now = self.clock()
        self._level = min(float(self.maximum), self._level + (now - self._at) * self.restore_rate)
        self._at = now
        return self._level
