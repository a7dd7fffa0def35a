"""Cursor pagination: pages walked forward or backward visit every match once, in order."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.shopify.pages import PageArgs, connection, decode_cursor, encode_cursor

# Sort keys with ties on the value (several records updated in the same millisecond).
keys_strategy = st.lists(st.integers(0, 30), max_size=60).map(
    lambda values: sorted((value, index) for index, value in enumerate(values))
)


def walk(keys: list[tuple[int, int]], wanted: set[int], size: int, reverse: bool) -> list[int]:
    items = [key[1] for key in keys]
    seen: list[int] = []
    after = None
    for _ in range(len(keys) + 2):
        page = connection(
            keys,
            items,
            lambda i: i in wanted,
            PageArgs(first=size, after=after, reverse=reverse),
            by_id=False,
        )
        seen += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("pagination did not end")


@settings(max_examples=150, deadline=None)
@given(keys=keys_strategy, size=st.integers(1, 7), reverse=st.booleans(), data=st.data())
def test_forward_pages_visit_every_match_once_in_order(
    keys: list[tuple[int, int]], size: int, reverse: bool, data: st.DataObject
) -> None:
    wanted = data.draw(st.sets(st.sampled_from([k[1] for k in keys]))) if keys else set()
    expected = [key[1] for key in keys if key[1] in wanted]
    assert walk(keys, wanted, size, reverse) == (expected[::-1] if reverse else expected)


@settings(max_examples=100, deadline=None)
@given(keys=keys_strategy, size=st.integers(1, 7))
def test_backward_pages_with_last_and_before_visit_everything(
    keys: list[tuple[int, int]], size: int
) -> None:
    items = [key[1] for key in keys]
    seen: list[int] = []
    before = None
    for _ in range(len(keys) + 2):
        page = connection(
            keys, items, lambda i: True, PageArgs(last=size, before=before), by_id=False
        )
        seen = page["nodes"] + seen
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert seen == items


def test_cursors_round_trip_and_look_like_shopifys() -> None:
    cursor = encode_cursor((1782167640000, 8837991727410), by_id=False)
    assert cursor == "eyJsYXN0X2lkIjo4ODM3OTkxNzI3NDEwLCJsYXN0X3ZhbHVlIjoxNzgyMTY3NjQwMDAwfQ=="
    assert decode_cursor(cursor) == (1782167640000, 8837991727410)


def test_a_garbled_cursor_is_a_clear_error() -> None:
    from graphql import GraphQLError

    with pytest.raises(GraphQLError, match="Invalid cursor"):
        decode_cursor("not-a-cursor")
