"""A big SQLite export is read and written in parts by worker processes (``export_parts``):
what it writes is, byte for byte, what the same export written in one process writes, under
filters (a segment Python tests among them), in every form; the reader sees the answer count;
parts are cut by time whatever the filter; a reader that stops early leaves no worker behind.

Parts are made small here (``PART``) so that a generated store of a thousand answers makes
dozens of them; the workers are real processes on the real file.
"""

from __future__ import annotations

import multiprocessing
import time
from datetime import date

import pytest
from test_feed_export import enrich, feed_of
from test_report_tallies import generate, settings_for

from nps_engine.config import Settings
from nps_engine.response_export import ExportForm
from nps_engine.response_filters import ResponseFilters
from nps_engine.store import export_parts
from nps_engine.store.database import Database
from nps_engine.store.export_parts import ExportInParts
from nps_engine.store.response_feed import Feed


@pytest.fixture
def feed(sqlite_database: Database, store_id: str) -> Feed:
    generate(sqlite_database, store_id)
    enrich(sqlite_database, store_id)
    settings: Settings = settings_for(sqlite_database, store_id)
    return feed_of(sqlite_database, settings)


def written_here(feed: Feed, filters: ResponseFilters, form: ExportForm) -> tuple[str, int]:
    rows = list(feed.export_rows(filters))
    return "".join(form.chunks(rows)), len(rows)


def test_an_export_in_parts_writes_what_one_process_writes(
    feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_parts, "PART", 37)
    assert export_parts.workers_for(feed.database) >= 2 or pytest.skip("one core")
    assert feed.query.python_segments is not None  # plan_pro: tested in Python, in a worker
    # each export starts its workers (about a second each): the forms and filters that make
    # parts differ, not every combination
    cases = [
        (ResponseFilters(), ExportForm("csv")),  # header and byte-order mark once, first
        (ResponseFilters(), ExportForm("jsonl", masked=True)),
        (ResponseFilters(segment="plan_pro"), ExportForm("csv", delimiter=";", masked=True)),
        (ResponseFilters(category="detractor", segment="churn_risk"), ExportForm("jsonl")),
        (ResponseFilters(since=date(2026, 3, 1), until=date(2026, 4, 30)), ExportForm("csv")),
    ]
    for filters, form in cases:
        expected, count = written_here(feed, filters, form)
        export = feed.export(filters, form)
        assert isinstance(export, ExportInParts), filters
        assert count > 2 * 37, filters
        assert "".join(export) == expected, (filters, form)
        assert export.rows == count


def test_a_small_export_is_written_in_this_process(
    feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_parts, "PART", 37)
    few = ResponseFilters(score=10, with_comment=True, category="promoter", search="great")
    expected, count = written_here(feed, few, ExportForm("csv"))
    assert 0 < count <= 37
    export = feed.export(few, ExportForm("csv"))
    assert not isinstance(export, ExportInParts)
    assert "".join(export) == expected
    assert export.rows == count


def test_a_reader_that_stops_early_leaves_no_worker_running(
    feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_parts, "PART", 37)
    export = feed.export(ResponseFilters(), ExportForm("csv"))
    text = iter(export)
    assert next(text).startswith("\ufeffid,responded_at,")
    assert multiprocessing.active_children()  # the workers are writing the next parts
    text.close()  # a download cancelled
    deadline = time.monotonic() + 30
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not multiprocessing.active_children()
    assert 0 < export.rows < 800
