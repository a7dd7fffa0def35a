"""The report's figures in words a store owner can read aloud. Pure.

Segments: "Customers who contacted support: NPS 12 (+/-9), 31 points below the rest, p=0.002".
Changes: "November 12 points below October, within noise (p=0.41)". The p-value in words is the
Holm-adjusted one (several segments, several months are tested at once; the raw one is in the
JSON), and no difference is put in words when a side is too small or the segment is defined by
the score (the note says why instead).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from nps_engine.statistics import Comparison, NpsFigure

if TYPE_CHECKING:
    from nps_engine.report import Change

SIGNIFICANT = 0.05


def segment_sentence(
    label: str, comparison: Comparison, p_adjusted: float | None, note: str | None
) -> str:
    figure = comparison.segment
    if figure.nps is None:
        return f"{label}: no answers in this period"
    line = f"{label}: NPS {figure_text(figure)}"
    difference = comparison.difference
    if note is not None:
        line += f", {note}"
    elif difference is None or p_adjusted is None:
        line += ", everyone answering is in this segment, so there is no rest to compare with"
    elif p_adjusted < SIGNIFICANT:
        line += f", {points_text(difference)} the rest, {p_text(p_adjusted)}"
    else:
        line += (
            f", not significantly different from the rest "
            f"({points_text(difference)}, {p_text(p_adjusted)})"
        )
    if figure.small_sample:
        line += f"; small sample (n={figure.n}), read with caution"
    return line


def plain_language(label: str, comparison: Comparison) -> str:
    """One segment compared alone (no other test beside it, so no adjustment)."""
    return segment_sentence(label, comparison, comparison.p_value, None)


def change_sentence(change: Change) -> str:
    later, earlier = _when(change.month, change.previous, change.scope)
    difference = change.test.difference
    if difference is None:
        return f"{later}: no answers to compare with {earlier}"
    if not change.comparable or change.p_adjusted is None:
        return (
            f"{later} against {earlier}: too few answers to compare "
            f"(n={change.later.n} and {change.earlier.n})"
        )
    verdict = "a real change" if change.p_adjusted < SIGNIFICANT else "within noise"
    return f"{later} {points_text(difference)} {earlier}, {verdict} ({p_text(change.p_adjusted)})"


def _when(month: str, previous: str, scope: str) -> tuple[str, str]:
    if scope == "year":
        return "This period", "the same dates a year earlier"
    later, earlier = _month(month), _month(previous)
    if later.year != earlier.year:
        return f"{later:%B %Y}", f"{earlier:%B %Y}"
    return f"{later:%B}", f"{earlier:%B}"


def _month(label: str) -> date:
    return date.fromisoformat(f"{label}-01")


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


def points_text(difference: float) -> str:
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
