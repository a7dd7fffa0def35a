"""Who gets a survey: every rule of docs/architecture.md section 4, at its boundaries, counted
by reason."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nps_engine.config.settings import QuietHours, SurveySettings
from nps_engine.eligibility import (
    Audience,
    PastInvite,
    SentInvite,
    SkipReason,
    due_relationship_surveys,
    due_reminders,
    eligible_orders,
    in_quiet_hours,
    relationship_slot_start,
)
from nps_engine.records import Customer, Order, SuppressionReason, SurveyKind

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SURVEY = SurveySettings()  # delay 7, fallback 10, max age 30, throttle 90


def customer(id_: int = 1, email: str | None = "ann@example.com", **kw: object) -> Customer:
    return Customer(id=id_, email=email, orders_count=1, **kw)  # type: ignore[arg-type]


def order(id_: int = 100, customer_id: int | None = 1, **kw: object) -> Order:
    values: dict[str, object] = {
        "delivered_at": NOW - 8 * DAY,
        "fulfilled_at": NOW - 10 * DAY,
        "email": None,
    }
    values.update(kw)
    return Order(
        id=id_,
        name=f"#{id_}",
        customer_id=customer_id,
        created_at=NOW - 20 * DAY,
        updated_at=NOW - 8 * DAY,
        **values,  # type: ignore[arg-type]
    )


def audience(*customers: Customer, **kw: object) -> Audience:
    values: dict[str, object] = {"suppressions": {}, "past_invites": ()}
    values.update(kw)
    return Audience(customers={c.id: c for c in customers}, **values)  # type: ignore[arg-type]


def past(
    order_id: int | None = 99, customer_id: int = 1, ago: float = 10, **kw: object
) -> PastInvite:
    values: dict[str, object] = {"kind": SurveyKind.TRANSACTIONAL, "email": "ann@example.com"}
    values.update(kw)
    return PastInvite(
        order_id=order_id,
        customer_id=customer_id,
        mailed_at=NOW - ago * DAY,
        **values,  # type: ignore[arg-type]
    )


def only_reason(result_skipped: object) -> SkipReason:
    assert isinstance(result_skipped, dict)
    ((reason, count),) = result_skipped.items()
    assert count == 1
    return reason


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"delivered_at": NOW - 7 * DAY}, None),
        ({"delivered_at": NOW - 7 * DAY + timedelta(seconds=1)}, SkipReason.NOT_DUE_YET),
        ({"delivered_at": NOW - 30 * DAY}, None),
        ({"delivered_at": NOW - 30 * DAY - timedelta(seconds=1)}, SkipReason.TOO_OLD),
        ({"delivered_at": None, "fulfilled_at": NOW - 10 * DAY}, None),
        ({"delivered_at": None, "fulfilled_at": NOW - 9 * DAY}, SkipReason.NOT_DUE_YET),
        ({"delivered_at": None, "fulfilled_at": NOW - 31 * DAY}, SkipReason.TOO_OLD),
        # A delivery date wins over the fulfilment fallback, even when fulfilment is older.
        ({"delivered_at": NOW - 2 * DAY, "fulfilled_at": NOW - 12 * DAY}, SkipReason.NOT_DUE_YET),
        ({"delivered_at": None, "fulfilled_at": None}, SkipReason.NOT_FULFILLED),
        ({"cancelled_at": NOW - 9 * DAY}, SkipReason.CANCELLED),
        ({"returned": True, "refunded": True}, None),
        ({"customer_id": None}, SkipReason.NO_CUSTOMER),
        ({"customer_id": 555}, SkipReason.NO_CUSTOMER),
    ],
    ids=[
        "delivered-exactly-7-days-ago-is-due",
        "delivered-one-second-short-of-7-days",
        "delivered-exactly-30-days-ago-is-due",
        "delivered-just-over-30-days-ago",
        "no-delivery-date-fulfilled-exactly-10-days-ago",
        "no-delivery-date-fulfilled-9-days-ago",
        "no-delivery-date-fulfilled-31-days-ago",
        "delivery-date-wins-over-fulfilment",
        "not-fulfilled",
        "cancelled",
        "returned-orders-are-surveyed",
        "order-without-customer",
        "customer-not-synced",
    ],
)
def test_order_rules(fields: dict[str, object], reason: SkipReason | None) -> None:
    result = eligible_orders([order(**fields)], audience(customer()), SURVEY, NOW)
    if reason is None:
        assert [d.order.id for d in result.due if d.order] == [100]
        assert result.skipped == {}
    else:
        assert result.due == ()
        assert only_reason(result.skipped) is reason


@pytest.mark.parametrize(
    ("the_customer", "extra", "reason"),
    [
        (customer(email=None), {}, SkipReason.NO_EMAIL),
        (customer(email="  "), {}, SkipReason.NO_EMAIL),
        (
            customer(),
            {"suppressions": {"ann@example.com": SuppressionReason.UNSUBSCRIBED}},
            SkipReason.UNSUBSCRIBED,
        ),
        (
            customer(email="ANN@Example.com "),
            {"suppressions": {"ann@example.com": SuppressionReason.BOUNCED}},
            SkipReason.BOUNCED,
        ),
        (
            customer(),
            {"suppressions": {"ann@example.com": SuppressionReason.REDACTED}},
            SkipReason.REDACTED,
        ),
        (customer(), {"redacted_customers": frozenset({1})}, SkipReason.REDACTED),
        (customer(), {"past_invites": (past(ago=89),)}, SkipReason.THROTTLED),
        (customer(), {"past_invites": (past(ago=90),)}, None),
        (customer(), {"past_invites": (past(customer_id=2, ago=5),)}, SkipReason.THROTTLED),
        (
            customer(),
            {"past_invites": (past(ago=5, kind=SurveyKind.RELATIONSHIP, order_id=None),)},
            SkipReason.THROTTLED,
        ),
        (customer(), {"past_invites": (past(order_id=100, ago=400),)}, SkipReason.ALREADY_SURVEYED),
        (
            customer(),
            {
                "past_invites": (
                    PastInvite(SurveyKind.TRANSACTIONAL, 99, 1, "ann@example.com", None),
                )
            },
            None,
        ),
        (
            customer(),
            {
                "past_invites": (
                    PastInvite(SurveyKind.TRANSACTIONAL, 100, 1, "ann@example.com", None),
                )
            },
            SkipReason.ALREADY_SURVEYED,
        ),
    ],
    ids=[
        "no-email",
        "blank-email",
        "unsubscribed",
        "bounced-matches-normalised-address",
        "suppressed-as-redacted",
        "customer-redacted",
        "surveyed-89-days-ago-is-throttled",
        "surveyed-exactly-90-days-ago-is-not",
        "same-address-under-another-customer-is-throttled",
        "relationship-survey-also-throttles",
        "one-survey-per-order-ever",
        "an-invite-never-mailed-does-not-throttle",
        "an-invite-never-mailed-still-blocks-its-order",
    ],
)
def test_customer_rules(
    the_customer: Customer, extra: dict[str, object], reason: SkipReason | None
) -> None:
    result = eligible_orders([order()], audience(the_customer, **extra), SURVEY, NOW)
    if reason is None:
        assert len(result.due) == 1
    else:
        assert result.due == ()
        assert only_reason(result.skipped) is reason


def test_order_email_is_used_when_the_customer_has_none() -> None:
    result = eligible_orders(
        [order(email="Bob@Example.com")], audience(customer(email=None)), SURVEY, NOW
    )
    assert [d.email for d in result.due] == ["bob@example.com"]


@pytest.mark.parametrize(
    ("state", "due"),
    [("subscribed", True), ("not_subscribed", False), ("unsubscribed", False), (None, False)],
)
def test_marketing_consent_when_required(state: str | None, due: bool) -> None:
    survey = SurveySettings(require_marketing_consent=True)
    result = eligible_orders([order()], audience(customer(marketing_state=state)), survey, NOW)
    assert bool(result.due) is due
    if not due:
        assert only_reason(result.skipped) is SkipReason.NO_CONSENT


def test_consent_is_not_required_by_default() -> None:
    assert eligible_orders([order()], audience(customer(marketing_state=None)), SURVEY, NOW).due


def test_two_orders_of_one_customer_get_one_survey_for_the_older_delivery() -> None:
    orders = [order(101, delivered_at=NOW - 8 * DAY), order(102, delivered_at=NOW - 20 * DAY)]
    result = eligible_orders(orders, audience(customer()), SURVEY, NOW)
    assert [d.order.id for d in result.due if d.order] == [102]
    assert result.skipped == {SkipReason.THROTTLED: 1}


def test_max_per_run_keeps_the_oldest_deliveries() -> None:
    customers = [customer(i, email=f"c{i}@example.com") for i in range(1, 6)]
    orders = [order(100 + i, customer_id=i, delivered_at=NOW - (8 + i) * DAY) for i in range(1, 6)]
    result = eligible_orders(orders, audience(*customers), SurveySettings(max_per_run=2), NOW)
    assert [d.order.id for d in result.due if d.order] == [105, 104]
    assert result.skipped == {SkipReason.OVER_LIMIT: 3}


PARIS = ZoneInfo("Europe/Paris")
QUIET = QuietHours(start=time(21), end=time(8))


@pytest.mark.parametrize(
    ("utc_moment", "quiet"),
    [
        (datetime(2026, 1, 15, 19, 59, tzinfo=UTC), False),  # 20:59 in Paris (UTC+1 in winter)
        (datetime(2026, 1, 15, 20, 0, tzinfo=UTC), True),  # 21:00 Paris
        (datetime(2026, 1, 16, 6, 59, tzinfo=UTC), True),  # 07:59 Paris
        (datetime(2026, 1, 16, 7, 0, tzinfo=UTC), False),  # 08:00 Paris
        (datetime(2026, 7, 15, 19, 0, tzinfo=UTC), True),  # 21:00 Paris (UTC+2 in summer)
        (datetime(2026, 7, 15, 6, 0, tzinfo=UTC), False),  # 08:00 Paris in summer
    ],
)
def test_quiet_hours_follow_the_store_time_zone(utc_moment: datetime, quiet: bool) -> None:
    assert in_quiet_hours(utc_moment, QUIET, PARIS) is quiet


def test_daytime_quiet_window_does_not_wrap() -> None:
    lunch = QuietHours(start=time(12), end=time(14))
    assert in_quiet_hours(datetime(2026, 1, 1, 12, 30, tzinfo=UTC), lunch, UTC)
    assert not in_quiet_hours(datetime(2026, 1, 1, 23, 0, tzinfo=UTC), lunch, UTC)


def test_nothing_is_due_in_quiet_hours_and_the_skip_is_counted() -> None:
    survey = SurveySettings(quiet_hours=QUIET)
    night = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)  # 23:30 in Paris
    result = eligible_orders(
        [order(delivered_at=night - 8 * DAY)], audience(customer()), survey, night, PARIS
    )
    assert result.due == ()
    assert result.skipped == {SkipReason.QUIET_HOURS: 1}


def test_summary_reads_like_the_cli_line() -> None:
    customers = [customer(1), customer(2, email=None), customer(3, email="x@example.com")]
    orders = [order(1, 1), order(2, 2), order(3, 3), order(4, 3, delivered_at=NOW - 9 * DAY)]
    result = eligible_orders(orders, audience(*customers), SURVEY, NOW)
    assert result.summary() == "2 due, skipped: 1 no email, 1 throttled"
    early = eligible_orders(
        [*orders, order(5, 3, delivered_at=NOW - DAY)], audience(*customers), SURVEY, NOW
    )
    assert early.summary() == "2 due, skipped: 1 no email, 1 throttled (1 not due yet)"
    assert eligible_orders([], audience(), SURVEY, NOW).summary() == "0 due"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 6), st.integers(0, 40), st.booleans()), min_size=0, max_size=25
    ),
    st.integers(1, 10),
)
def test_every_order_is_either_due_or_counted_once_and_nobody_gets_two(
    rows: list[tuple[int, int, bool]], limit: int
) -> None:
    customers = [customer(i, email=f"c{i}@example.com") for i in range(1, 7)]
    orders = [
        order(
            1000 + n,
            customer_id=c,
            delivered_at=NOW - days * DAY,
            cancelled_at=NOW if cancelled else None,
        )
        for n, (c, days, cancelled) in enumerate(rows)
    ]
    result = eligible_orders(orders, audience(*customers), SurveySettings(max_per_run=limit), NOW)
    assert len(result.due) + sum(result.skipped.values()) == len(orders)
    assert len(result.due) <= limit
    assert len({d.customer.id for d in result.due}) == len(result.due)


# Relationship surveys -------------------------------------------------------------------------

RELATIONSHIP = SurveySettings.model_validate(
    {"relationship": {"enabled": True, "every_days": 30}, "throttle_days": 20}
)


def test_relationship_surveys_are_off_by_default() -> None:
    assert due_relationship_surveys(audience(customer()), SURVEY, NOW).due == ()


def test_relationship_slots_spread_customers_evenly_over_the_period() -> None:
    days = [relationship_slot_start(cid, 30, NOW) for cid in range(3000)]
    per_day: dict[datetime, int] = {}
    for day in days:
        per_day[day] = per_day.get(day, 0) + 1
    assert len(per_day) == 30
    assert max(per_day.values()) < 2 * min(per_day.values())
    assert all(NOW - 30 * DAY < day <= NOW for day in days)


def test_each_customer_gets_one_relationship_survey_per_period() -> None:
    people = [customer(i, email=f"c{i}@example.com") for i in range(1, 301)]
    invites: list[PastInvite] = []
    asked: dict[int, list[datetime]] = {}
    for day in range(90):
        now = NOW + day * DAY
        result = due_relationship_surveys(
            audience(*people, past_invites=tuple(invites)), RELATIONSHIP, now
        )
        for due in result.due:
            asked.setdefault(due.customer.id, []).append(now)
            invites.append(
                PastInvite(SurveyKind.RELATIONSHIP, None, due.customer.id, due.email, now)
            )
    # Daily runs: each customer is asked on their own day, every 30 days; only the first ask may
    # come up to a week late (a slot just before the feature was switched on).
    assert len(asked) == 300
    for moments in asked.values():
        gaps = [b - a for a, b in pairwise(moments)]
        assert len(moments) >= 3
        assert set(gaps[1:]) == {30 * DAY}
        assert 23 * DAY <= gaps[0] <= 30 * DAY


def test_relationship_survey_skips_customers_without_orders_and_suppressed_ones() -> None:
    people = [customer(i, email=f"c{i}@example.com") for i in range(1, 200)]
    people.append(Customer(id=999, email="none@example.com", orders_count=0))
    suppressed = {f"c{i}@example.com": SuppressionReason.UNSUBSCRIBED for i in range(1, 200)}
    seen: set[int] = set()
    for day in range(30):
        now = NOW + day * DAY
        result = due_relationship_surveys(
            audience(*people, suppressions=suppressed), RELATIONSHIP, now
        )
        seen |= {d.customer.id for d in result.due}
    assert seen == set()


# Reminders ------------------------------------------------------------------------------------

REMINDERS = SurveySettings.model_validate({"reminder": {"enabled": True, "after_days": 4}})


@pytest.mark.parametrize(
    ("sent_days_ago", "answered", "reminded", "due"),
    [
        (4, False, False, True),
        (3.9, False, False, False),
        (11, False, False, True),
        (11.1, False, False, False),
        (5, True, False, False),
        (5, False, True, False),
    ],
    ids=[
        "exactly-4-days",
        "not-yet",
        "a-week-late-still",
        "too-late",
        "answered",
        "already-reminded",
    ],
)
def test_single_reminder_after_n_days_without_answer(
    sent_days_ago: float, answered: bool, reminded: bool, due: bool
) -> None:
    invite = SentInvite(7, "ann@example.com", NOW - sent_days_ago * DAY, answered, reminded)
    ids, _ = due_reminders([invite], {}, REMINDERS, NOW)
    assert (ids == (7,)) is due


def test_reminders_are_off_by_default_and_respect_unsubscribes() -> None:
    invite = SentInvite(7, "ann@example.com", NOW - 5 * DAY, False, False)
    assert due_reminders([invite], {}, SURVEY, NOW) == ((), {})
    ids, skipped = due_reminders(
        [invite], {"ann@example.com": SuppressionReason.UNSUBSCRIBED}, REMINDERS, NOW
    )
    assert ids == ()
    assert skipped == {SkipReason.UNSUBSCRIBED: 1}
