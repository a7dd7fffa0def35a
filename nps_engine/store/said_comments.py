"""Reading "what they said" for a report: the period's comments, newest first, with the
segments each commenter is in (the feed's facts, which are the report's facts)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select

from nps_engine.config.settings import SegmentSettings
from nps_engine.report_said import Comment, Said, SaidGroup
from nps_engine.response_filters import ResponseFilters
from nps_engine.segments import StoreHabits
from nps_engine.store.database import Database
from nps_engine.store.models import Response
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
        everyone = _commented(database, store, timezone, commented)
        if everyone is None:
            everyone = feed.count(commented)
        counts[EVERYONE] = everyone or counts[EVERYONE]
    groups = tuple(SaidGroup(n, labels[n], counts[n], tuple(latest[n])) for n in names)
    return Said(groups, complete)


_responses = Response.__table__


def _commented(
    database: Database, store: str, timezone: str, filters: ResponseFilters
) -> int | None:
    """How many answers have a comment within the period (and kind) of ``filters``, as
    ``Feed.count`` counts them, from the index of commented answers; None for other filters.

    ``Feed.count`` counts its rows (the answer joined to its invite, customer, order and theme,
    each at most one) and the planner reads the period from the index of every answer, then
    each answer's row for its comment: at a million answers on SQLite a third of a second of
    CPU here against 1.6 s there, in every report."""
    if filters != ResponseFilters(
        since=filters.since, until=filters.until, kind=filters.kind, with_comment=True
    ):
        return None
    r = _responses.c
    start, end = filters.bounds(timezone)
    # the feed's "with a comment" (response_feed.Feed._conditions)
    conditions = [r.store == store, r.comment.is_not(None), func.trim(r.comment) != ""]
    if start is not None:
        conditions.append(r.responded_at >= start)
    if end is not None:
        conditions.append(r.responded_at < end)
    if filters.kind is not None:
        # SQLite would rather seek (store, kind, responded_at) in ix_responses_report, which
        # holds no comment, then read every answer of the period from the table for it: the
        # kind as an expression (|| '') is no index term, so it reads the period's commented
        # answers from ix_responses_commented instead (SQLAlchemy renders no INDEXED BY).
        kind = r.kind.concat("") if database.dialect == "sqlite" else r.kind
        conditions.append(kind == filters.kind)
    query = select(func.count()).select_from(_responses).where(and_(*conditions))
    with database.reads.connect() as connection:
        return int(connection.execute(query).scalar_one())
