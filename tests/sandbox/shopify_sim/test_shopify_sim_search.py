"""Shopify's search syntax as the simulator applies it to orders and customers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from sandbox.shopify.search import SearchFields, parse_search


@dataclass
class Row:
    id: int
    updated_at: datetime
    tags: list[str] = field(default_factory=list)
    email: str = ""


FIELDS = SearchFields(
    {
        "id": ("int", lambda r: r.id),
        "updated_at": ("time", lambda r: r.updated_at),
        "tag": ("tags", lambda r: r.tags),
        "tag_not": ("tags", lambda r: r.tags),
        "email": ("text", lambda r: r.email),
    }
)
ROWS = [
    Row(1, datetime(2025, 5, 1, 8, tzinfo=UTC), ["VIP"], "a@example.com"),
    Row(2, datetime(2025, 5, 1, 23, 59, 59, tzinfo=UTC), [], "b@example.com"),
    Row(3, datetime(2025, 5, 2, 0, 0, 0, tzinfo=UTC), ["vip", "wholesale"], "c@example.com"),
    Row(4, datetime(2025, 6, 1, tzinfo=UTC), [], "d@example.com"),
]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [1, 2, 3, 4]),
        ("updated_at:>'2025-05-02T00:00:00Z'", [4]),
        ("updated_at:>='2025-05-02T00:00:00Z'", [3, 4]),
        ('updated_at:<"2025-05-02T00:00:00Z"', [1, 2]),
        ("updated_at:<='2025-05-02T00:00:00Z'", [1, 2, 3]),
        ("updated_at:>'2025-05-01T23:59:59+00:00'", [3, 4]),
        # A bare date is the whole day.
        ("updated_at:2025-05-01", [1, 2]),
        ("updated_at:>2025-05-01", [3, 4]),
        ("updated_at:<=2025-05-01", [1, 2]),
        ("id:>2", [3, 4]),
        ("id:3", [3]),
        ("tag:vip", [1, 3]),
        ("tag_not:VIP", [2, 4]),
        ("-tag:vip", [2, 4]),
        ("NOT tag:vip", [2, 4]),
        ("tag:vip id:>1", [3]),
        ("id:1 OR id:4", [1, 4]),
        ("email:C@EXAMPLE.COM", [3]),
        ("email:b*", [2]),
    ],
)
def test_search_selects_the_records_shopify_would(query: str, expected: list[int]) -> None:
    matches = FIELDS.predicate(parse_search(query))
    assert [row.id for row in ROWS if matches(row)] == expected


def test_unknown_fields_match_everything_and_are_reported() -> None:
    query = parse_search("colour:blue id:>3")
    assert FIELDS.unknown(query) == ["colour"]
    matches = FIELDS.predicate(query)
    assert [row.id for row in ROWS if matches(row)] == [4]
