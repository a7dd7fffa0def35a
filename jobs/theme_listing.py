"""The themes of one store over a period, ready to print: ``nps themes`` and the report's themes
part. Each themed answer's segments are computed by the database with the report's own
conditions and the store's usual gap between orders (``Feed.themed_answers``), so segments mean
exactly what they mean in ``nps report`` (plus detractors, passives and promoters)."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime

from nps_engine.config import Settings
from nps_engine.periods import Period
from nps_engine.records import SurveyKind
from nps_engine.response_filters import ResponseFilters
from nps_engine.segments import StoreHabits, enabled_segments
from nps_engine.store.database import Database
from nps_engine.store.facts_reader import _utc
from nps_engine.store.response_feed import Feed
from nps_engine.theme_summary import (
    ThemedAnswer,
    ThemeFigure,
    ThemeName,
    ThemeShares,
    monthly_shares,
    segment_shares,
    shown_theme,
    theme_figures,
)

CATEGORY_SEGMENTS = ("detractors", "passives", "promoters")
TOP_THEMES_BY_MONTH = 5


@dataclass(frozen=True, slots=True)
class ThemeListing:
    store: str
    period: Period
    segment: str | None
    comments: int  # commented answers in the period (in the segment)
    unthemed: int  # of them, not assigned yet (run `nps themes`)
    figures: list[ThemeFigure]
    names: dict[int, ThemeName]
    segment_labels: dict[str, str] = field(default_factory=dict)
    by_segment: list[ThemeShares] = field(default_factory=list)
    by_month: list[ThemeShares] = field(default_factory=list)
    top: list[int | None] = field(default_factory=list)


def segment_names(settings: Settings, now: datetime) -> dict[str, str]:
    names = {s.name: s.label for s in enabled_segments(settings.segments, now)}
    names |= {c: c.capitalize() for c in CATEGORY_SEGMENTS}
    return names


def theme_listing(
    settings: Settings,
    database: Database,
    now: datetime,
    period: Period,
    *,
    segment: str | None = None,
    kind: SurveyKind = SurveyKind.TRANSACTIONAL,
    habits: StoreHabits | None = None,
) -> ThemeListing:
    """The themes of the period's commented answers of ``kind`` (in ``segment`` when given).

    Each answer's segments are computed by the database, as for the feed and the report
    (``Feed.themed_answers``), under the store's usual gap between orders (``habits``, the
    report's, when given and measured as of ``now``; else read here): at 110,000 themed answers
    of a 1M-answer SQLite store, reading every answer's facts into Python for its segments took
    4.5 s, more than the report's own counting."""
    store = settings.store.id
    labels = segment_names(settings, now)
    feed = Feed.of_store(
        database, store, settings.store.timezone, settings.segments, now, habits=habits
    )
    names_of_segments = [s.name for s in feed.segments]
    filters = ResponseFilters(since=period.since, until=period.until, kind=kind.value)
    month_of = _MonthOf(period)
    segments_of: dict[tuple[int, int], frozenset[str]] = {}
    answers, unthemed = [], 0
    for row, mask in feed.themed_answers(filters):
        rid, responded_at, _kind, score, theme_id, assigned_at = row[:6]
        if assigned_at is None:
            unthemed += 1
            continue
        key = (mask, _CATEGORY_OF_SCORE[score])  # a few distinct sets among all the answers
        inside = segments_of.get(key)
        if inside is None:
            named = [name for i, name in enumerate(names_of_segments) if mask >> i & 1]
            inside = segments_of[key] = frozenset([*named, CATEGORY_SEGMENTS[key[1]]])
        answer = ThemedAnswer(rid, theme_id, score, month_of(responded_at), inside)
        if segment is None or segment in answer.segments:
            answers.append(answer)
    names = dict(feed.themes.names)  # read by ``Feed.of_store``
    figures = theme_figures(answers, names)
    top: list[int | None] = [f.theme_id for f in figures if f.theme_id is not None]
    top = top[:TOP_THEMES_BY_MONTH]
    return ThemeListing(
        store,
        period,
        segment,
        len(answers) + unthemed,
        unthemed,
        figures,
        names,
        labels,
        segment_shares(answers, names, list(labels)),
        monthly_shares(answers, names, [m.label for m in period.months()]),
        top,
    )


# CATEGORY_SEGMENTS' index of each score: detractors 0-6, passives 7-8, promoters 9-10
_CATEGORY_OF_SCORE = (0,) * 7 + (1,) * 2 + (2,) * 2


class _MonthOf:
    """An answer's month (YYYY-MM, store time) from its time as the driver gives it: the
    period's months' UTC bounds, searched (every answer read lies in the period)."""

    def __init__(self, period: Period) -> None:
        months = period.months()
        self.starts = [month.start for month in months]
        self.labels = [month.label for month in months]

    def __call__(self, value: object) -> str:
        return self.labels[max(0, bisect_right(self.starts, _utc(value)) - 1)]


def listing_json(listing: ThemeListing) -> dict[str, object]:
    """The ``themes`` object of ``nps themes --format json`` and of the report's JSON."""

    def label(theme_id: int | None) -> str:
        shown = shown_theme(theme_id, listing.names)
        return listing.names[shown].label if shown is not None else "Other"

    def shares(group: ThemeShares) -> dict[str, object]:
        return {
            "comments": group.comments,
            "themes": [
                {"theme_id": t, "label": label(t), "share": round(s, 4),
                 "ci95": [round(lo, 4), round(hi, 4)]}
                for t, (s, (lo, hi)) in sorted(group.shares.items(), key=lambda x: -x[1][0])
            ],
        }  # fmt: skip

    return {
        "store": listing.store,
        "period": {
            "from": listing.period.since.isoformat(),
            "to": listing.period.until.isoformat(),
        },
        "segment": listing.segment,
        "comments": listing.comments,
        "unthemed": listing.unthemed,
        "themes": [
            {
                "theme_id": f.theme_id,
                "label": f.label,
                "keywords": list(f.keywords),
                "pinned": f.pinned,
                "size": f.size,
                "share": round(f.share, 4),
                "share_ci95": [round(f.share_ci95[0], 4), round(f.share_ci95[1], 4)],
                "nps": None if f.nps.nps is None else round(f.nps.nps, 1),
                "nps_ci95": None if f.nps.ci95 is None else [round(v, 1) for v in f.nps.ci95],
                "small_sample": f.nps.small_sample,
                "response_ids": list(f.response_ids),
            }
            for f in listing.figures
        ],
        "by_segment": [
            {"segment": g.name, "label": listing.segment_labels.get(g.name, g.name), **shares(g)}
            for g in listing.by_segment
        ],
        "by_month": [
            {
                "month": g.name,
                "comments": g.comments,
                "themes": [
                    {
                        "theme_id": t,
                        "label": label(t),
                        "share": round(g.shares.get(t, (0.0, (0.0, 0.0)))[0], 4),
                    }
                    for t in listing.top
                ],
            }
            for g in listing.by_month
        ],
    }
