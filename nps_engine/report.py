"""The segmented NPS report: overall, each segment against the rest, month by month (for everyone
and for each segment), and the change from one month to the next. Pure.

Two bases (docs/report.md): ``customers`` counts each customer's latest answer in the period
(one voice per customer, the default), ``responses`` counts every answer. Post-delivery and
relationship answers are never blended: a report is about one :class:`SurveyKind`.

The monthly trend is cut in the store's time zone (an answer at 23:30 on 31 January in Paris is a
January answer), and on the customers basis each month keeps each customer's latest answer *in
that month*, so a customer who answered in March and in June counts once in each month.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from nps_engine.answer_counts import BASES as BASES
from nps_engine.answer_counts import Basis as Basis
from nps_engine.answer_counts import Tallies as Tallies
from nps_engine.answer_counts import in_scope, monthly_facts, tally_answers
from nps_engine.answer_counts import monthly_tallies as monthly_tallies
from nps_engine.multiple_tests import holm
from nps_engine.periods import Month as Month
from nps_engine.periods import Period as Period
from nps_engine.periods import default_period as default_period
from nps_engine.records import SurveyKind
from nps_engine.report_said import Said
from nps_engine.report_text import change_sentence, segment_sentence
from nps_engine.segments import ResponseFacts, Segment, StoreHabits
from nps_engine.statistics import (
    Comparison,
    Difference,
    NpsFigure,
    Tally,
    compare,
    difference_of,
    nps_of,
)

Method = Literal["adjusted-wald", "bayes"]
SMALL_MONTH = 30  # answers; below it in most months, trends are also shown over a rolling window


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """How cautious the report is (``report.*`` in the configuration, ``--method`` on the CLI).

    ``min_compare_n``: no p-value and no "points below" sentence unless both sides have at least
    this many answers. ``window_months``: the rolling window shown beside the monthly trends when
    most months have fewer than 30 answers. ``method="bayes"`` adds a Bayesian credible interval
    beside every adjusted-Wald one in the JSON.
    """

    min_compare_n: int = 10
    window_months: int = 3
    method: Method = "adjusted-wald"


@dataclass(frozen=True, slots=True)
class SegmentMonth:
    """One month of a segment's trend: the segment and everyone else who answered that month,
    and the same over the rolling window ending that month when the report uses one."""

    month: str
    segment: NpsFigure
    rest: NpsFigure
    rolling_segment: NpsFigure | None = None
    rolling_rest: NpsFigure | None = None


@dataclass(frozen=True, slots=True)
class SegmentResult:
    name: str
    label: str
    comparison: Comparison
    # False when the segment is defined by the score, or a side has fewer than min_compare_n
    # answers: its NPS is shown, never a difference, p-value or "points below" sentence.
    comparable: bool = True
    note: str | None = None
    p_adjusted: float | None = None
    trend: tuple[SegmentMonth, ...] = ()

    @property
    def figure(self) -> NpsFigure:
        return self.comparison.segment

    @property
    def difference(self) -> float | None:
        return self.comparison.difference if self.comparable else None

    @property
    def p_value(self) -> float | None:
        return self.comparison.p_value if self.comparable else None

    @property
    def summary(self) -> str:
        return segment_sentence(self.label, self.comparison, self.p_adjusted, self.note)


@dataclass(frozen=True, slots=True)
class MonthResult:
    month: str
    figure: NpsFigure
    rolling: NpsFigure | None = None  # the window ending this month, when the report uses one


@dataclass(frozen=True, slots=True)
class Change:
    """``month`` against ``previous`` (two months, or the period against the same dates a year
    earlier when ``scope`` is "year"): the difference of their NPS with its interval and test."""

    scope: Literal["month", "year"]
    month: str
    previous: str
    later: NpsFigure
    earlier: NpsFigure
    test: Difference
    comparable: bool
    p_adjusted: float | None = None

    @property
    def summary(self) -> str:
        return change_sentence(self)


@dataclass(frozen=True, slots=True)
class Report:
    store: str
    basis: Basis
    kind: SurveyKind
    period: Period
    overall: NpsFigure
    segments: tuple[SegmentResult, ...]
    trend: tuple[MonthResult, ...]
    changes: tuple[Change, ...] = ()
    options: ReportOptions = field(default_factory=ReportOptions)
    rolling: bool = False  # whether trends also show a window of options.window_months
    # "What they said": the period's latest comments (attached by jobs.report_job.with_said).
    said: Said | None = None
    # The store's habits the churn-risk segment was counted with, so that the "what they said"
    # part (jobs.report_job.with_said) puts comments in the same segments without measuring
    # them again (a grouped read of every order).
    habits: StoreHabits | None = None

    @property
    def empty(self) -> bool:
        return self.overall.n == 0


def build_report(
    facts: Iterable[ResponseFacts],
    *,
    store: str,
    basis: Basis,
    kind: SurveyKind,
    period: Period,
    segments: Sequence[Segment],
    trend: Mapping[str, Tally],
    options: ReportOptions | None = None,
    month_facts: Mapping[str, Sequence[ResponseFacts]] | None = None,
    year_before: Tally | None = None,
) -> Report:
    """The report over ``facts`` (answers of ``kind`` in ``period``; others are ignored).

    ``trend`` holds the tally of each month label (see :func:`monthly_tallies`, or the store's
    SQL equivalent); months without answers are shown empty. ``month_facts`` holds each month's
    counted answers (derived from ``facts`` when not given); ``year_before`` the tally of the same
    dates a year earlier, when known.
    """
    answers = list(facts)
    if month_facts is None:
        month_facts = monthly_facts(in_scope(answers, kind, period), period.months(), basis)
    tallies = tally_answers(
        answers, basis=basis, kind=kind, period=period, segments=segments, month_facts=month_facts
    )
    return report_from_tallies(
        tallies,
        store=store,
        basis=basis,
        kind=kind,
        period=period,
        segments=segments,
        trend=trend,
        options=options,
        year_before=year_before,
    )


def report_from_tallies(
    tallies: Tallies,
    *,
    store: str,
    basis: Basis,
    kind: SurveyKind,
    period: Period,
    segments: Sequence[Segment],
    trend: Mapping[str, Tally],
    options: ReportOptions | None = None,
    year_before: Tally | None = None,
) -> Report:
    """The report from counts alone: intervals, segment tests (Holm-adjusted together, none where
    a segment is score-defined or a side is under ``options.min_compare_n``), monthly trends for
    everyone and each segment (with a rolling window when most months are small), and changes
    over time (month against month, Holm-adjusted together; the period against ``year_before``)."""
    options = options or ReportOptions()
    labels = [month.label for month in period.months()]
    monthly = [trend.get(label, Tally()) for label in labels]
    rolling = _mostly_small(monthly)
    window = options.window_months if rolling else 0
    overall_rolling = _rolling(monthly, window)
    months = tuple(
        MonthResult(label, nps_of(tally), overall_rolling[i])
        for i, (label, tally) in enumerate(zip(labels, monthly, strict=True))
    )
    results = _segment_results(tallies, segments, labels, monthly, options, window)
    changes = _changes(labels, monthly, nps_of(tallies.overall), period, year_before, options)
    overall = nps_of(tallies.overall)
    return Report(store, basis, kind, period, overall, results, months, changes, options, rolling)


def _segment_results(
    tallies: Tallies,
    segments: Sequence[Segment],
    labels: Sequence[str],
    monthly: Sequence[Tally],
    options: ReportOptions,
    window: int,
) -> tuple[SegmentResult, ...]:
    comparisons = [compare(tally, tallies.overall) for tally in tallies.segments]
    notes = [_why_not_comparable(s, c, options) for s, c in zip(segments, comparisons, strict=True)]
    adjusted = holm(
        [c.p_value if n is None else None for c, n in zip(comparisons, notes, strict=True)]
    )
    results = []
    for index, segment in enumerate(segments):
        inside = [tallies.months.get(label, (Tally(),) * len(segments))[index] for label in labels]
        rest = [everyone - part for everyone, part in zip(monthly, inside, strict=True)]
        rolling_in, rolling_rest = _rolling(inside, window), _rolling(rest, window)
        trend = tuple(
            SegmentMonth(label, nps_of(inside[i]), nps_of(rest[i]), rolling_in[i], rolling_rest[i])
            for i, label in enumerate(labels)
        )
        note = notes[index]
        results.append(
            SegmentResult(
                segment.name,
                segment.label,
                comparisons[index],
                note is None,
                note,
                adjusted[index],
                trend,
            )
        )
    return tuple(results)


def _why_not_comparable(
    segment: Segment, comparison: Comparison, options: ReportOptions
) -> str | None:
    if not segment.comparable:
        return (
            "defined by the score itself, so its NPS differs from the rest by construction: "
            "shown without a comparison"
        )
    sizes = (comparison.segment.n, comparison.rest.n)
    if sizes[0] and not sizes[1]:
        return "everyone answering is in this segment, so there is no rest to compare with"
    if min(sizes) < options.min_compare_n:
        return (
            f"too few answers to compare (n={sizes[0]} here, {sizes[1]} in the rest; "
            f"{options.min_compare_n} needed on each side)"
        )
    return None


def _changes(
    labels: Sequence[str],
    monthly: Sequence[Tally],
    overall: NpsFigure,
    period: Period,
    year_before: Tally | None,
    options: ReportOptions,
) -> tuple[Change, ...]:
    pairs: list[tuple[Literal["month", "year"], str, str, Tally, Tally]] = [
        ("month", labels[i], labels[i - 1], monthly[i], monthly[i - 1])
        for i in range(1, len(labels))
        if monthly[i].n and monthly[i - 1].n
    ]
    if year_before is not None and year_before.n and overall.n:
        earlier = period.year_before()
        pairs.append(
            ("year", _span(period.since, period.until), _span(earlier.since, earlier.until),
             overall.tally, year_before)
        )  # fmt: skip
    tests = [difference_of(later, earlier) for *_, later, earlier in pairs]
    comparable = [min(later.n, earlier.n) >= options.min_compare_n for *_, later, earlier in pairs]
    adjusted = holm([t.p_value if ok else None for t, ok in zip(tests, comparable, strict=True)])
    return tuple(
        Change(scope, month, previous, nps_of(later), nps_of(earlier), test, ok, p_adjusted)
        for (scope, month, previous, later, earlier), test, ok, p_adjusted in zip(
            pairs, tests, comparable, adjusted, strict=True
        )
    )


def _span(since: date, until: date) -> str:
    return f"{since.isoformat()}..{until.isoformat()}"


def _mostly_small(monthly: Sequence[Tally]) -> bool:
    """Most months (more than half) with fewer than 30 answers: single months are then mostly
    noise, so the trends are also shown over a rolling window."""
    return sum(tally.n < SMALL_MONTH for tally in monthly) * 2 > len(monthly)


def _rolling(monthly: Sequence[Tally], window: int) -> list[NpsFigure | None]:
    """The NPS of each month's window (that month and the ``window - 1`` before it, within the
    period); None everywhere when ``window`` is 0. On the customers basis a customer who answered
    in two months of a window counts in each, as in the monthly figures themselves."""
    if window <= 0:
        return [None] * len(monthly)
    figures: list[NpsFigure | None] = []
    for index in range(len(monthly)):
        total = Tally()
        for tally in monthly[max(0, index - window + 1) : index + 1]:
            total += tally
        figures.append(nps_of(total))
    return figures
