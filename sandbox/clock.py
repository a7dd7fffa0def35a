"""The one clock that moves only when told: tests, fakes and the scripted demo run on it.

``now`` (wall time, timezone-aware) and ``monotonic`` (seconds) plug into every ``clock=`` and
``monotonic=`` parameter of the simulators, connectors, jobs and web app; ``sleep`` is what a
patched ``sleep=`` calls (it records the wait and moves time on); ``advance`` and ``move_to`` move
it by hand. Only ``move_to`` may set the wall clock back (the demo ends on the real "now");
monotonic time never goes back.
"""

from __future__ import annotations

from datetime import datetime, timedelta


class ManualClock:
    def __init__(self, start: datetime, monotonic_start: float = 1000.0) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self.wall = start
        self.seconds = monotonic_start
        # Every wait asked of ``sleep``, to the millisecond, in order.
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time only moves forward")
        self.seconds += seconds
        self.wall += timedelta(seconds=seconds)

    def move_to(self, when: datetime) -> None:
        """Set the wall clock to ``when`` (the demo's next week); monotonic time moves forward by
        as much, or stays when ``when`` is earlier."""
        if when.tzinfo is None:
            raise ValueError("ManualClock needs timezone-aware times")
        self.seconds += max((when - self.wall).total_seconds(), 0.0)
        self.wall = when

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.advance(max(seconds, 0.0))
