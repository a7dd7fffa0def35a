"""NPS with its uncertainty, and the comparison of two groups of answers.

Method (docs/report.md): the adjusted-Wald interval for NPS (Rocks 2016; Sauro & Lewis,
"Quantifying the User Experience", ch. 5): add 3 to n and 3/4 to both promoters and detractors,
then ``Var = p_P + p_D - (p_P - p_D)^2`` and ``NPS_adj +/- 1.96 * sqrt(Var / n_adj)``. The same
adjusted proportions feed the two-sample test (Lewis & Sauro, "How to Statistically Compare Two
Net Promoter Scores", 2021): the difference of the adjusted NPS over the square root of the sum of
their variances is a z statistic, and the difference +/- 1.96 standard errors its 95% interval.
This compares a segment with the rest and a month with the previous one. Pure arithmetic: counts
in, figures out (see ``nps_engine.multiple_tests`` and ``nps_engine.bayes`` for the rest).

One documented rule on top of the method: the interval printed beside an observed NPS always
contains it (:func:`nps_of`). :func:`adjusted_wald` gives the method's bounds untouched.
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


def adjusted_wald(tally: Tally) -> tuple[float, float]:
    """The adjusted-Wald 95% interval in points, exactly as the method gives it (not cut at
    -100/+100, not stretched): for checking against published worked examples."""
    adjusted = _adjusted(tally)
    half_width = Z_95 * math.sqrt(adjusted.variance / adjusted.n)
    return 100.0 * (adjusted.nps - half_width), 100.0 * (adjusted.nps + half_width)


INTERVAL_RULE = (
    "95% intervals by the adjusted-Wald method, cut at -100 and +100 and widened, only where the "
    "method's interval would miss it, to include the observed NPS (tiny samples)."
)


def nps_of(tally: Tally) -> NpsFigure:
    """The classic NPS (%promoters - %detractors) with its adjusted-Wald 95% interval.

    ``nps`` and ``ci95`` are None for an empty tally: "no answers" is not "NPS 0".

    The documented rule (:data:`INTERVAL_RULE`, docs/report.md): the adjustment pulls the centre
    towards 0, so with a handful of answers the method's interval can miss the figure printed
    beside it (n=1 promoter: NPS 100, interval -48..98). The bounds are then widened to include
    the observed value and cut at -100/+100; everywhere else they are the method's, unchanged.
    """
    if tally.n == 0:
        return NpsFigure(tally, None, None)
    nps = 100.0 * (tally.promoters - tally.detractors) / tally.n
    low, high = adjusted_wald(tally)
    low, high = min(low, nps), max(high, nps)
    return NpsFigure(tally, nps, (max(-100.0, low), min(100.0, high)))


@dataclass(frozen=True, slots=True)
class Comparison:
    """A segment against the customers outside it (never overlapping)."""

    segment: NpsFigure
    rest: NpsFigure
    difference: float | None  # segment NPS - rest NPS, in points
    p_value: float | None  # two-sided, z-test on the adjusted scores


@dataclass(frozen=True, slots=True)
class Difference:
    """``later`` minus ``earlier`` in points, its 95% interval and two-sided p-value
    (adjusted-Wald two-sample method). The interval and p-value are None when a side is empty."""

    difference: float | None
    ci95: tuple[float, float] | None
    p_value: float | None


def difference_of(later: Tally, earlier: Tally) -> Difference:
    """The observed NPS difference, with the adjusted-Wald interval and test of that difference.

    The interval is centred on the difference of the *adjusted* NPS (the method's estimate) and
    is reported unchanged, not stretched: it is the method's, as published.
    """
    if later.n == 0 or earlier.n == 0:
        return Difference(None, None, None)
    # the same arithmetic as nps_of, so that a difference equals the two printed figures'
    observed = (
        100.0 * (later.promoters - later.detractors) / later.n
        - 100.0 * (earlier.promoters - earlier.detractors) / earlier.n
    )
    a, b = _adjusted(later), _adjusted(earlier)
    standard_error = math.sqrt(a.variance / a.n + b.variance / b.n)
    centre = a.nps - b.nps
    z = centre / standard_error
    p_value = math.erfc(abs(z) / math.sqrt(2.0))
    half_width = Z_95 * standard_error
    ci95 = (100.0 * (centre - half_width), 100.0 * (centre + half_width))
    return Difference(observed, ci95, p_value)


def compare(segment: Tally, everyone: Tally) -> Comparison:
    """Compare ``segment`` with ``everyone - segment``.

    The z statistic is the difference of the adjusted NPS over the square root of the sum of their
    variances; the p-value is two-sided. None where either side has no answers.
    """
    rest = everyone - segment
    segment_figure, rest_figure = nps_of(segment), nps_of(rest)
    if segment.n == 0 or rest.n == 0:
        return Comparison(segment_figure, rest_figure, None, None)
    tested = difference_of(segment, rest)
    return Comparison(segment_figure, rest_figure, tested.difference, tested.p_value)
