"""NPS, its adjusted-Wald interval and the segment-vs-rest z-test, against hand-worked figures."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps_engine.statistics import Tally, compare, nps_of


def test_nps_is_percent_promoters_minus_percent_detractors() -> None:
    # 6 promoters, 2 passives, 2 detractors of 10: 60% - 20% = 40
    assert nps_of(Tally(6, 2, 2)).nps == pytest.approx(40.0)


@pytest.mark.parametrize(
    ("tally", "low", "high"),
    [
        # n_adj = 13, pP = 6.75/13 = 0.519231, pD = 2.75/13 = 0.211538, NPS_adj = 4/13 = 0.307692
        # Var = 0.519231 + 0.211538 - 0.307692^2 = 0.636095; se = sqrt(0.636095/13) = 0.221202
        # 1.959964 * 0.221202 = 0.433548 -> 0.307692 -/+ 0.433548 = -0.125856 .. 0.741240
        (Tally(6, 2, 2), -12.5856, 74.1240),
        # n_adj = 103, pP = 50.75/103 = 0.492718, pD = 20.75/103 = 0.201456, NPS_adj = 0.291262
        # Var = 0.694175 - 0.084834 = 0.609341; se = sqrt(0.609341/103) = 0.076915
        # 1.959964 * 0.076915 = 0.150751 -> 0.140511 .. 0.442013
        (Tally(50, 30, 20), 14.0511, 44.2013),
    ],
)
def test_interval_is_the_adjusted_wald_interval(tally: Tally, low: float, high: float) -> None:
    ci95 = nps_of(tally).ci95
    assert ci95 is not None
    assert ci95 == pytest.approx((low, high), abs=0.001)


def test_one_promoter_interval_is_stretched_to_include_the_observed_hundred() -> None:
    # n_adj = 4, pP = 0.4375, pD = 0.1875, NPS_adj = 0.25, Var = 0.625 - 0.0625 = 0.5625
    # se = sqrt(0.5625/4) = 0.375, 1.959964 * 0.375 = 0.734986 -> -0.484986 .. 0.984986,
    # which misses the observed 100: the upper bound becomes 100.
    figure = nps_of(Tally(1, 0, 0))
    assert figure.nps == 100.0
    assert figure.ci95 == pytest.approx((-48.4986, 100.0), abs=0.001)


def test_no_answers_means_no_nps_rather_than_zero() -> None:
    figure = nps_of(Tally())
    assert (figure.nps, figure.ci95, figure.small_sample) == (None, None, True)


@pytest.mark.parametrize(("n", "small"), [(29, True), (30, False)])
def test_fewer_than_thirty_answers_is_a_small_sample(n: int, small: bool) -> None:
    assert nps_of(Tally(n, 0, 0)).small_sample is small


def test_z_test_of_a_segment_against_the_rest_matches_the_worked_example() -> None:
    # segment: 10 P, 10 passive, 20 D (n=40); everyone: 40 P, 30 passive, 30 D, so the rest is
    # 30 P, 20 passive, 10 D (n=60).
    # segment: n_adj 43, pP 10.75/43 = 0.25, pD 20.75/43 = 0.482558, NPS_adj -0.232558,
    #   Var = 0.732558 - 0.054083 = 0.678475
    # rest: n_adj 63, pP 30.75/63 = 0.488095, pD 10.75/63 = 0.170635, NPS_adj 0.317460,
    #   Var = 0.658730 - 0.100781 = 0.557949
    # se = sqrt(0.678475/43 + 0.557949/63) = sqrt(0.015778 + 0.008856) = 0.156955
    # z = (-0.232558 - 0.317460) / 0.156955 = -3.5043; p = erfc(3.5043 / sqrt 2) = 0.000458
    comparison = compare(Tally(10, 10, 20), Tally(40, 30, 30))
    assert comparison.rest.tally == Tally(30, 20, 10)
    assert comparison.segment.nps == pytest.approx(-25.0)
    assert comparison.rest.nps == pytest.approx(33.3333, abs=0.001)
    assert comparison.difference == pytest.approx(-58.3333, abs=0.001)
    assert comparison.p_value == pytest.approx(0.000458, abs=0.000002)


def test_identical_segment_and_rest_are_not_different() -> None:
    comparison = compare(Tally(20, 10, 10), Tally(40, 20, 20))
    assert comparison.difference == pytest.approx(0.0)
    assert comparison.p_value == pytest.approx(1.0)


@pytest.mark.parametrize("segment", [Tally(), Tally(5, 5, 5)])
def test_no_p_value_when_one_side_has_no_answers(segment: Tally) -> None:
    comparison = compare(segment, Tally(5, 5, 5))
    assert (comparison.difference, comparison.p_value) == (None, None)


tallies = st.builds(Tally, st.integers(0, 5000), st.integers(0, 5000), st.integers(0, 5000)).filter(
    lambda tally: tally.n > 0
)


@given(tallies)
def test_nps_stays_between_minus_and_plus_hundred(tally: Tally) -> None:
    figure = nps_of(tally)
    assert figure.nps is not None
    assert figure.ci95 is not None
    assert -100.0 <= figure.ci95[0] <= figure.nps <= figure.ci95[1] <= 100.0


@given(st.lists(st.integers(0, 10), min_size=1, max_size=300), st.randoms())
def test_order_of_the_answers_changes_nothing(scores: list[int], rng: random.Random) -> None:
    shuffled = list(scores)
    rng.shuffle(shuffled)
    assert nps_of(Tally.of_scores(scores)) == nps_of(Tally.of_scores(shuffled))


@given(tallies, tallies)
def test_p_value_is_a_probability_and_symmetric(segment: Tally, rest: Tally) -> None:
    forward = compare(segment, segment + rest)
    backward = compare(rest, segment + rest)
    assert forward.p_value is not None
    assert backward.p_value is not None
    assert 0.0 <= forward.p_value <= 1.0
    assert math.isclose(forward.p_value, backward.p_value, rel_tol=1e-9, abs_tol=1e-12)
