"""NPS with its uncertainty, and the comparison of a segment with the rest of the customers.

Method (DESIGN.md section 4): the adjusted-Wald interval for NPS (Rocks 2016; Sauro & Lewis,
"Quantifying the User Experience", ch. 5): add 3 to n and 3/4 to both promoters and detractors,
then ``Var = p_P + p_D - (p_P - p_D)^2`` and ``NPS_adj +/- 1.96 * sqrt(Var / n_adj)``. The same
adjusted proportions feed the two-sample z-test of a segment against the rest. Pure arithmetic:
counts in, figures out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from nps_engine.records import Category
from nps_engine.scoring import category_of

Z_95 = 1.959963984540054
SMALL_SAMPLE = 30


@dataclass(frozen=True, slots=True)
class Tally:
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    @property
    def n(self) -> int:
        return self.promoters + self.passives + self.detractors

    @classmethod
    def of_scores(cls, scores: Iterable[int]) -> Tally:
        counts = dict.fromkeys(Category, 0)
        for score in scores:
            counts[category_of(score)] += 1
        return cls(counts[Category.PROMOTER], counts[Category.PASSIVE], counts[Category.DETRACTOR])

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.promoters + other.promoters,
            self.passives + other.passives,
            self.detractors + other.detractors,
        )

    def __sub__(self, other: Tally) -> Tally:
        return Tally(
            self.promoters - other.promoters,
            self.passives - other.passives,
            self.detractors - other.detractors,
        )


@dataclass(frozen=True, slots=True)
class NpsFigure:
    """An NPS from -100 to +100 with its 95% interval (both in points) and the counts behind it."""

    tally: Tally
    nps: float | None
    ci95: tuple[float, float] | None

    @property
    def n(self) -> int:
        return self.tally.n

    @property
    def small_sample(self) -> bool:
        return self.n < SMALL_SAMPLE


@dataclass(frozen=True, slots=True)
class _Adjusted:
    nps: float  # as a proportion, -1..1
    variance: float
    n: float


def _adjusted(tally: Tally) -> _Adjusted:
    n_adj = tally.n + 3
    p_promoters = (tally.promoters + 0.75) / n_adj
    p_detractors = (tally.detractors + 0.75) / n_adj
    difference = p_promoters - p_detractors
    return _Adjusted(difference, p_promoters + p_detractors - difference**2, n_adj)


def nps_of(tally: Tally) -> NpsFigure:
    """The classic NPS (%promoters - %detractors) with its adjusted-Wald 95% interval.

    ``nps`` and ``ci95`` are None for an empty tally: "no answers" is not "NPS 0".
    """
    if tally.n == 0:
        return NpsFigure(tally, None, None)
    nps = 100.0 * (tally.promoters - tally.detractors) / tally.n
    adjusted = _adjusted(tally)
    half_width = Z_95 * math.sqrt(adjusted.variance / adjusted.n)
    low = 100.0 * (adjusted.nps - half_width)
    high = 100.0 * (adjusted.nps + half_width)
    # The adjustment pulls the centre towards 0; with one or two answers the interval can then miss
    # the observed figure printed beside it (n=1 promoter: NPS 100, interval -48..98). A reader
    # takes that for a bug, so the interval is stretched to include the observed value.
    low, high = min(low, nps), max(high, nps)
    return NpsFigure(tally, nps, (max(-100.0, low), min(100.0, high)))


@dataclass(frozen=True, slots=True)
class Comparison:
    """A segment against the customers outside it (never overlapping)."""

    segment: NpsFigure
    rest: NpsFigure
    difference: float | None  # segment NPS - rest NPS, in points
    p_value: float | None  # two-sided, z-test on the adjusted scores


def compare(segment: Tally, everyone: Tally) -> Comparison:
    """Compare ``segment`` with ``everyone - segment``.

    The z statistic is the difference of the adjusted NPS over the square root of the sum of their
    variances; the p-value is two-sided. None where either side has no answers.
    """
    rest = everyone - segment
    segment_figure, rest_figure = nps_of(segment), nps_of(rest)
    if segment.n == 0 or rest.n == 0:
        return Comparison(segment_figure, rest_figure, None, None)
    assert segment_figure.nps is not None
    assert rest_figure.nps is not None
    a, b = _adjusted(segment), _adjusted(rest)
    standard_error = math.sqrt(a.variance / a.n + b.variance / b.n)
    z = (a.nps - b.nps) / standard_error
    p_value = math.erfc(abs(z) / math.sqrt(2.0))
    return Comparison(segment_figure, rest_figure, segment_figure.nps - rest_figure.nps, p_value)
