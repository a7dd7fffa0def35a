"""Reading the date of an imported answer: ISO 8601, spreadsheet dates and epoch seconds.

Pure, like the reader that uses it (``response_import``): text, the store's time zone and the
file's day/month order go in, a UTC datetime (or None) comes out.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

_EPOCH = re.compile(r"\d{9,13}(\.\d+)?")
# 14/07/2025, 14-07-2025 or 14.07.2025, then an optional time 09:30 or 09:30:15.
_SPREADSHEET_DATE = re.compile(
    r"(\d{1,2})([./-])(\d{1,2})\2(\d{4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)
# NPS was published in 2003; an earlier date is a typo or a placeholder such as 0001-01-01.
EARLIEST_YEAR = 2000


def parse_timestamp(raw: str, timezone: ZoneInfo, date_order: str = "day-first") -> datetime | None:
    """A UTC datetime from ISO 8601, ``YYYY-MM-DD HH:MM:SS``, a spreadsheet date
    (``14/07/2025 09:30``, ``14.07.2025``; ``date_order`` decides ``03/04/2025``) or unix epoch
    seconds; else None.

    Delighted's API and some of its exports give ``created_at`` as epoch seconds; its CSV exports
    otherwise write a local date-time without offset, which we read in the store's time zone.
    """
    text = raw.strip()
    if not starts_iso(text):
        spreadsheet = _SPREADSHEET_DATE.fullmatch(text)
        if spreadsheet is not None:
            return _spreadsheet_timestamp(spreadsheet, timezone, date_order)
        if _EPOCH.fullmatch(text):
            seconds = float(text)
            if seconds > 1e11:  # 13 digits: milliseconds, as JavaScript tools write them
                seconds /= 1000
            return datetime.fromtimestamp(seconds, UTC)
    if text.upper().endswith(" UTC"):
        text = text[:-4] + "+00:00"
    return iso_timestamp(text, timezone)


def iso_timestamp(text: str, timezone: ZoneInfo) -> datetime | None:
    """An ISO 8601 time in UTC (``timezone`` when it names none), or None when it is not one or
    is older than ``EARLIEST_YEAR`` (the importer's short path calls this for every row)."""
    try:
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone)
        # Year 1 or 9999 with an offset overflows on conversion; no NPS answer is that old.
        value = value.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return value if value.year >= EARLIEST_YEAR else None


def starts_iso(text: str) -> bool:
    """``2025-03-14...``: neither a spreadsheet date (one or two digits before the first
    separator) nor epoch seconds (digits only), so the importer skips those two readings (a
    million-row file is nearly always ISO 8601, and the regular expressions cost as much as the
    rest of the row)."""
    return text[4:5] == "-" and text[:4].isdigit()


def _spreadsheet_timestamp(
    match: re.Match[str], timezone: ZoneInfo, date_order: str
) -> datetime | None:
    first, separator, second, year, hour, minute, second_of_minute = match.groups()
    day_first = separator == "." or date_order != "month-first"
    day, month = (first, second) if day_first else (second, first)
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0),
            int(second_of_minute or 0), tzinfo=timezone,
        )  # fmt: skip
        value = value.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return value if value.year >= EARLIEST_YEAR else None


def unambiguous_order(raw: str) -> str | None:
    """``day-first`` for 14/07/2025, ``month-first`` for 07/14/2025, None when both would do."""
    match = _SPREADSHEET_DATE.fullmatch(raw.strip())
    if match is None or match.group(2) == ".":
        return None
    first, second = int(match.group(1)), int(match.group(3))
    if first > 12 >= second:
        return "day-first"
    if second > 12 >= first:
        return "month-first"
    return None


def is_ambiguous(raw: str) -> bool:
    match = _SPREADSHEET_DATE.fullmatch(raw.strip())
    return (
        match is not None
        and match.group(2) != "."
        and match.group(1) != match.group(3)
        and int(match.group(1)) <= 12
        and int(match.group(3)) <= 12
    )
