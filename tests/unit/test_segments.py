"""Built-in segments at their boundaries, and custom segments over the same facts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from nps_engine.config.settings import ChurnRiskSegment, CustomSegment, SegmentSettings
from nps_engine.records import Category, SurveyKind
from nps_engine.segment_rules import Features
from nps_engine.segments import ResponseFacts, customer_key, enabled_segments
from nps_engine.tag_plan import is_churn_risk_for_tag

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
ANSWERED = NOW - timedelta(days=20)
RULES = ChurnRiskSegment()


def facts(**changes: Any) -> ResponseFacts:
    """A happy repeat customer: promoter, no ticket, no return, ordered again after the survey."""
    base = ResponseFacts(
        customer_key="customer:1",
        customer_id=1,
        email="ann@example.com",
        score=9,
        kind=SurveyKind.TRANSACTIONAL,
        responded_at=ANSWERED,
        as_of=NOW,
        surveyed_order_at=ANSWERED - timedelta(days=10),
        next_order_after_surveyed_at=ANSWERED,
        last_order_at=ANSWERED,
        orders_count=3,
        total_spent=Decimal("250.00"),
        tags=frozenset({"vip"}),
        country="FR",
    )
    return replace(base, **changes)


def segment_names(fact: ResponseFacts, settings: SegmentSettings | None = None) -> set[str]:
    segments = enabled_segments(settings or SegmentSettings(), NOW)
    return {segment.name for segment in segments if segment.matches(fact)}


def test_response_facts_satisfy_the_features_rules_read() -> None:
    features: Features = facts()
    assert features.category == "promoter"


@pytest.mark.parametrize(
    ("score", "category"),
    [
        (0, Category.DETRACTOR),
        (6, Category.DETRACTOR),
        (7, Category.PASSIVE),
        (8, Category.PASSIVE),
        (9, Category.PROMOTER),
        (10, Category.PROMOTER),
    ],
)
def test_category_follows_the_score(score: int, category: Category) -> None:
    assert facts(score=score).category is category


def test_happy_repeat_customer_is_in_no_segment() -> None:
    assert segment_names(facts()) == set()


@pytest.mark.parametrize(
    ("days_before", "contacted"),
    [(0, True), (89, True), (90, True), (90.001, False), (None, False)],
)
def test_support_contacted_counts_tickets_within_the_window_before_the_answer(
    days_before: float | None, contacted: bool
) -> None:
    ticket_at = None if days_before is None else ANSWERED - timedelta(days=days_before)
    fact = facts(last_ticket_before_response_at=ticket_at)
    assert fact.support_contacted is contacted
    assert ("support_contacted" in segment_names(fact)) is contacted


def test_support_window_is_configurable() -> None:
    fact = facts(
        last_ticket_before_response_at=ANSWERED - timedelta(days=20), support_window_days=14
    )
    assert not fact.support_contacted


def test_returned_or_refunded_surveyed_order_is_in_the_returned_segment() -> None:
    assert "returned" in segment_names(facts(returned=True))
    assert "returned" not in segment_names(facts(returned=False))


@pytest.mark.parametrize(("score", "at_risk"), [(6, True), (7, False), (0, True)])
def test_latest_score_of_six_or_less_is_churn_risk_for_tag(score: int, at_risk: bool) -> None:
    assert is_churn_risk_for_tag(facts(score=score), RULES, NOW) is at_risk


@pytest.mark.parametrize(
    ("previous", "score", "at_risk"),
    [(10, 7, True), (10, 8, False), (9, 9, False), (7, 10, False), (None, 9, False)],
)
def test_drop_of_three_points_since_the_previous_answer_is_churn_risk_for_tag(
    previous: int | None, score: int, at_risk: bool
) -> None:
    assert is_churn_risk_for_tag(facts(previous_score=previous, score=score), RULES, NOW) is at_risk


def test_score_drop_is_previous_minus_latest() -> None:
    assert facts(previous_score=10, score=7).score_drop == 3
    assert facts(previous_score=5, score=7).score_drop == -2
    assert facts(previous_score=None).score_drop is None


@pytest.mark.parametrize(
    ("score", "returned", "ticket_days_before", "at_risk"),
    [
        (8, True, None, True),  # passive with a return
        (7, False, 5, True),  # passive who contacted support
        (8, False, 120, False),  # passive, ticket outside the window
        (9, True, 5, False),  # promoter with a return and a ticket
        (8, False, None, False),  # quiet passive
    ],
)
def test_passive_who_returned_or_contacted_support_is_churn_risk_for_tag(
    score: int, returned: bool, ticket_days_before: int | None, at_risk: bool
) -> None:
    ticket = None if ticket_days_before is None else ANSWERED - timedelta(days=ticket_days_before)
    fact = facts(score=score, returned=returned, last_ticket_before_response_at=ticket)
    assert is_churn_risk_for_tag(fact, RULES, NOW) is at_risk


def test_passive_rule_can_be_switched_off() -> None:
    rules = ChurnRiskSegment(passive_with_return_or_support=False)
    assert not is_churn_risk_for_tag(facts(score=8, returned=True), rules, NOW)


@pytest.mark.parametrize(
    ("days_since_surveyed_order", "at_risk"), [(180, False), (181, True), (30, False)]
)
def test_no_order_for_more_than_180_days_after_the_surveyed_one_is_churn_risk_for_tag(
    days_since_surveyed_order: int, at_risk: bool
) -> None:
    fact = facts(
        surveyed_order_at=NOW - timedelta(days=days_since_surveyed_order),
        next_order_after_surveyed_at=None,
    )
    assert is_churn_risk_for_tag(fact, RULES, NOW) is at_risk


def test_a_later_order_means_no_repeat_risk_however_old_the_survey() -> None:
    fact = facts(
        surveyed_order_at=NOW - timedelta(days=400),
        next_order_after_surveyed_at=NOW - timedelta(days=300),
    )
    assert not is_churn_risk_for_tag(fact, RULES, NOW)


def test_answer_without_an_order_falls_back_to_the_last_order() -> None:
    old = facts(
        surveyed_order_at=None,
        next_order_after_surveyed_at=None,
        last_order_at=NOW - timedelta(days=200),
    )
    recent = replace(old, last_order_at=NOW - timedelta(days=20))
    unknown = replace(old, last_order_at=None)
    assert is_churn_risk_for_tag(old, RULES, NOW)
    assert not is_churn_risk_for_tag(recent, RULES, NOW)
    assert not is_churn_risk_for_tag(unknown, RULES, NOW)


def test_days_since_last_order_is_counted_from_the_runs_now() -> None:
    assert facts(last_order_at=NOW - timedelta(days=45, hours=3)).days_since_last_order == 45
    assert facts(last_order_at=None).days_since_last_order is None


def test_disabled_segments_are_not_reported() -> None:
    settings = SegmentSettings.model_validate(
        {"support_contacted": {"enabled": False}, "returned": {"enabled": False}}
    )
    names = [segment.name for segment in enabled_segments(settings, NOW)]
    assert names == ["churn_risk"]


def custom(name: str, rule: dict[str, Any], label: str | None = None) -> SegmentSettings:
    return SegmentSettings(custom=(CustomSegment(name=name, label=label, rule=rule),))


@pytest.mark.parametrize(
    ("rule", "fact", "member"),
    [
        ({"tag": "VIP"}, facts(tags=frozenset({"vip"})), True),
        ({"tag": "vip"}, facts(tags=frozenset()), False),
        ({"total_spent": {"gte": 250}}, facts(total_spent=Decimal("250.00")), True),
        ({"total_spent": {"gt": 250}}, facts(total_spent=Decimal("250.00")), False),
        ({"country": {"in": ["fr", "BE"]}}, facts(country="FR"), True),
        ({"country": "DE"}, facts(country="FR"), False),
        ({"score_drop": {"gte": 2}}, facts(previous_score=10, score=8), True),
        ({"score_drop": {"gte": 2}}, facts(previous_score=None), False),
        (
            {"days_since_last_order": {"gt": 30}},
            facts(last_order_at=NOW - timedelta(days=31)),
            True,
        ),
        ({"days_since_last_order": {"gt": 30}}, facts(last_order_at=None), False),
        (
            {"all": [{"category": "detractor"}, {"open_ticket": True}]},
            facts(score=3, open_ticket=True),
            True,
        ),
        ({"all": [{"category": "detractor"}, {"open_ticket": True}]}, facts(score=3), False),
        (
            {"any": [{"support_contacted": True}, {"orders_count": {"gt": 5}}]},
            facts(orders_count=6),
            True,
        ),
    ],
)
def test_custom_segment_rules_select_the_right_answers(
    rule: dict[str, Any], fact: ResponseFacts, member: bool
) -> None:
    assert ("mine" in segment_names(fact, custom("mine", rule))) is member


def test_custom_segment_label_defaults_to_its_name_in_words() -> None:
    segments = enabled_segments(custom("big_spenders", {"total_spent": {"gte": 500}}), NOW)
    assert segments[-1].label == "Big spenders"
    labelled = enabled_segments(custom("vip", {"tag": "vip"}, label="VIP customers"), NOW)
    assert labelled[-1].label == "VIP customers"


@pytest.mark.parametrize(
    ("customer_id", "email", "key"),
    [
        (42, "x@example.com", "customer:42"),
        (None, " Ann@Example.COM ", "email:ann@example.com"),
        (None, None, "response:7"),
    ],
)
def test_customer_key_prefers_shopify_customer_then_email(
    customer_id: int | None, email: str | None, key: str
) -> None:
    assert customer_key(customer_id, email, 7) == key


def test_only_facts_custom_rules_read_are_asked_of_the_store() -> None:
    from nps_engine.segments import optional_facts

    assert optional_facts(SegmentSettings()) == frozenset()
    assert optional_facts(custom("drop", {"score_drop": {"gte": 3}})) == {"previous_score"}
    both = custom("both", {"any": [{"open_ticket": True}, {"all": [{"score_drop": 2}]}]})
    assert optional_facts(both) == {"previous_score", "open_ticket"}
