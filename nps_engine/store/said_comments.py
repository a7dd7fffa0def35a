"""Reading "what they said" for a report: the period's comments, newest first, with the
segments each commenter is in (the feed's facts, which are the report's facts)."""

from __future__ import annotations

from datetime import datetime

from nps_engine.config.settings import SegmentSettings
from nps_engine.report_said import Comment, Said, SaidGroup
from nps_engine.response_filters import ResponseFilters
from nps_engine.segments import StoreHabits
from nps_engine.store.database import Database
from nps_engine.store.response_feed import Feed

EVERYONE = "everyone"
# Comments whose segments are read per report: every one in most stores' periods; beyond it the
# segments' counts are marked as lower bounds (everyone's count is always exact, it is one SQL
# count) rather than making `nps report` read the facts of every comment (bench/dashboard.py).
READ_LIMIT = 5_000
# Read in batches the feed completes by their answers' ids (``response_feed._BY_ID``): a batch of
# 1,000 was completed by its range of time instead, every answer of that range, which made the
# history queries read three times the rows with worse plans (PostgreSQL at 1M answers: 17-20 s
# for 5,000 comments, 7 s with batches of 200; SQLite 13-18 s, 12-14 s).
_BATCH = 200


def said_comments(
    database: Database,
    store: str,
    *,
    timezone: str,
    segment_settings: SegmentSettings,
    filters: ResponseFilters,
    now: datetime,
    per_group: int = 3,
    read_limit: int = READ_LIMIT,
    habits: StoreHabits | None = None,
) -> Said:
    """``filters`` carries the period and survey kind; only answers with a comment are read.
    ``habits``: the store's habits as of ``now`` when already measured."""
    feed = Feed.of_store(database, store, timezone, segment_settings, now, habits)
    segments = feed.segments
    names = [EVERYONE, *(segment.name for segment in segments)]
    labels = {EVERYONE: "Everyone", **{segment.name: segment.label for segment in segments}}
    counts = dict.fromkeys(names, 0)
    latest: dict[str, list[Comment]] = {name: [] for name in names}
    complete = True
    commented = filters.with_changes(with_comment=True)
    for read, row in enumerate(feed.rows(commented, batch_size=_BATCH)):
        if read >= read_limit:
            complete = False
            break
        comment = Comment(row.id, row.responded_at, row.score, (row.comment or "").strip())
        for name in (EVERYONE, *row.segments):
            counts[name] += 1
            if len(latest[name]) < per_group:
                latest[name].append(comment)
    if not complete:
        counts[EVERYONE] = feed.count(commented) or counts[EVERYONE]
    groups = tuple(SaidGroup(n, labels[n], counts[n], tuple(latest[n])) for n in names)
    return Said(groups, complete)
