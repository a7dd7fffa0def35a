"""Rows of the feed's query (``feed_query``) shaped for the reader: a :class:`FeedRow` for pages
and the terminal, or the plain values of ``response_export.COLUMNS`` for exports.

This runs once per exported answer, a million times in a big export, so what repeats is worked
out once: the segment names of each bit mask, the decoded tags of each pushed tag list, the
two-letter language of each locale, the label of each theme. Each cache holds the few distinct
values a store has; a bound keeps a pathological store's memory flat anyway.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from nps_engine.response_view import FeedRow
from nps_engine.store.facts_reader import _utc
from nps_engine.store.feed_query import (
    COMMENT,
    CUSTOMER_ID,
    EMAIL,
    FIRST_NAME,
    FOLLOWUP_STATE,
    FOLLOWUP_TICKET_ID,
    ID,
    KIND,
    LANGUAGE,
    LAST_NAME,
    ORDER_ID,
    ORDER_NAME,
    REDACTED_AT,
    RESPONDED_AT,
    SCORE,
    SEGMENT_MASK,
    SHOPIFY_TAGS,
    SOURCE,
    THEME_ASSIGNED_AT,
    THEME_ID,
    ZENDESK_TAGS,
)
from nps_engine.store.feed_themes import FeedThemes

_CATEGORY = ("detractor",) * 7 + ("passive",) * 2 + ("promoter",) * 2
_CACHE_LIMIT = 10_000  # distinct values kept per cache
_NO_TAGS: tuple[str, ...] = ()


class FeedShapes:
    """Shapes rows for one feed: ``segment_names`` in the order of the mask's bits."""

    def __init__(self, segment_names: Sequence[str], themes: FeedThemes) -> None:
        self.names = tuple(segment_names)
        self.themes = themes
        self._segments: dict[int, tuple[str, ...]] = {}
        self._tags: dict[str, tuple[str, ...]] = {}
        self._languages: dict[str, str | None] = {}
        self._theme_labels: dict[int | None, str | None] = {}

    def feed_rows(self, rows: Sequence[Any], extra: dict[int, int] | None) -> list[FeedRow]:
        """``extra``: mask bits of the segments tested in Python, by answer id."""
        return [self._feed_row(row, extra) for row in rows]

    def _feed_row(self, row: Sequence[Any], extra: dict[int, int] | None) -> FeedRow:
        customer_id = row[CUSTOMER_ID]
        tags: dict[str, tuple[str, ...]] = {}
        if customer_id:
            if row[SHOPIFY_TAGS] is not None:
                tags["shopify"] = self.tags(row[SHOPIFY_TAGS])
            if row[ZENDESK_TAGS] is not None:
                tags["zendesk"] = self.tags(row[ZENDESK_TAGS])
        return FeedRow(
            row[ID], _utc(row[RESPONDED_AT]), row[KIND], row[SOURCE], row[SCORE], row[COMMENT],
            self.language(row[LANGUAGE]), customer_id, _name(row), row[EMAIL], row[ORDER_ID],
            row[ORDER_NAME], self.segments(row, extra), tags, row[FOLLOWUP_STATE],
            row[FOLLOWUP_TICKET_ID], self.theme(row[THEME_ID], row[THEME_ASSIGNED_AT]),
        )  # fmt: skip

    def export_rows(
        self, rows: Sequence[Any], extra: dict[int, int] | None
    ) -> list[tuple[Any, ...]]:
        """The values of ``response_export.COLUMNS`` (tag and segment lists as tuples)."""
        tags, language, segments, theme = self.tags, self.language, self.segments, self.theme
        shaped = []
        for row in rows:
            customer_id = row[CUSTOMER_ID]
            shopify = zendesk = _NO_TAGS
            if customer_id:
                raw = row[SHOPIFY_TAGS]
                shopify = _NO_TAGS if raw is None else tags(raw)
                raw = row[ZENDESK_TAGS]
                zendesk = _NO_TAGS if raw is None else tags(raw)
            shaped.append((
                row[ID], iso_time(row[RESPONDED_AT]), row[KIND], row[SCORE], _CATEGORY[row[SCORE]],
                row[COMMENT], language(row[LANGUAGE]), customer_id, _name(row), row[EMAIL],
                row[ORDER_NAME], segments(row, extra), shopify, zendesk, row[FOLLOWUP_TICKET_ID],
                theme(row[THEME_ID], row[THEME_ASSIGNED_AT]),
            ))  # fmt: skip
        return shaped

    def segments(self, row: Sequence[Any], extra: dict[int, int] | None) -> tuple[str, ...]:
        mask = row[SEGMENT_MASK]
        if extra is not None:
            mask |= extra.get(row[ID], 0)
        names = self._segments.get(mask)
        if names is None:
            names = tuple(name for i, name in enumerate(self.names) if mask >> i & 1)
            self._segments[mask] = names
        return names

    def tags(self, raw: object) -> tuple[str, ...]:
        """Pushed tags (JSON text; a decoded list from a driver that decodes JSON)."""
        if not isinstance(raw, str):
            return tuple(raw or ())  # type: ignore[arg-type]
        tags = self._tags.get(raw)
        if tags is None:
            tags = tuple(json.loads(raw) or ())
            _keep(self._tags, raw, tags)
        return tags

    def language(self, locale: str | None) -> str | None:
        if not locale:
            return None
        code = self._languages.get(locale)
        if code is None:
            code = locale[:2].lower()
            _keep(self._languages, locale, code)
        return code

    def theme(self, theme_id: int | None, assigned: object) -> str | None:
        if assigned is None:
            return None
        if theme_id not in self._theme_labels:
            self._theme_labels[theme_id] = self.themes.label(theme_id, assigned)
        return self._theme_labels[theme_id]


def iso_time(raw: object) -> str:
    """A stored time as the export writes it (``datetime.isoformat(timespec="seconds")`` in
    UTC): SQLite's 'YYYY-MM-DD HH:MM:SS.ffffff' text is cut rather than parsed."""
    if isinstance(raw, str) and len(raw) == 26 and raw[10] == " ":
        return f"{raw[:10]}T{raw[11:19]}+00:00"
    return _utc(raw).isoformat(timespec="seconds")


def _name(row: Sequence[Any]) -> str | None:
    if row[REDACTED_AT] is not None:
        return None
    first, last = row[FIRST_NAME], row[LAST_NAME]
    if first and last:
        return f"{first} {last}"
    return first or last or None


def _keep(cache: dict[Any, Any], key: object, value: object) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value
