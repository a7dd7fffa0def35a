"""``nps report --format csv``: one row per figure (overall, each segment, each month), the
shape a spreadsheet pivots on. Empty cells where there is nothing to say (no answers, no rest)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence

from nps_engine.report import Report, SegmentResult
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
    yield [*head, "overall", "overall", "Everyone", *_figure(report.overall), "", "", "", ""]
    for result in report.segments:
        yield [*head, "segment", result.name, result.label, *_figure(result.figure), *_rest(result)]
    for month in report.trend:
        yield [*head, "month", month.month, month.month, *_figure(month.figure), "", "", "", ""]


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
    p_value = comparison.p_value
    return [
        comparison.rest.n,
        _number(comparison.rest.nps),
        _number(comparison.difference),
        "" if p_value is None else f"{p_value:.4g}",
    ]


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"
