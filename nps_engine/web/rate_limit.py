"""Per-IP limit on POSTs (``web.posts_per_minute_per_ip``): a sliding one-minute window.

In memory, per process: enough to stop one client hammering the answer and unsubscribe forms.
Behind a reverse proxy the client address comes from ``X-Forwarded-For`` only when uvicorn is
started with ``--forwarded-allow-ips`` (``nps serve`` passes ``proxy_headers``), never from a header
we would trust blindly.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from threading import Lock

WINDOW_SECONDS = 60.0


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = Lock()

    def allow(self, client: str) -> bool:
        """Count one POST from ``client``; False when it is over the limit (not counted then)."""
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(client, deque())
            while hits and hits[0] <= now - WINDOW_SECONDS:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return False
            hits.append(now)
            if len(self._hits) > 10_000:
                self._forget_idle(now)
            return True

    def _forget_idle(self, now: float) -> None:
        idle = [
            ip for ip, hits in self._hits.items() if not hits or hits[-1] <= now - WINDOW_SECONDS
        ]
        for ip in idle:
            del self._hits[ip]
