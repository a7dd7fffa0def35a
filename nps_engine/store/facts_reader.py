"""Rows of the report's fact query (``fact_query.with_facts``) to :class:`ResponseFacts`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from nps_engine.records import SurveyKind
from nps_engine.segments import NO_PROPERTIES, ResponseFacts, customer_key


class FactsReader:
    """Rows of :func:`_with_facts` to :class:`ResponseFacts`. Lowercase tag sets are shared between
    customers with the same tags (stores use a few dozen combinations), which keeps a million
    facts small and skips decoding the same JSON again and again."""

    # The columns read, by their names in ``fact_query.fact_columns``.
    FIELDS = (
        "customer_id", "email", "answer_id", "score", "responded_at", "previous_score",
        "returned", "refunded", "ticket_at", "open_ticket", "orders_count", "total_spent",
        "last_order_at", "surveyed_at", "next_order_at", "tags", "country", "properties",
    )  # fmt: skip

    def __init__(
        self, kind: SurveyKind, now: datetime, support_window_days: int, columns: Sequence[str]
    ) -> None:
        """``columns``: the result's column names (``result.keys()``), in the order rows carry
        them; each field is looked up there by name once, not per row."""
        self.kind, self.now, self.window = kind, now, support_window_days
        self._tag_sets: dict[object, frozenset[str]] = {}
        names = list(columns)
        self._pick = itemgetter(*(names.index(field) for field in self.FIELDS))

    def facts(self, row: Sequence[Any]) -> ResponseFacts:
        """One row of ``fact_query.with_facts``: the FIELDS, picked by name, in their order."""
        (customer_id, email, answer_id, score, responded_at, previous_score, returned, refunded,
         ticket_at, open_ticket, orders_count, total_spent, last_order_at, surveyed_at,
         next_order_at, tags, country, properties) = self._pick(row)  # fmt: skip
        # Positional, in ResponseFacts' field order: this runs once per reported answer (a million
        # times in bench/report.py), where keyword passing shows up in the profile.
        return ResponseFacts(
            customer_key(customer_id, email, answer_id),
            customer_id,
            email,
            score,
            self.kind,
            _utc(responded_at),
            self.now,
            self.window,
            previous_score,
            bool(returned or refunded),
            None if ticket_at is None else _utc(ticket_at),
            bool(open_ticket),
            orders_count or 0,
            _ZERO if total_spent is None else total_spent,
            None if last_order_at is None else _utc(last_order_at),
            None if surveyed_at is None else _utc(surveyed_at),
            None if next_order_at is None else _utc(next_order_at),
            self.tags_of(tags),
            country.upper() if country else None,
            answer_id,
            NO_PROPERTIES if properties is None else _properties(properties),
        )

    def tags_of(self, raw: object) -> frozenset[str]:
        """The customer's tags (JSON text or a decoded list) as a shared lowercase set."""
        key = raw if isinstance(raw, str | None) else json.dumps(raw)
        tags = self._tag_sets.get(key)
        if tags is None:
            decoded = json.loads(raw) if isinstance(raw, str) else raw
            listed = decoded if isinstance(decoded, list) else []
            tags = self._tag_sets[key] = frozenset(str(tag).strip().lower() for tag in listed)
        return tags


_ZERO = Decimal(0)


def _properties(raw: object) -> Mapping[str, str]:
    """Names and values lowercase: property rules compare them case-insensitively. SQLite hands
    the JSON over as text, PostgreSQL decoded."""
    decoded = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(decoded, dict):
        return NO_PROPERTIES
    return {str(k).strip().lower(): str(v).strip().lower() for k, v in decoded.items()}


def _utc(value: object) -> datetime:
    """SQLite hands over UTC text ('2026-03-01 09:30:00.000000'), PostgreSQL a datetime.

    Parsing the text with its offset appended is three times faster than ``replace(tzinfo=)``,
    which matters a million times over."""
    if isinstance(value, str):
        return _parse_time(value + "+00:00")
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_parse_time = datetime.fromisoformat
