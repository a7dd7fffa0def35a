"""The report built from facts: bases, kinds, segments against the rest, months, wording, JSON."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from random import Random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nps_engine.config.settings import SegmentSettings
from nps_engine.records import SurveyKind
from nps_engine.report import (
    Period,
    Report,
    build_report,
    default_period,
    monthly_tallies,
)
from nps_engine.report_json import report_json
from nps_engine.report_text import plain_language
from nps_engine.segments import ResponseFacts, Segment, enabled_segments
from nps_engine.statistics import Tally, compare

NOW = datetime(2026, 6, 15, tzinfo=UTC)
PERIOD = Period(date(2026, 1, 1), date(2026, 5, 31), "UTC")
T, R = SurveyKind.TRANSACTIONAL, SurveyKind.RELATIONSHIP


def answer(who: int, score: int, day: str = "2026-03-10", **fields: Any) -> ResponseFacts:
    fields.setdefault("kind", T)
    return ResponseFacts(
        customer_key=f"customer:{who}",
        customer_id=who,
        email=None,
        score=score,
        responded_at=datetime.fromisoformat(day).replace(tzinfo=UTC),
        as_of=NOW,
        **fields,
    )


RETURNED = Segment("returned", "Customers who returned an order", lambda f: f.returned)


def report_of(facts: list[ResponseFacts], **options: Any) -> Report:
    options.setdefault("basis", "customers")
    options.setdefault("kind", T)
    options.setdefault("segments", [RETURNED])
    trend = monthly_tallies(facts, PERIOD.months(), options["basis"])
    return build_report(facts, store="shop", period=PERIOD, trend=trend, **options)


def test_customers_basis_counts_each_customer_once_with_the_latest_answer() -> None:
    facts = [answer(1, 0, "2026-01-05"), answer(1, 10, "2026-04-05"), answer(2, 8)]
    report = report_of(facts)
    assert report.overall.tally == Tally(promoters=1, passives=1, detractors=0)
    assert report_of(facts, basis="responses").overall.tally == Tally(1, 1, 1)


def test_answers_outside_the_period_or_of_the_other_kind_are_left_out() -> None:
    facts = [
        answer(1, 10),
        answer(2, 0, "2025-12-31T23:59:59"),
        answer(3, 0, "2026-06-01"),
        answer(4, 0, kind=R),
    ]
    assert report_of(facts).overall.tally == Tally(1, 0, 0)
    relationship = report_of(facts, kind=R)
    assert relationship.overall.tally == Tally(0, 0, 1)
    assert relationship.kind is R


def test_each_segment_is_compared_with_the_rest() -> None:
    facts = [answer(i, 2, returned=True) for i in range(40)]
    facts += [answer(100 + i, 10) for i in range(60)]
    report = report_of(facts)
    [returned] = report.segments
    assert returned.comparison.segment.tally == Tally(0, 0, 40)
    assert returned.comparison.rest.tally == Tally(60, 0, 0)
    assert returned.comparison.difference == pytest.approx(-200.0)
    assert returned.comparison.p_value is not None
    assert returned.comparison.p_value < 0.001


def test_trend_lists_every_month_of_the_period_even_empty_ones() -> None:
    report = report_of([answer(1, 10, "2026-02-03"), answer(2, 0, "2026-02-04")])
    assert [m.month for m in report.trend] == [
        "2026-01",
        "2026-02",
        "2026-03",
        "2026-04",
        "2026-05",
    ]
    assert [m.figure.n for m in report.trend] == [0, 2, 0, 0, 0]
    assert report.trend[1].figure.nps == 0.0


def test_month_boundaries_follow_the_store_time_zone_across_daylight_saving() -> None:
    months = Period(date(2026, 3, 1), date(2026, 4, 30), "Europe/Paris").months()
    # March starts at UTC+1, April at UTC+2 (summer time began on 29 March)
    assert months[0].start == datetime(2026, 2, 28, 23, tzinfo=UTC)
    assert months[0].end == months[1].start == datetime(2026, 3, 31, 22, tzinfo=UTC)
    assert months[1].end == datetime(2026, 4, 30, 22, tzinfo=UTC)


def test_first_and_last_month_are_cut_to_the_period() -> None:
    months = Period(date(2026, 1, 15), date(2026, 2, 10), "UTC").months()
    assert [(m.label, m.start.day, m.end.day) for m in months] == [
        ("2026-01", 15, 1),
        ("2026-02", 1, 11),
    ]


def test_default_period_is_the_last_months_including_this_one() -> None:
    period = default_period(date(2026, 3, 9), 12, "UTC")
    assert (period.since, period.until) == (date(2025, 4, 1), date(2026, 3, 9))
    assert len(period.months()) == 12


def test_period_refuses_to_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="ends"):
        Period(date(2026, 2, 1), date(2026, 1, 1), "UTC")


def lots(segment: Tally, rest: Tally) -> str:
    return plain_language("Customers who contacted support", compare(segment, segment + rest))


def test_plain_language_for_a_significant_difference() -> None:
    line = lots(Tally(30, 20, 50), Tally(300, 100, 100))
    assert line.startswith("Customers who contacted support: NPS -20 (+/-")
    assert "points below the rest, p<0.001" in line
    assert "small sample" not in line


def test_plain_language_when_the_difference_could_be_chance() -> None:
    line = lots(Tally(20, 10, 10), Tally(200, 100, 110))
    assert "not significantly different from the rest (" in line
    assert "above" in line
    assert ", p=0." in line


def test_plain_language_flags_small_samples() -> None:
    line = lots(Tally(2, 1, 3), Tally(200, 100, 100))
    assert line.endswith("small sample (n=6), read with caution")


def test_plain_language_without_answers_or_without_a_rest() -> None:
    assert lots(Tally(), Tally(1, 1, 1)).endswith("no answers in this period")
    assert "no rest to compare with" in lots(Tally(40, 0, 0), Tally())


def test_json_has_the_contract_keys_and_rounded_figures() -> None:
    facts = [answer(i, 9 if i % 3 else 3, returned=i % 2 == 0) for i in range(45)]
    document = json.loads(json.dumps(report_json(report_of(facts))))
    assert document["basis"] == "customers"
    assert document["period"] == {"from": "2026-01-01", "to": "2026-05-31", "timezone": "UTC"}
    overall = document["overall"]
    assert {"n", "promoters", "passives", "detractors", "nps", "ci95"} <= set(overall)
    assert (overall["n"], overall["promoters"], overall["detractors"]) == (45, 30, 15)
    assert overall["nps"] == 33.3
    low, high = overall["ci95"]
    assert low < 33.3 < high
    assert low == round(low, 1)
    [segment] = document["segments"]
    assert {"name", "n", "promoters", "passives", "detractors", "nps", "ci95", "rest",
            "difference", "p_value", "small_sample"} <= set(segment)  # fmt: skip
    assert {"n", "nps", "ci95"} <= set(segment["rest"])
    assert segment["n"] + segment["rest"]["n"] == 45
    assert segment["small_sample"] is True  # 23 answers
    assert document["trend"][2]["month"] == "2026-03"
    assert {"month", "n", "nps", "ci95"} <= set(document["trend"][2])


def test_json_of_an_empty_report_is_still_the_contract() -> None:
    document = report_json(report_of([], segments=enabled_segments(SegmentSettings(), NOW)))
    assert document["overall"]["n"] == 0
    assert document["overall"]["nps"] is None
    assert document["overall"]["ci95"] is None
    assert [s["name"] for s in document["segments"]] == [
        "support_contacted",
        "returned",
        "churn_risk",
    ]
    assert all(s["p_value"] is None for s in document["segments"])


def test_latest_answer_wins_even_when_facts_arrive_out_of_order() -> None:
    late, early = answer(1, 10, "2026-04-01"), answer(1, 0, "2026-02-01")
    assert report_of([late, early]).overall.tally == Tally(1, 0, 0)
    assert report_of([early, late]).overall.tally == Tally(1, 0, 0)


def test_one_customer_answering_twice_in_a_month_counts_once_that_month() -> None:
    facts = [answer(1, 0, "2026-03-01"), answer(1, 10, "2026-03-20"), answer(1, 9, "2026-04-02")]
    trend = monthly_tallies(facts, PERIOD.months(), "customers")
    assert trend["2026-03"] == Tally(1, 0, 0)
    assert trend["2026-04"] == Tally(1, 0, 0)
    assert monthly_tallies(facts, PERIOD.months(), "responses")["2026-03"] == Tally(1, 0, 1)


def test_report_marks_itself_empty_without_answers() -> None:
    assert report_of([]).empty
    assert not report_of([answer(1, 5)]).empty


answers = st.lists(
    st.tuples(st.integers(0, 15), st.integers(0, 10), st.integers(1, 5), st.booleans()),
    max_size=60,
).map(
    lambda rows: [
        answer(who, score, f"2026-0{month}-15", returned=returned, response_id=number)
        for number, (who, score, month, returned) in enumerate(rows)
    ]
)


@given(answers, st.randoms(), st.sampled_from(["customers", "responses"]))
def test_segment_and_rest_always_add_up_to_everyone_whatever_the_order(
    facts: list[ResponseFacts], rng: Random, basis: str
) -> None:
    report = report_of(facts, basis=basis)
    shuffled = list(facts)
    rng.shuffle(shuffled)
    assert report_of(shuffled, basis=basis) == report
    [returned] = report.segments
    assert (
        returned.comparison.segment.tally + returned.comparison.rest.tally == report.overall.tally
    )
    customers = len({f.customer_key for f in facts})
    assert report.overall.n == (customers if basis == "customers" else len(facts))


def test_two_answers_at_the_same_instant_keep_the_later_stored_one() -> None:
    first = answer(1, 0, response_id=7)
    second = answer(1, 10, response_id=8)
    assert report_of([second, first]).overall.tally == Tally(1, 0, 0)
    assert report_of([first, second]).overall.tally == Tally(1, 0, 0)


@pytest.mark.parametrize(
    ("tally", "text"),
    [
        (Tally(promoters=600, passives=200, detractors=200), "40 (+/-5)"),
        (Tally(promoters=60, passives=20, detractors=20), "40 (23 to 54)"),
        (Tally(promoters=0, passives=0, detractors=12), "-100 (-100 to "),
    ],
)
def test_plus_minus_only_where_the_interval_is_even_around_the_figure(
    tally: Tally, text: str
) -> None:
    from nps_engine.report_text import figure_text
    from nps_engine.statistics import nps_of

    assert figure_text(nps_of(tally)).startswith(text)
