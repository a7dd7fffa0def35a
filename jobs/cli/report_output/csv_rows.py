"""``nps report --format csv``: one row per figure (overall, each segment, each month, each
segment's month, each change over time), the shape a spreadsheet pivots on. Empty cells where
there is nothing to say (no answers, no rest, no test).

Scopes: ``overall``; ``segment`` (against the rest, with raw and Holm-adjusted p); ``month``;
``segment_month`` (a segment in one month, with that month's rest); ``change`` (``name`` is the
later month or span, ``month`` the earlier one; the NPS columns are the later figure's,
``difference`` and ``ci95_low``/``ci95_high`` are the difference's)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence

from nps_engine.report import Change, Report, SegmentResult
from nps_engine.statistics import NpsFigure

HEADER = (
    "store",
    "kind",
    "basis",
    "period_from",
    "period_to",
    "scope",
    "name",
    "label",
    "n",
    "promoters",
    "passives",
    "detractors",
    "nps",
    "ci95_low",
    "ci95_high",
    "small_sample",
    "rest_n",
    "rest_nps",
    "difference",
    "p_value",
    "p_adjusted",
    "comparable",
    "month",
)


def render_csv(reports: Sequence[Report]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for report in reports:
        writer.writerows(_rows(report))
    return buffer.getvalue()


def _rows(report: Report) -> Iterator[list[object]]:
    head = [
        report.store,
        report.kind.value,
        report.basis,
        report.period.since.isoformat(),
        report.period.until.isoformat(),
    ]
    none = ["", "", "", "", "", "", ""]
    yield [*head, "overall", "overall", "Everyone", *_figure(report.overall), *none]
    for result in report.segments:
        yield [*head, "segment", result.name, result.label, *_figure(result.figure), *_rest(result)]
    for month in report.trend:
        yield [*head, "month", month.month, month.month, *_figure(month.figure), *none]
    for result in report.segments:
        for point in result.trend:
            rest = [point.rest.n, _number(point.rest.nps), "", "", "", "", point.month]
            figure = _figure(point.segment)
            yield [*head, "segment_month", result.name, result.label, *figure, *rest]
    for change in report.changes:
        yield [*head, "change", change.month, change.scope, *_change(change)]


def _figure(figure: NpsFigure) -> list[object]:
    tally = figure.tally
    low, high = figure.ci95 if figure.ci95 is not None else (None, None)
    return [
        figure.n,
        tally.promoters,
        tally.passives,
        tally.detractors,
        _number(figure.nps),
        _number(low),
        _number(high),
        "yes" if figure.small_sample else "no",
    ]


def _rest(result: SegmentResult) -> list[object]:
    comparison = result.comparison
    return [
        comparison.rest.n,
        _number(comparison.rest.nps),
        _number(result.difference),
        _p(result.p_value),
        _p(result.p_adjusted),
        "yes" if result.comparable else "no",
        "",
    ]


def _change(change: Change) -> list[object]:
    later, test = change.later, change.test
    low, high = test.ci95 if test.ci95 is not None else (None, None)
    tally = later.tally
    return [
        later.n,
        tally.promoters,
        tally.passives,
        tally.detractors,
        _number(later.nps),
        _number(low),
        _number(high),
        "yes" if later.small_sample else "no",
        change.earlier.n,
        _number(change.earlier.nps),
        _number(test.difference),
        _p(test.p_value) if change.comparable else "",
        _p(change.p_adjusted),
        "yes" if change.comparable else "no",
        change.previous,
    ]


def _p(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"
