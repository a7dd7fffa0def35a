"""Which answers a reader wants to see: the one place the feed's filters are defined. Pure.

The dashboard's query string, the CLI's options and the export all become one
:class:`ResponseFilters`; ``nps_engine.store.response_feed`` turns it into SQL. A new filter is
one field here, one line in :func:`filters_from_query` / :meth:`ResponseFilters.query`, and one
condition in the store module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CATEGORIES = ("promoter", "passive", "detractor")
SCORE_RANGES = {"promoter": (9, 10), "passive": (7, 8), "detractor": (0, 6)}


class FilterError(ValueError):
    """A filter value that cannot be used; the message names the filter."""


@dataclass(frozen=True, slots=True)
class ResponseFilters:
    since: date | None = None  # store-local days, both included
    until: date | None = None
    category: str | None = None
    score: int | None = None
    segment: str | None = None  # a built-in or custom segment name
    language: str | None = None  # two-letter code
    with_comment: bool | None = None  # True: only with a comment; False: only without
    search: str | None = None  # words in the comment (case-insensitive)
    kind: str | None = None  # transactional or relationship
    theme: str | None = None  # a comment theme's id, or "other" (fits no theme)

    def __post_init__(self) -> None:
        if self.category is not None and self.category not in CATEGORIES:
            raise FilterError(f"category: '{self.category}' is not one of {', '.join(CATEGORIES)}")
        if self.score is not None and not 0 <= self.score <= 10:
            raise FilterError(f"score: {self.score} is not between 0 and 10")
        if self.since and self.until and self.until < self.since:
            raise FilterError(f"until: {self.until} is before since {self.since}")
        if self.theme is not None and not (self.theme.isdigit() or self.theme == "other"):
            raise FilterError(f"theme: '{self.theme}' is not a theme")
        if self.language is not None and len(self.language) != 2:
            raise FilterError(f"language: '{self.language}' is not a two-letter code")

    def bounds(self, timezone: str) -> tuple[datetime | None, datetime | None]:
        """The UTC instants of ``since`` 00:00 and of the day after ``until`` (store time zone)."""
        zone = ZoneInfo(timezone)

        def midnight(day: date) -> datetime:
            return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)

        start = midnight(self.since) if self.since else None
        end = midnight(self.until + timedelta(days=1)) if self.until else None
        return start, end

    def query(self) -> dict[str, str]:
        """The filters as query-string values (what :func:`filters_from_query` reads back)."""
        values: dict[str, str] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                values[item.name] = "yes" if value else "no"
            else:
                values[item.name] = str(value)
        return values

    def with_changes(self, **changes: object) -> ResponseFilters:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def active(self) -> bool:
        return bool(self.query())


def filters_from_query(values: Mapping[str, str]) -> ResponseFilters:
    """A query string (or form) to filters; empty values mean "any". Raises :class:`FilterError`
    naming the filter for a value that cannot be read."""

    def text(name: str) -> str | None:
        value = values.get(name, "").strip()
        return value or None

    return ResponseFilters(
        since=_day("since", text("since")),
        until=_day("until", text("until")),
        category=text("category"),
        score=_number("score", text("score")),
        segment=text("segment"),
        language=(text("language") or "").lower() or None,
        with_comment=_yes_no("with_comment", text("with_comment")),
        search=text("search"),
        kind=text("kind"),
        theme=(text("theme") or "").lower() or None,
    )


def _day(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"{name}: '{value}' is not a date (YYYY-MM-DD)") from None


def _number(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise FilterError(f"{name}: '{value}' is not a whole number") from None


def _yes_no(name: str, value: str | None) -> bool | None:
    if value is None or value == "any":
        return None
    if value in ("yes", "true", "1"):
        return True
    if value in ("no", "false", "0"):
        return False
    raise FilterError(f"{name}: '{value}' is not yes, no or any")


def mask_email(email: str | None) -> str | None:
    """``jane@example.com`` -> ``j***@example.com`` (what a viewer sees)."""
    if not email:
        return email
    local, at, domain = email.strip().partition("@")
    return f"{local[:1]}***{at}{domain}" if at else f"{local[:1]}***"
