"""Statistics v2 in the report: segments not defined by the score, minimum sizes, Holm, segment
trends with a rolling window, change over time, and the JSON that carries them."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nps_engine.config.settings import ChurnRiskSegment, CustomSegment, SegmentSettings
from nps_engine.records import SurveyKind
from nps_engine.report import Period, Report, ReportOptions, build_report, monthly_tallies
from nps_engine.report_json import report_json
from nps_engine.segments import ResponseFacts, Segment, StoreHabits, enabled_segments, is_churn_risk
from nps_engine.statistics import Tally, difference_of

NOW = datetime(2026, 6, 15, tzinfo=UTC)
PERIOD = Period(date(2026, 1, 1), date(2026, 5, 31), "UTC")
T = SurveyKind.TRANSACTIONAL
RETURNED = Segment("returned", "Customers who returned an order", lambda f: f.returned)


def answer(who: int, score: int, day: str = "2026-03-10", **fields: Any) -> ResponseFacts:
    return ResponseFacts(
        customer_key=f"customer:{who}",
        customer_id=who,
        email=None,
        score=score,
        kind=T,
        responded_at=datetime.fromisoformat(day).replace(tzinfo=UTC),
        as_of=NOW,
        **fields,
    )


def report_of(
    facts: list[ResponseFacts],
    segments: list[Segment] | tuple[Segment, ...] = (RETURNED,),
    **options: Any,
) -> Report:
    trend = monthly_tallies(facts, PERIOD.months(), "customers")
    year_before = options.pop("year_before", None)
    return build_report(
        facts,
        store="shop",
        basis="customers",
        kind=T,
        period=PERIOD,
        segments=segments,
        trend=trend,
        options=ReportOptions(**options),
        year_before=year_before,
    )


def custom(name: str, rule: dict[str, Any]) -> Segment:
    settings_ = SegmentSettings(
        support_contacted={"enabled": False},  # type: ignore[arg-type]
        returned={"enabled": False},  # type: ignore[arg-type]
        churn_risk={"enabled": False},  # type: ignore[arg-type]
        custom=(CustomSegment(name=name, rule=rule),),
    )
    [segment] = enabled_segments(settings_, NOW)
    return segment


@pytest.mark.parametrize(
    ("rule", "comparable"),
    [
        ({"category": "detractor"}, False),
        ({"all": [{"country": "FR"}, {"any": [{"score": {"lte": 6}}, {"tag": "vip"}]}]}, False),
        ({"score_drop": {"gte": 3}}, False),
        ({"total_spent": {"gte": 500}}, True),
        ({"any": [{"tag": "vip"}, {"orders_count": {"gt": 3}}]}, True),
    ],
)
def test_custom_segment_reading_the_score_is_not_comparable(
    rule: dict[str, Any], comparable: bool
) -> None:
    assert custom("mine", rule).comparable is comparable


def test_score_defined_segment_is_shown_with_its_interval_but_never_tested() -> None:
    facts = [answer(i, 2) for i in range(40)] + [answer(100 + i, 10) for i in range(60)]
    report = report_of(facts, [custom("unhappy", {"category": "detractor"})])
    [result] = report.segments
    assert result.figure.tally == Tally(0, 0, 40)
    assert result.figure.ci95 is not None
    assert (result.comparable, result.difference, result.p_value, result.p_adjusted) == (
        False, None, None, None,
    )  # fmt: skip
    assert "defined by the score" in result.summary
    assert "below" not in result.summary
    document = report_json(report)["segments"][0]  # type: ignore[index]
    assert document["comparable"] is False
    assert document["p_value"] is None
    assert document["note"].startswith("defined by the score")


@pytest.mark.parametrize(("inside", "comparable"), [(9, False), (10, True)])
def test_no_p_value_nor_points_below_under_the_minimum_size(inside: int, comparable: bool) -> None:
    facts = [answer(i, 0, returned=True) for i in range(inside)]
    facts += [answer(100 + i, 10) for i in range(40)]
    [result] = report_of(facts).segments
    assert result.comparable is comparable
    assert ("points below the rest" in result.summary) is comparable
    assert (result.p_value is not None) is comparable
    if not comparable:
        assert f"n={inside} here" in result.summary
        assert result.comparison.p_value is not None  # computed, but never shown


def test_minimum_size_is_configurable() -> None:
    facts = [answer(i, 0, returned=True) for i in range(3)]
    facts += [answer(100 + i, 10) for i in range(5)]
    [result] = report_of(facts, min_compare_n=3).segments
    assert result.comparable
    assert result.p_adjusted is not None


def test_segment_p_values_are_holm_adjusted_together() -> None:
    rng = random.Random(7)
    facts = [
        answer(i, rng.choice([0, 5, 8, 9, 10]), returned=i % 3 == 0, open_ticket=i % 4 == 0)
        for i in range(200)
    ]
    segments = [
        RETURNED,
        Segment("open", "Open ticket", lambda f: f.open_ticket),
        Segment("even", "Even customers", lambda f: f.customer_id % 2 == 0),
    ]
    report = report_of(facts, segments)
    raw = [r.p_value for r in report.segments]
    assert all(p is not None for p in raw)
    ranked = sorted(range(3), key=lambda i: raw[i])  # type: ignore[arg-type, return-value]
    smallest = report.segments[ranked[0]]
    assert smallest.p_adjusted == pytest.approx(min(1.0, 3 * raw[ranked[0]]))  # type: ignore[operator]
    for result in report.segments:
        assert result.p_adjusted is not None
        assert result.p_value is not None
        assert result.p_adjusted >= result.p_value
    document = report_json(report)
    for result, segment in zip(report.segments, document["segments"], strict=True):  # type: ignore[call-overload]
        assert segment["p_value"] == float(f"{result.p_value:.3g}")
        assert segment["p_adjusted"] == float(f"{result.p_adjusted:.3g}")


def test_each_segment_has_a_monthly_trend_against_its_rest() -> None:
    facts = [answer(1, 0, "2026-01-05", returned=True), answer(2, 10, "2026-01-06")]
    facts += [answer(3, 9, "2026-03-02", returned=True), answer(1, 7, "2026-03-09")]
    [result] = report_of(facts).segments
    by_month = {point.month: point for point in result.trend}
    assert list(by_month) == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]
    assert by_month["2026-01"].segment.tally == Tally(0, 0, 1)
    assert by_month["2026-01"].rest.tally == Tally(1, 0, 0)
    assert by_month["2026-02"].segment.n == 0
    # customer 1 answered again in March without a return: in the rest that month
    assert by_month["2026-03"].segment.tally == Tally(1, 0, 0)
    assert by_month["2026-03"].rest.tally == Tally(0, 1, 0)


def test_every_trend_point_carries_its_tallies_in_json() -> None:
    facts = [answer(i, i % 11, "2026-02-10", returned=i % 2 == 0) for i in range(25)]
    document = report_json(report_of(facts))
    points = [*document["trend"], *document["segments"][0]["trend"]]  # type: ignore[index]
    points += [point["rest"] for point in document["segments"][0]["trend"]]  # type: ignore[index]
    for point in points:
        assert {"n", "promoters", "passives", "detractors", "nps", "ci95"} <= set(point)
        assert point["n"] == point["promoters"] + point["passives"] + point["detractors"]
    february = document["trend"][1]  # type: ignore[index]
    assert (february["n"], february["promoters"], february["detractors"]) == (25, 4, 17)
    json.dumps(document)


def test_rolling_window_when_most_months_are_small() -> None:
    facts = [answer(i, 10, "2026-01-10") for i in range(5)]
    facts += [answer(10 + i, 0, "2026-02-10") for i in range(5)]
    facts += [answer(20 + i, 8, "2026-03-10") for i in range(40)]
    report = report_of(facts)
    assert report.rolling
    march = report.trend[2]
    assert march.rolling is not None
    assert march.rolling.tally == Tally(5, 40, 5)  # January to March
    assert report.trend[0].rolling is not None
    assert report.trend[0].rolling.tally == Tally(5, 0, 0)
    assert report_json(report)["trend_window"] == {"months": 3}
    big = [answer(i, 10, f"2026-0{1 + i % 5}-10") for i in range(200)]
    assert not report_of(big).rolling
    assert report_of(big).trend[0].rolling is None


def test_each_month_is_compared_with_the_previous_one_in_plain_words() -> None:
    facts = [answer(i, 10 if i < 12 else 5, "2026-01-10") for i in range(20)]
    facts += [answer(100 + i, 10 if i < 10 else 5, "2026-02-10") for i in range(20)]
    report = report_of(facts)
    [change] = report.changes  # March to May are empty: nothing to compare
    assert (change.scope, change.month, change.previous) == ("month", "2026-02", "2026-01")
    expected = difference_of(Tally(10, 0, 10), Tally(12, 0, 8))
    assert change.test == expected
    assert change.test.difference == pytest.approx(-20.0)
    assert change.p_adjusted == change.test.p_value  # a single test: nothing to adjust
    assert (
        change.summary
        == f"February 20 points below January, within noise (p={change.p_adjusted:.2f})"
    )
    [document] = report_json(report)["changes"]  # type: ignore[misc]
    assert document["difference"] == -20.0
    assert document["ci95"][0] < -20.0 < document["ci95"][1]
    assert set(document) >= {"month", "previous", "difference", "ci95", "p_value", "p_adjusted"}


def test_month_changes_are_holm_adjusted_and_small_months_not_tested() -> None:
    facts = []
    for month, promoters in ((1, 30), (2, 5), (3, 28), (4, 2)):
        facts += [answer(month * 100 + i, 10 if i < promoters else 0, f"2026-0{month}-10")
                  for i in range(40)]  # fmt: skip
    facts += [answer(900 + i, 10, "2026-05-10") for i in range(3)]
    report = report_of(facts)
    tested = [c for c in report.changes if c.comparable]
    assert [c.month for c in tested] == ["2026-02", "2026-03", "2026-04"]
    for change in tested:
        assert change.p_adjusted is not None
        assert change.test.p_value is not None
        assert change.p_adjusted >= change.test.p_value
    [small] = [c for c in report.changes if not c.comparable]
    assert small.month == "2026-05"
    assert small.p_adjusted is None
    assert "too few answers" in small.summary
    assert "a real change" in tested[0].summary


def test_period_is_compared_with_the_same_dates_a_year_earlier_when_known() -> None:
    facts = [answer(i, 10 if i < 30 else 0, "2026-02-10") for i in range(40)]
    report = report_of(facts, year_before=Tally(10, 10, 20))
    [year] = [c for c in report.changes if c.scope == "year"]
    assert (year.month, year.previous) == ("2026-01-01..2026-05-31", "2025-01-01..2025-05-31")
    assert year.test.difference == pytest.approx(50.0 - (-25.0))
    assert year.summary.startswith("This period 75 points above the same dates a year earlier")
    assert not [c for c in report_of(facts, year_before=Tally()).changes if c.scope == "year"]


def test_bayes_is_shown_beside_each_figure_only_when_asked() -> None:
    facts = [answer(i, i % 11, "2026-02-10", returned=i % 2 == 0) for i in range(30)]
    plain = report_json(report_of(facts))
    assert "bayes" not in plain["overall"]  # type: ignore[operator]
    bayes = report_json(report_of(facts, method="bayes"))
    overall = bayes["overall"]
    assert bayes["method"] == "bayes"
    assert overall["bayes"]["ci95"][0] < overall["bayes"]["nps"] < overall["bayes"]["ci95"][1]  # type: ignore[index]
    assert bayes["trend"][0]["bayes"] is None  # January has no answers  # type: ignore[index]
    assert bayes["segments"][0]["trend"][1]["bayes"] is not None  # type: ignore[index]


# -- churn risk: behaviour only ------------------------------------------------------------------

RULES = ChurnRiskSegment()
HABITS = StoreHabits(usual_return_days=40.0, as_of=NOW)


def customer(**changes: Any) -> ResponseFacts:
    """Came back after the surveyed order, no return, no ticket."""
    base = answer(
        1,
        9,
        "2026-05-01",
        surveyed_order_at=datetime(2026, 4, 20, tzinfo=UTC),
        next_order_after_surveyed_at=datetime(2026, 5, 20, tzinfo=UTC),
        last_order_at=datetime(2026, 5, 20, tzinfo=UTC),
        orders_count=3,
    )
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("changes", "habits", "at_risk"),
    [
        ({}, HABITS, False),
        ({"returned": True}, HABITS, True),
        ({"last_ticket_before_response_at": datetime(2026, 4, 25, tzinfo=UTC)}, HABITS, True),
        # no repeat order 181 days after the surveyed one, while repeat customers return in 40
        ({"surveyed_order_at": NOW - timedelta(days=181), "next_order_after_surveyed_at": None,
          "last_order_at": NOW - timedelta(days=181), "orders_count": 1}, HABITS, True),
        # the same where repeat customers usually take 200 days: not a signal
        ({"surveyed_order_at": NOW - timedelta(days=181), "next_order_after_surveyed_at": None,
          "last_order_at": NOW - timedelta(days=181), "orders_count": 1},
         StoreHabits(200.0, NOW), False),
        # nobody ever ordered twice: going quiet says nothing
        ({"surveyed_order_at": NOW - timedelta(days=181), "next_order_after_surveyed_at": None},
         StoreHabits(None, NOW), False),
        # a repeat buyer silent for more than twice the usual gap (81 > 2 x 40)
        ({"last_order_at": NOW - timedelta(days=81)}, HABITS, True),
        ({"last_order_at": NOW - timedelta(days=79)}, HABITS, False),
    ],
)  # fmt: skip
def test_churn_risk_segment_reads_behaviour(
    changes: dict[str, Any], habits: StoreHabits, at_risk: bool
) -> None:
    assert is_churn_risk(customer(**changes), RULES, habits) is at_risk


def test_a_detractor_or_a_drop_is_not_churn_risk_by_itself() -> None:
    assert not is_churn_risk(customer(score=0), RULES, HABITS)
    assert not is_churn_risk(customer(score=5, previous_score=10), RULES, HABITS)


facts_strategy = st.builds(
    customer,
    returned=st.booleans(),
    orders_count=st.integers(0, 6),
    last_order_at=st.one_of(st.none(), st.integers(0, 400).map(lambda d: NOW - timedelta(days=d))),
    surveyed_order_at=st.one_of(
        st.none(), st.integers(0, 400).map(lambda d: NOW - timedelta(days=d))
    ),
    next_order_after_surveyed_at=st.one_of(st.none(), st.just(NOW - timedelta(days=1))),
    last_ticket_before_response_at=st.one_of(
        st.none(),
        st.integers(0, 200).map(lambda d: datetime(2026, 5, 1, tzinfo=UTC) - timedelta(days=d)),
    ),
)


@settings(max_examples=200)
@given(
    facts_strategy,
    st.integers(0, 10),
    st.one_of(st.none(), st.integers(0, 10)),
    st.one_of(st.none(), st.floats(1, 400)),
)
def test_churn_risk_membership_does_not_change_when_only_scores_change(
    fact: ResponseFacts, score: int, previous: int | None, usual: float | None
) -> None:
    [segment] = [
        s for s in enabled_segments(SegmentSettings(), NOW, usual) if s.name == "churn_risk"
    ]
    rescored = replace(fact, score=score, previous_score=previous)
    assert segment.matches(rescored) is segment.matches(fact)
    assert segment.comparable


@given(st.permutations(list(range(6))))
def test_report_does_not_depend_on_the_order_of_the_answers(order: list[int]) -> None:
    facts = [
        answer(i, (i * 7) % 11, f"2026-0{1 + i % 3}-10", returned=i % 2 == 0) for i in range(6)
    ]
    shuffled = [facts[i] for i in order]
    assert report_of(shuffled, min_compare_n=1) == report_of(facts, min_compare_n=1)
