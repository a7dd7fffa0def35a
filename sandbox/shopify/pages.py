"""Cursor pagination as Shopify's connections do it.

Cursors are opaque to clients but, as in real captures, base64 of
``{"last_id":8837991727410,"last_value":1782167640000}``: the sort value (epoch milliseconds for
dates, the id as a string for ``ID``) and the id that breaks ties. ``after`` resumes strictly
after that position even when the record there has changed since, which is what makes
``updated_at`` syncs safe. Empty pages have null ``startCursor``/``endCursor``.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graphql import GraphQLError

MAX_PAGE_SIZE = 250

SortKey = tuple[int, int]  # (sort value, id)


@dataclass(frozen=True, slots=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None
    reverse: bool = False

    @classmethod
    def of(cls, args: dict[str, Any]) -> PageArgs:
        return cls(
            args.get("first"),
            args.get("after"),
            args.get("last"),
            args.get("before"),
            bool(args.get("reverse")),
        )


def sort_value(value: datetime | int) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return value


def encode_cursor(key: SortKey, *, by_id: bool) -> str:
    value: int | str = str(key[0]) if by_id else key[0]
    raw = json.dumps({"last_id": key[1], "last_value": value}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> SortKey:
    try:
        data = json.loads(base64.b64decode(cursor.encode(), validate=True))
        return int(data["last_value"]), int(data["last_id"])
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise GraphQLError(
            f"Invalid cursor for current pagination sort: {cursor}",
            extensions={"code": "BAD_REQUEST"},
        ) from error


def connection(
    keys: Sequence[SortKey],
    items: Sequence[Any],
    matches: Callable[[Any], bool],
    args: PageArgs,
    *,
    by_id: bool,
    unbounded: bool = False,
) -> dict[str, Any]:
    """One page of ``items`` (sorted ascending by ``keys``) as a connection object.

    ``unbounded`` serves bulk operations, which read whole connections without ``first``.
    """
    positions = _walk(keys, matches, items, args, unbounded)
    edges = [
        {"cursor": encode_cursor(keys[i], by_id=by_id), "node": items[i]} for i in positions.taken
    ]
    return {
        "edges": edges,
        "nodes": [edge["node"] for edge in edges],
        "pageInfo": {
            "hasNextPage": positions.has_next,
            "hasPreviousPage": positions.has_previous,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


@dataclass(slots=True)
class _Positions:
    taken: list[int]
    has_next: bool
    has_previous: bool


def _walk(
    keys: Sequence[SortKey],
    matches: Callable[[Any], bool],
    items: Sequence[Any],
    args: PageArgs,
    unbounded: bool,
) -> _Positions:
    if args.first is None and args.last is None and not unbounded:
        raise GraphQLError(
            "you must provide one of first or last", extensions={"code": "BAD_REQUEST"}
        )
    # Work in "display order": ascending, or descending when reverse.
    order = range(len(keys) - 1, -1, -1) if args.reverse else range(len(keys))
    low, high = 0, len(order)  # window of display positions allowed by after/before
    if args.after is not None:
        low = _display_position(keys, decode_cursor(args.after), args.reverse, after=True)
    if args.before is not None:
        high = _display_position(keys, decode_cursor(args.before), args.reverse, after=False)
    window = range(low, max(high, low))
    if args.last is not None and args.first is None:
        picked = _collect(reversed(window), order, items, matches, args.last)
        taken = list(reversed(picked[: args.last]))
        return _Positions(
            taken, high < len(order) and args.before is not None, len(picked) > args.last
        )
    limit = len(order) if args.first is None else args.first
    picked = _collect(iter(window), order, items, matches, limit)
    # Scan backwards: the record just before the cursor usually matches (it ended the last page).
    has_previous = any(matches(items[order[p]]) for p in range(low - 1, -1, -1))
    return _Positions(picked[:limit], len(picked) > limit, has_previous)


def _collect(
    positions: Any, order: range, items: Sequence[Any], matches: Callable[[Any], bool], limit: int
) -> list[int]:
    """Up to ``limit + 1`` matching indices (the extra one tells whether another page exists)."""
    picked: list[int] = []
    for position in positions:
        index = order[position]
        if matches(items[index]):
            picked.append(index)
            if len(picked) > limit:
                break
    return picked


def _display_position(keys: Sequence[SortKey], key: SortKey, reverse: bool, *, after: bool) -> int:
    """Display position just after (``after``) or at (before) the cursor's place."""
    if not reverse:
        return bisect.bisect_right(keys, key) if after else bisect.bisect_left(keys, key)
    # Descending display: position p shows keys[n - 1 - p].
    n = len(keys)
    return n - bisect.bisect_left(keys, key) if after else n - bisect.bisect_right(keys, key)
