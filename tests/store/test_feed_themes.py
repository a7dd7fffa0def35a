"""Comment themes in the feed: each answer's label after the owner's renames and merges, the theme
filter, "Other", and a store where themes were never computed."""

from __future__ import annotations

from workspace_support import COMMENTS, NOW, seed_answers, seed_themes

from nps_engine.config.settings import SegmentSettings
from nps_engine.response_export import csv_lines
from nps_engine.response_filters import ResponseFilters
from nps_engine.store.database import Database
from nps_engine.store.response_feed import Feed


def feed_of(database: Database, store: str) -> Feed:
    return Feed.of_store(database, store, "Europe/Paris", SegmentSettings(), NOW)


def test_each_answer_shows_its_theme_as_the_owner_named_and_merged_it(
    database: Database, store_id: str
) -> None:
    seed_answers(database, store_id, customers=10)
    seed_themes(database, store_id)
    rows = list(feed_of(database, store_id).rows(ResponseFilters()))
    shown = {row.comment: row.theme for row in rows}
    assert shown[COMMENTS[0]] == "Packaging"  # its theme was merged into Packaging
    assert shown[COMMENTS[1]] == "Livraison"  # renamed by the owner
    assert shown[COMMENTS[3]] == "Other"  # assigned, fits no theme
    assert shown[COMMENTS[4]] == "Packaging"
    assert shown[None] is None  # no comment, no theme
    assert shown["Loved it the first time"] is None  # not assigned yet


def test_theme_filter_keeps_merged_members_and_other_is_a_choice(
    database: Database, store_id: str
) -> None:
    seed_answers(database, store_id, customers=10)
    seed_themes(database, store_id)
    feed = feed_of(database, store_id)
    assert feed.themes.choices() == [("1", "Livraison"), ("2", "Packaging"), ("other", "Other")]
    packaging = feed.page(ResponseFilters(theme="2"), limit=50).rows
    assert {row.comment for row in packaging} == {COMMENTS[0], COMMENTS[4]}
    other = feed.page(ResponseFilters(theme="other"), limit=50).rows
    assert {row.comment for row in other} == {COMMENTS[3]}
    assert feed.themes.value_of("livraison") == "1"
    assert feed.themes.value_of("Broken parcel") is None  # merged away: not a choice
    exported = "".join(csv_lines(feed.rows(ResponseFilters(theme="1"))))
    assert exported.splitlines()[0].endswith(",theme")
    assert all(line.endswith(",Livraison") for line in exported.splitlines()[1:])


def test_a_store_without_themes_shows_none_and_offers_no_filter(
    database: Database, store_id: str
) -> None:
    seed_answers(database, store_id, customers=5)
    feed = feed_of(database, store_id)
    assert feed.themes.choices() == []
    assert {row.theme for row in feed.rows(ResponseFilters())} == {None}
