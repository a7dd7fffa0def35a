"""The report as JSON: the contract documented in docs/report.md. Pure.

Every figure (overall, each segment and its rest, every month of every trend) carries its tallies
(``n``, ``promoters``, ``passives``, ``detractors``) beside ``nps`` and ``ci95``, so anyone can
recompute it. Raw p-values sit beside the Holm-adjusted ones the sentences use. With
``method="bayes"`` each figure also gets ``bayes``: the posterior mean and 95% credible interval.
"""

from __future__ import annotations

from collections.abc import Callable

from nps_engine.report import Change, MonthResult, Report, SegmentMonth, SegmentResult
from nps_engine.report_said import said_json
from nps_engine.statistics import INTERVAL_RULE, NpsFigure

_Figure = Callable[[NpsFigure], dict[str, object]]


def report_json(report: Report) -> dict[str, object]:
    bayes = report.options.method == "bayes"

    def figure(value: NpsFigure) -> dict[str, object]:
        return _figure_json(value, bayes=bayes)

    document: dict[str, object] = {
        "store": report.store,
        "basis": report.basis,
        "kind": report.kind.value,
        "period": {
            "from": report.period.since.isoformat(),
            "to": report.period.until.isoformat(),
            "timezone": report.period.timezone,
        },
        "method": report.options.method,
        "intervals": INTERVAL_RULE,
        "min_compare_n": report.options.min_compare_n,
        "trend_window": {"months": report.options.window_months} if report.rolling else None,
        "overall": figure(report.overall),
        "segments": [_segment_json(result, figure) for result in report.segments],
        "trend": [_month_json(month, figure) for month in report.trend],
        "changes": [_change_json(change) for change in report.changes],
    }
    if report.said is not None:
        document["said"] = said_json(report.said)
    return document


def _segment_json(result: SegmentResult, figure: _Figure) -> dict[str, object]:
    comparison = result.comparison
    return {
        "name": result.name,
        "label": result.label,
        **figure(comparison.segment),
        "rest": figure(comparison.rest),
        "comparable": result.comparable,
        "note": result.note,
        "difference": _rounded(result.difference),
        "p_value": _p(result.p_value),
        "p_adjusted": _p(result.p_adjusted),
        "summary": result.summary,
        "trend": [_segment_month_json(month, figure) for month in result.trend],
    }


def _segment_month_json(month: SegmentMonth, figure: _Figure) -> dict[str, object]:
    point: dict[str, object] = {"month": month.month, **figure(month.segment)}
    point["rest"] = figure(month.rest)
    if month.rolling_segment is not None and month.rolling_rest is not None:
        point["rolling"] = figure(month.rolling_segment)
        point["rest_rolling"] = figure(month.rolling_rest)
    return point


def _month_json(month: MonthResult, figure: _Figure) -> dict[str, object]:
    point: dict[str, object] = {"month": month.month, **figure(month.figure)}
    if month.rolling is not None:
        point["rolling"] = figure(month.rolling)
    return point


def _change_json(change: Change) -> dict[str, object]:
    test = change.test
    ci95 = None if test.ci95 is None else [_rounded(test.ci95[0]), _rounded(test.ci95[1])]
    return {
        "scope": change.scope,
        "month": change.month,
        "previous": change.previous,
        "n": change.later.n,
        "previous_n": change.earlier.n,
        "nps": _rounded(change.later.nps),
        "previous_nps": _rounded(change.earlier.nps),
        "difference": _rounded(test.difference),
        "ci95": ci95,
        "comparable": change.comparable,
        "p_value": _p(test.p_value) if change.comparable else None,
        "p_adjusted": _p(change.p_adjusted),
        "summary": change.summary,
    }


def _figure_json(figure: NpsFigure, *, bayes: bool = False) -> dict[str, object]:
    tally = figure.tally
    ci95 = None if figure.ci95 is None else [_rounded(figure.ci95[0]), _rounded(figure.ci95[1])]
    numbers: dict[str, object] = {
        "n": figure.n,
        "promoters": tally.promoters,
        "passives": tally.passives,
        "detractors": tally.detractors,
        "nps": _rounded(figure.nps),
        "ci95": ci95,
        "small_sample": figure.small_sample,
    }
    if bayes:
        numbers["bayes"] = _bayes_json(figure)
    return numbers


def _bayes_json(figure: NpsFigure) -> dict[str, object] | None:
    if figure.n == 0:
        return None
    from nps_engine.bayes import credible_nps  # numpy, only when asked for

    credible = credible_nps(figure.tally)
    low, high = credible.ci95
    return {"nps": _rounded(credible.mean), "ci95": [_rounded(low), _rounded(high)]}


def _p(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.3g}")


def _rounded(value: float | None) -> float | None:
    """One decimal: NPS is read in whole points, the decimal keeps sums and sorting honest."""
    return None if value is None else round(value, 1)
