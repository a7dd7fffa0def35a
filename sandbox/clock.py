"""A clock that moves only when told: tests and scripted demos run minutes of API time at once.

``ManualClock.now`` and ``ManualClock.monotonic`` plug into the simulators' ``clock=`` and
``monotonic=`` parameters; ``advance`` is what a patched ``sleep`` calls.
"""

from __future__ import annotations

from datetime import datetime, timedelta


class ManualClock:
    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self.wall = start
        self.seconds = 1000.0

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time only moves forward")
        self.seconds += seconds
        self.wall += timedelta(seconds=seconds)
