"""Report periods: store-local dates and the calendar months they touch, as UTC ranges. Pure.

The monthly trend is cut in the store's time zone (an answer at 23:30 on 31 January in Paris is a
January answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Month:
    """One calendar month of the store's time zone, as a half-open UTC range."""

    label: str  # YYYY-MM
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Period:
    """Store-local dates, both included: ``since`` 00:00 up to the end of ``until``."""

    since: date
    until: date
    timezone: str

    def __post_init__(self) -> None:
        if self.until < self.since:
            raise ValueError(f"the period ends ({self.until}) before it starts ({self.since})")

    @property
    def start(self) -> datetime:
        return _local_midnight(self.since, self.timezone)

    @property
    def end(self) -> datetime:
        return _local_midnight(self.until + timedelta(days=1), self.timezone)

    def year_before(self) -> Period:
        """The same dates one year earlier (29 February becomes the 28th)."""
        return Period(_year_before(self.since), _year_before(self.until), self.timezone)

    def months(self) -> tuple[Month, ...]:
        """The months the period touches, the first and last cut to the period."""
        months = []
        first = self.since.replace(day=1)
        while first <= self.until:
            following = (first + timedelta(days=32)).replace(day=1)
            start = max(self.start, _local_midnight(first, self.timezone))
            end = min(self.end, _local_midnight(following, self.timezone))
            months.append(Month(f"{first:%Y-%m}", start, end))
            first = following
        return tuple(months)


def default_period(today: date, months: int, timezone: str) -> Period:
    """The last ``months`` calendar months, this one included, up to ``today``."""
    first = today.replace(day=1)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return Period(first, today, timezone)


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _local_midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(), tzinfo=ZoneInfo(timezone)).astimezone(UTC)
