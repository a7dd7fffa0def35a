"""The themes of one store over a period, ready to print: ``nps themes`` and the report's themes
part. Answers are read with the report's own facts, so segments mean exactly what they mean in
``nps report`` (plus detractors, passives and promoters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from nps_engine.config import Settings
from nps_engine.periods import Period
from nps_engine.records import SurveyKind
from nps_engine.segments import enabled_segments
from nps_engine.store.database import Database
from nps_engine.store.models import CommentTheme, Response
from nps_engine.store.report_facts import load_report_inputs
from nps_engine.store.theme_rows import theme_rows
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
) -> ThemeListing:
    store = settings.store.id
    labels = segment_names(settings, now)
    segments = enabled_segments(settings.segments, now)
    assigned, waiting = _assignments(database, store)
    # Only answers with a theme row (assigned or waiting) are listed: reading the facts of every
    # answer of the period cost ``nps report`` more than its own counting (bench/report.py).
    themed = CommentTheme.__table__.c
    inputs = load_report_inputs(
        database,
        store,
        months=period.months(),
        kind=kind,
        basis="responses",
        now=now,
        support_window_days=settings.segments.support_contacted.window_days,
        among=Response.__table__.c.id.in_(select(themed.response_id).where(themed.store == store)),
    )
    zone = ZoneInfo(settings.store.timezone)
    answers, unthemed = [], 0
    for facts in inputs.facts:
        rid = facts.response_id
        if rid in waiting:
            unthemed += 1
        if rid not in assigned:
            continue
        inside = {s.name for s in segments if s.matches(facts)}
        inside.add(f"{facts.category.value}s")
        answer = ThemedAnswer(
            rid,
            assigned[rid],
            facts.score,
            f"{facts.responded_at.astimezone(zone):%Y-%m}",
            frozenset(inside),
        )
        if segment is None or segment in answer.segments:
            answers.append(answer)
    names = {
        row.id: ThemeName(row.shown_label, tuple(row.keywords), row.pinned, row.merged_into)
        for row in theme_rows(database, store)
    }
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


def _assignments(database: Database, store: str) -> tuple[dict[int, int | None], set[int]]:
    c = CommentTheme.__table__.c
    query = select(c.response_id, c.theme_id, c.assigned_at).where(c.store == store)
    assigned: dict[int, int | None] = {}
    waiting: set[int] = set()
    with database.engine.connect() as connection:
        for response_id, theme_id, assigned_at in connection.execute(query):
            if assigned_at is None:
                waiting.add(int(response_id))
            else:
                assigned[int(response_id)] = theme_id
    return assigned, waiting


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
