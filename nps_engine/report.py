"""The segmented NPS report: overall, each segment against the rest, month by month. Pure.

Two bases (DESIGN.md section 4): ``customers`` counts each customer's latest answer in the period
(one voice per customer, the default), ``responses`` counts every answer. Post-delivery and
relationship answers are never blended: a report is about one :class:`SurveyKind`.

The monthly trend is cut in the store's time zone (an answer at 23:30 on 31 January in Paris is a
January answer), and on the customers basis each month keeps each customer's latest answer *in
that month*, so a customer who answered in March and in June counts once in each month.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from nps_engine.records import Category, SurveyKind
from nps_engine.report_said import Said, said_json
from nps_engine.segments import ResponseFacts, Segment
from nps_engine.statistics import Comparison, NpsFigure, Tally, compare, nps_of

Basis = Literal["customers", "responses"]
BASES: tuple[Basis, ...] = ("customers", "responses")


@dataclass(frozen=True, slots=True)
class Month:
    """One calendar month of the store's time zone, as a half-open UTC range."""

    label: str  # YYYY-MM
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Period:
    """Store-local dates, both included: ``since`` 00:00 up to the end of ``until``."""

    since: date
    until: date
    timezone: str

    def __post_init__(self) -> None:
        if self.until < self.since:
            raise ValueError(f"the period ends ({self.until}) before it starts ({self.since})")

    @property
    def start(self) -> datetime:
        return _local_midnight(self.since, self.timezone)

    @property
    def end(self) -> datetime:
        return _local_midnight(self.until + timedelta(days=1), self.timezone)

    def months(self) -> tuple[Month, ...]:
        """The months the period touches, the first and last cut to the period."""
        months = []
        first = self.since.replace(day=1)
        while first <= self.until:
            following = (first + timedelta(days=32)).replace(day=1)
            start = max(self.start, _local_midnight(first, self.timezone))
            end = min(self.end, _local_midnight(following, self.timezone))
            months.append(Month(f"{first:%Y-%m}", start, end))
            first = following
        return tuple(months)


def default_period(today: date, months: int, timezone: str) -> Period:
    """The last ``months`` calendar months, this one included, up to ``today``."""
    first = today.replace(day=1)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return Period(first, today, timezone)


def _local_midnight(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class SegmentResult:
    name: str
    label: str
    comparison: Comparison

    @property
    def figure(self) -> NpsFigure:
        return self.comparison.segment

    @property
    def summary(self) -> str:
        return plain_language(self.label, self.comparison)


@dataclass(frozen=True, slots=True)
class MonthResult:
    month: str
    figure: NpsFigure


@dataclass(frozen=True, slots=True)
class Report:
    store: str
    basis: Basis
    kind: SurveyKind
    period: Period
    overall: NpsFigure
    segments: tuple[SegmentResult, ...]
    trend: tuple[MonthResult, ...]
    # "What they said": the period's latest comments (attached by jobs.report_job.with_said).
    said: Said | None = None

    @property
    def empty(self) -> bool:
        return self.overall.n == 0


@dataclass(frozen=True, slots=True)
class Tallies:
    """Everyone's tally and each segment's. Tallies of disjoint sets of customers add up, which
    lets a big store be counted in parts (``jobs.report_parts``)."""

    overall: Tally
    segments: tuple[Tally, ...]

    def __add__(self, other: Tallies) -> Tallies:
        parts = zip(self.segments, other.segments, strict=True)
        return Tallies(self.overall + other.overall, tuple(a + b for a, b in parts))


def build_report(
    facts: Iterable[ResponseFacts],
    *,
    store: str,
    basis: Basis,
    kind: SurveyKind,
    period: Period,
    segments: Sequence[Segment],
    trend: Mapping[str, Tally],
) -> Report:
    """The report over ``facts`` (answers of ``kind`` in ``period``; others are ignored).

    ``trend`` holds the tally of each month label (see :func:`monthly_tallies`, or the store's
    SQL equivalent); months without answers are shown empty.
    """
    tallies = tally_answers(facts, basis=basis, kind=kind, period=period, segments=segments)
    return report_from_tallies(
        tallies, store=store, basis=basis, kind=kind, period=period, segments=segments, trend=trend
    )


def tally_answers(
    facts: Iterable[ResponseFacts],
    *,
    basis: Basis,
    kind: SurveyKind,
    period: Period,
    segments: Sequence[Segment],
) -> Tallies:
    return _tallies(_on_basis(_in_scope(facts, kind, period), basis), segments)


def report_from_tallies(
    tallies: Tallies,
    *,
    store: str,
    basis: Basis,
    kind: SurveyKind,
    period: Period,
    segments: Sequence[Segment],
    trend: Mapping[str, Tally],
) -> Report:
    results = tuple(
        SegmentResult(segment.name, segment.label, compare(tally, tallies.overall))
        for segment, tally in zip(segments, tallies.segments, strict=True)
    )
    months = tuple(
        MonthResult(month.label, nps_of(trend.get(month.label, Tally())))
        for month in period.months()
    )
    return Report(store, basis, kind, period, nps_of(tallies.overall), results, months)


def _in_scope(
    facts: Iterable[ResponseFacts], kind: SurveyKind, period: Period
) -> Iterable[ResponseFacts]:
    start, end = period.start, period.end
    return (f for f in facts if f.kind == kind and start <= f.responded_at < end)


def _on_basis(facts: Iterable[ResponseFacts], basis: Basis) -> Iterable[ResponseFacts]:
    if basis == "responses":
        return facts
    latest: dict[str, ResponseFacts] = {}
    for fact in facts:
        kept = latest.get(fact.customer_key)
        if kept is None or (fact.responded_at, fact.response_id) > (
            kept.responded_at,
            kept.response_id,
        ):
            latest[fact.customer_key] = fact
    return latest.values()


_COUNTS = {Category.PROMOTER: 0, Category.PASSIVE: 1, Category.DETRACTOR: 2}


def _tallies(facts: Iterable[ResponseFacts], segments: Sequence[Segment]) -> Tallies:
    """Everyone's tally and each segment's, in one pass (the hot loop of a million-answer store)."""
    overall = [0, 0, 0]
    inside = [[0, 0, 0] for _ in segments]
    checks = [(segment.matches, counts) for segment, counts in zip(segments, inside, strict=True)]
    for fact in facts:
        slot = _COUNTS[fact.category]
        overall[slot] += 1
        for matches, counts in checks:
            if matches(fact):
                counts[slot] += 1
    return Tallies(Tally(*overall), tuple(Tally(*counts) for counts in inside))


def monthly_tallies(
    facts: Iterable[ResponseFacts], months: Sequence[Month], basis: Basis
) -> dict[str, Tally]:
    """Each month's tally from answers of one kind (small stores, tests).

    ``nps_engine.store.report_facts.load_report_inputs`` computes the same in SQL (a test keeps
    the two in step).
    """
    answers = list(facts)
    result: dict[str, Tally] = {}
    for month in months:
        in_month = [f for f in answers if month.start <= f.responded_at < month.end]
        result[month.label] = Tally.of_scores(f.score for f in _on_basis(in_month, basis))
    return result


def plain_language(label: str, comparison: Comparison) -> str:
    """One sentence a store owner can read aloud, e.g. "Customers who contacted support: NPS 12
    (+/-9), 31 points below the rest, p=0.002"."""
    figure = comparison.segment
    if figure.nps is None:
        return f"{label}: no answers in this period"
    line = f"{label}: NPS {figure_text(figure)}"
    difference, p_value = comparison.difference, comparison.p_value
    if difference is None or p_value is None:
        line += ", everyone answering is in this segment, so there is no rest to compare with"
    elif p_value < 0.05:
        line += f", {_points(difference)} the rest, {p_text(p_value)}"
    else:
        line += (
            f", not significantly different from the rest "
            f"({_points(difference)}, {p_text(p_value)})"
        )
    if figure.small_sample:
        line += f"; small sample (n={figure.n}), read with caution"
    return line


def figure_text(figure: NpsFigure) -> str:
    """``12 (+/-9)``: the NPS and the half-width of its 95% interval, in whole points.

    The adjusted-Wald interval is centred near, not on, the observed NPS, and is cut at -100 and
    +100; when it is lopsided by more than a point a "+/-" would misstate it, so both ends are
    written instead: ``-100 (-100 to -43)``.
    """
    if figure.nps is None or figure.ci95 is None:
        return "n/a"
    low, high = figure.ci95
    below, above = figure.nps - low, high - figure.nps
    if abs(above - below) <= 2:
        return f"{round(figure.nps)} (+/-{round((high - low) / 2)})"
    return f"{round(figure.nps)} ({round(low)} to {round(high)})"


def _points(difference: float) -> str:
    points = round(abs(difference))
    if points == 0:
        return "level with"
    unit = "point" if points == 1 else "points"
    return f"{points} {unit} {'above' if difference > 0 else 'below'}"


def p_text(p_value: float) -> str:
    if p_value < 0.001:
        return "p<0.001"
    if p_value < 0.1:  # three decimals so that 0.049 never reads as "p=0.05"
        return f"p={p_value:.3f}"
    return f"p={p_value:.2f}"


def report_json(report: Report) -> dict[str, object]:
    """The JSON contract of DESIGN.md section 5 (plus ``store``, ``kind``, labels and summaries)."""
    document: dict[str, object] = {
        "store": report.store,
        "basis": report.basis,
        "kind": report.kind.value,
        "period": {
            "from": report.period.since.isoformat(),
            "to": report.period.until.isoformat(),
            "timezone": report.period.timezone,
        },
        "overall": _figure_json(report.overall),
        "segments": [_segment_json(result) for result in report.segments],
        "trend": [{"month": m.month, **_figure_json(m.figure, counts=False)} for m in report.trend],
    }
    if report.said is not None:
        document["said"] = said_json(report.said)
    return document


def _segment_json(result: SegmentResult) -> dict[str, object]:
    comparison = result.comparison
    return {
        "name": result.name,
        "label": result.label,
        **_figure_json(comparison.segment),
        "rest": _figure_json(comparison.rest, counts=False),
        "difference": _rounded(comparison.difference),
        "p_value": None if comparison.p_value is None else float(f"{comparison.p_value:.3g}"),
        "summary": result.summary,
    }


def _figure_json(figure: NpsFigure, *, counts: bool = True) -> dict[str, object]:
    tally = figure.tally
    numbers: dict[str, object] = {"n": figure.n}
    if counts:
        numbers |= {
            "promoters": tally.promoters,
            "passives": tally.passives,
            "detractors": tally.detractors,
        }
    ci95 = None if figure.ci95 is None else [_rounded(figure.ci95[0]), _rounded(figure.ci95[1])]
    return numbers | {
        "nps": _rounded(figure.nps),
        "ci95": ci95,
        "small_sample": figure.small_sample,
    }


def _rounded(value: float | None) -> float | None:
    """One decimal: NPS is read in whole points, the decimal keeps sums and sorting honest."""
    return None if value is None else round(value, 1)
