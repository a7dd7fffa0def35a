"""The responses feed on SQLite and PostgreSQL: filters, keyset pages, segments, exports."""

from __future__ import annotations

import csv
import io
import json

import pytest
from workspace_support import NOW, seed_answers

from nps_engine.config.settings import SegmentSettings
from nps_engine.response_export import csv_lines, jsonl_lines
from nps_engine.response_filters import FilterError, ResponseFilters, filters_from_query
from nps_engine.store.database import Database
from nps_engine.store.response_feed import Feed


def feed_of(database: Database, store: str) -> Feed:
    return Feed(database, store, "Europe/Paris", SegmentSettings(), NOW)


def test_pages_are_newest_first_and_continue_without_gaps_or_repeats(
    database: Database, store_id: str
) -> None:
    ids = seed_answers(database, store_id)
    feed = feed_of(database, store_id)
    seen, after = [], None
    while True:
        page = feed.page(ResponseFilters(), after, limit=7)
        seen += [row.id for row in page.rows]
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert seen[: len(ids)] == ids  # seeded newest first, then customer 1's early answer
    assert len(seen) == len(set(seen)) == len(ids) + 1


def test_filters_combine_category_segment_search_language_and_period(
    database: Database, store_id: str
) -> None:
    seed_answers(database, store_id)
    feed = feed_of(database, store_id)

    def orders(**filters: object) -> list[str | None]:
        rows = feed.page(ResponseFilters(**filters), limit=100).rows  # type: ignore[arg-type]
        return [row.order_name for row in rows]

    assert orders(category="detractor", segment="returned") == ["#106", "#115", "#121", "#130"]
    assert orders(search="CRUSHED", language="en") == ["#104", "#114", "#124"]
    assert orders(search="100%_") == []  # LIKE wildcards are searched as text
    assert orders(score=9, since=NOW.date().replace(day=1)) == ["#103", "#108"]
    without = feed.page(ResponseFilters(with_comment=False), limit=100).rows
    assert {row.comment for row in without} == {None}
    assert feed.count(ResponseFilters(category="promoter")) == 13


def test_each_row_carries_segments_tags_and_the_followup_ticket(
    database: Database, store_id: str
) -> None:
    seed_answers(database, store_id)
    [row] = feed_of(database, store_id).page(ResponseFilters(search="broken"), limit=1).rows
    assert row.order_name == "#105"
    assert row.customer_name == "Ann Buyer5"
    assert row.tags == {"shopify": ("nps:detractor",)}
    assert row.followup_ticket_id == 9005
    assert row.language == "fr"
    four = feed_of(database, store_id).page(ResponseFilters(search="crushed"), limit=1).rows[0]
    assert "support_contacted" in four.segments


def test_csv_export_is_excel_friendly_and_defuses_formulas(
    database: Database, store_id: str
) -> None:
    seed_answers(database, store_id, customers=3)
    rows = list(feed_of(database, store_id).rows(ResponseFilters()))
    object.__setattr__(rows[0], "comment", '=HYPERLINK("http://x")')
    text = "".join(csv_lines(rows, delimiter=";"))
    assert text.startswith("\ufeffid;responded_at;")
    parsed = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert parsed[0]["comment"].startswith("'=HYPERLINK")
    assert [int(r["id"]) for r in parsed] == [r.id for r in rows]
    masked = [json.loads(line) for line in jsonl_lines(rows, masked=True)]
    assert masked[0]["email"] == "b***@example.com"
    assert masked[0]["customer_name"] is None


def test_filters_from_a_query_string_name_the_bad_value() -> None:
    assert filters_from_query({"category": "promoter", "with_comment": "yes"}).with_comment is True
    for query, named in (
        ({"since": "yesterday"}, "since"),
        ({"category": "happy"}, "category"),
        ({"score": "11"}, "score"),
        ({"since": "2026-03-02", "until": "2026-03-01"}, "until"),
    ):
        with pytest.raises(FilterError, match=named):
            filters_from_query(query)
    round_trip = ResponseFilters(category="passive", with_comment=False, search="box")
    assert filters_from_query(round_trip.query()) == round_trip


def test_what_they_said_reads_a_bounded_number_of_comments(
    database: Database, store_id: str
) -> None:
    from nps_engine.store.said_comments import said_comments

    seed_answers(database, store_id)
    options = {"timezone": "Europe/Paris", "segment_settings": SegmentSettings(), "now": NOW}
    whole = said_comments(database, store_id, filters=ResponseFilters(), **options)  # type: ignore[arg-type]
    cut = said_comments(database, store_id, filters=ResponseFilters(), read_limit=5, **options)  # type: ignore[arg-type]
    assert whole.complete
    assert not cut.complete
    assert cut.groups[0].comments == whole.groups[0].comments == 25  # everyone: an exact count
    assert cut.groups[0].latest == whole.groups[0].latest
    returned = {group.name: group.comments for group in cut.groups}["returned"]
    assert returned < {group.name: group.comments for group in whole.groups}["returned"]


def test_an_export_stopped_early_ends_its_query_and_frees_the_connection(
    database: Database, store_id: str
) -> None:
    ids = seed_answers(database, store_id)
    feed = feed_of(database, store_id)
    exported = feed.export_rows(ResponseFilters(), batch_size=3)
    first = [next(exported)[0] for _ in range(4)]
    assert first == ids[:4]
    exported.close()  # the reader went away (a browser closing the download)
    assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    # the whole export afterwards is every answer, once, in the feed's order
    every = [row[0] for row in feed.export_rows(ResponseFilters(), batch_size=3)]
    assert every[: len(ids)] == ids
    assert len(every) == len(set(every)) == len(ids) + 1
