""" "What they said" counts everyone's comments as the feed counts them."""

from __future__ import annotations

from datetime import date, timedelta

from workspace_support import NOW, seed_answers

from nps_engine.config.settings import SegmentSettings
from nps_engine.response_filters import ResponseFilters
from nps_engine.store.database import Database
from nps_engine.store.models import Response
from nps_engine.store.response_feed import Feed
from nps_engine.store.said_comments import _commented, said_comments

TIMEZONE = "Europe/Paris"


def test_everyones_comments_are_counted_as_the_feed_counts_them(
    database: Database, store_id: str
) -> None:
    seed_answers(database, store_id)
    with database.session() as session:  # blank comments, the other kind, no comment at all
        for n, comment in enumerate(["   ", "", "kept", None, "relationship"]):
            answered = NOW - timedelta(days=3 + n, hours=5)
            kind = "relationship" if comment == "relationship" else "transactional"
            session.add(Response(store=store_id, source="survey", kind=kind, score=n,
                                 comment=comment, responded_at=answered,
                                 updated_at=answered))  # fmt: skip
    feed = Feed(database, store_id, TIMEZONE, SegmentSettings(), NOW)
    today = NOW.date()
    choices = [
        ResponseFilters(with_comment=True),
        ResponseFilters(with_comment=True, kind="transactional"),
        ResponseFilters(with_comment=True, kind="relationship", until=today),
        ResponseFilters(with_comment=True, since=today - timedelta(days=9), until=today),
        ResponseFilters(with_comment=True, since=date(2000, 1, 1), until=today - timedelta(days=5)),
    ]
    counted = [_commented(database, store_id, TIMEZONE, filters) for filters in choices]
    assert counted == [feed.count(filters) for filters in choices]
    assert len(set(counted)) == len(counted)  # each filter tells something
    # what the index cannot answer is left to the feed
    assert _commented(database, store_id, TIMEZONE, ResponseFilters(with_comment=False)) is None
    assert _commented(database, store_id, TIMEZONE, choices[0].with_changes(score=4)) is None


def test_a_bounded_read_still_counts_everyone_exactly(database: Database, store_id: str) -> None:
    seed_answers(database, store_id)
    options = {"timezone": TIMEZONE, "segment_settings": SegmentSettings(), "now": NOW}
    filters = ResponseFilters(since=NOW.date() - timedelta(days=20), kind="transactional")
    whole = said_comments(database, store_id, filters=filters, **options)  # type: ignore[arg-type]
    cut = said_comments(database, store_id, filters=filters, read_limit=3, **options)  # type: ignore[arg-type]
    assert whole.complete
    assert not cut.complete
    assert cut.groups[0].comments == whole.groups[0].comments > 3
