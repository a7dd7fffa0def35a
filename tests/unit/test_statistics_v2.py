"""The adjusted-Wald interval as the method gives it, the two-sample difference, Holm against
statsmodels, and the Bayesian check: hand-worked tables and properties."""

from __future__ import annotations

import gc
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from nps_engine.bayes import credible_nps
from nps_engine.multiple_tests import holm
from nps_engine.statistics import Tally, adjusted_wald, difference_of, nps_of


@pytest.mark.parametrize(
    ("tally", "low", "high"),
    [
        # one detractor: n_adj 4, pP 0.75/4 = 0.1875, pD 1.75/4 = 0.4375, NPS_adj -0.25,
        # Var 0.625 - 0.0625 = 0.5625, se sqrt(0.5625/4) = 0.375, 1.959964 * 0.375 = 0.734986
        (Tally(0, 0, 1), -98.4986, 48.4986),
        # 6/2/2: see test_statistics.py; the method's own bounds, nothing cut or stretched
        (Tally(6, 2, 2), -12.5856, 74.1240),
        # 30 promoters of 30: n_adj 33, pP 30.75/33 = 0.931818, pD 0.75/33 = 0.022727,
        # NPS_adj 0.909091, Var 0.954545 - 0.826446 = 0.128099, se sqrt(0.128099/33) = 0.062304,
        # 1.959964 * 0.062304 = 0.122114 -> 0.786977 .. 1.031205 (the method passes +100)
        (Tally(30, 0, 0), 78.6977, 103.1205),
    ],
)
def test_adjusted_wald_bounds_are_the_methods(tally: Tally, low: float, high: float) -> None:
    assert adjusted_wald(tally) == pytest.approx((low, high), abs=0.001)


def test_the_documented_rule_widens_only_to_include_the_observed_figure_and_cuts_at_100() -> None:
    # one detractor: the method says -98.5..48.5 while the printed NPS is -100
    assert nps_of(Tally(0, 0, 1)).ci95 == pytest.approx((-100.0, 48.4986), abs=0.001)
    # 30 promoters: cut at +100
    assert nps_of(Tally(30, 0, 0)).ci95 == pytest.approx((78.6977, 100.0), abs=0.001)
    # a usual tally: exactly the method's bounds
    assert nps_of(Tally(50, 30, 20)).ci95 == adjusted_wald(Tally(50, 30, 20))


def test_two_sample_difference_interval_and_p_value_by_hand() -> None:
    # later 10/10/20 (n 40), earlier 30/20/10 (n 60); adjusted NPS -0.232558 and 0.317460,
    # variances 0.678475 and 0.557949, se = sqrt(0.678475/43 + 0.557949/63) = 0.156955;
    # centre -0.550018, half-width 1.959964 * 0.156955 = 0.307626 -> -0.857644 .. -0.242392;
    # z = -3.5043, p = 0.000458; observed difference -25 - 33.333 = -58.333
    tested = difference_of(Tally(10, 10, 20), Tally(30, 20, 10))
    assert tested.difference == pytest.approx(-58.3333, abs=0.001)
    assert tested.ci95 == pytest.approx((-85.7644, -24.2392), abs=0.01)
    assert tested.p_value == pytest.approx(0.000458, abs=0.000002)


def test_difference_with_an_empty_side_has_no_interval_nor_test() -> None:
    tested = difference_of(Tally(3, 0, 0), Tally())
    assert (tested.difference, tested.ci95, tested.p_value) == (None, None, None)


@pytest.mark.parametrize(
    ("raw", "adjusted"),
    [
        # sorted 0.01, 0.03, 0.04 times 3, 2, 1 = 0.03, 0.06, 0.04 -> running max 0.03, 0.06, 0.06
        ([0.01, 0.04, 0.03], [0.03, 0.06, 0.06]),
        ([0.5, None, 0.01], [0.5, None, 0.02]),
        ([0.9, 0.8], [1.0, 1.0]),
        ([], []),
        ([None], [None]),
    ],
)
def test_holm_by_hand(raw: list[float | None], adjusted: list[float | None]) -> None:
    result = holm(raw)
    assert [None if r is None else pytest.approx(r) for r in result] == adjusted


p_values = st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=30)


def reference_holm(raw: list[float]) -> list[float]:
    """statsmodels' Holm. It runs a full ``gc.collect()`` on each call, which takes seconds inside
    a whole test session; frozen objects are not scanned, so freeze them around the call."""
    gc.freeze()
    try:
        return [float(p) for p in multipletests(raw, alpha=0.05, method="holm")[1]]
    finally:
        gc.unfreeze()


@settings(deadline=None, max_examples=50)
@given(p_values)
def test_holm_matches_statsmodels(raw: list[float]) -> None:
    assert holm(raw) == pytest.approx(reference_holm(raw), abs=1e-12)


@given(st.lists(st.one_of(st.none(), st.floats(0.0, 1.0, allow_nan=False)), max_size=30))
def test_adjusted_p_is_never_below_the_raw_p_and_stays_a_probability(
    raw: list[float | None],
) -> None:
    for before, after in zip(raw, holm(raw), strict=True):
        assert (before is None) == (after is None)
        if before is not None and after is not None:
            assert before <= after <= 1.0


@given(p_values, st.randoms())
def test_holm_does_not_depend_on_the_order_of_the_tests(
    raw: list[float], rng: random.Random
) -> None:
    order = list(range(len(raw)))
    rng.shuffle(order)
    adjusted = holm(raw)
    shuffled = holm([raw[i] for i in order])
    assert shuffled == [adjusted[i] for i in order]


tallies = st.builds(Tally, st.integers(0, 300), st.integers(0, 300), st.integers(0, 300))


@given(tallies, tallies)
def test_difference_interval_contains_the_adjusted_estimate_and_p_is_a_probability(
    later: Tally, earlier: Tally
) -> None:
    tested = difference_of(later, earlier)
    if later.n == 0 or earlier.n == 0:
        assert tested.p_value is None
        return
    assert tested.ci95 is not None
    assert tested.p_value is not None
    low, high = tested.ci95
    assert low < high
    assert 0.0 <= tested.p_value <= 1.0
    # the interval excludes 0 exactly when the test is significant at 5%
    if not math.isclose(tested.p_value, 0.05, abs_tol=1e-9):
        assert (low > 0 or high < 0) == (tested.p_value < 0.05)


def test_bayes_is_reproducible_and_close_to_adjusted_wald_for_a_large_sample() -> None:
    tally = Tally(500, 300, 200)
    first, again = credible_nps(tally), credible_nps(tally)
    assert first == again
    # posterior mean (501 - 201) / 1003 = 29.91 points
    assert first.mean == pytest.approx(29.9103, abs=0.001)
    low, high = first.ci95
    wald_low, wald_high = adjusted_wald(tally)
    assert low == pytest.approx(wald_low, abs=1.0)
    assert high == pytest.approx(wald_high, abs=1.0)


def test_bayes_with_no_answers_is_the_uniform_prior() -> None:
    prior = credible_nps(Tally())
    assert prior.mean == 0.0
    # NPS under Dirichlet(1,1,1) is symmetric with 95% of its mass inside about +/-78
    assert prior.ci95[0] == pytest.approx(-prior.ci95[1], abs=1.5)
    assert 70 < prior.ci95[1] < 85


@settings(deadline=None, max_examples=40)
@given(st.builds(Tally, st.integers(0, 50), st.integers(0, 50), st.integers(0, 50)))
def test_credible_interval_contains_the_posterior_mean(tally: Tally) -> None:
    credible = credible_nps(tally, draws=2_000)
    low, high = credible.ci95
    assert -100.0 <= low <= credible.mean <= high <= 100.0
