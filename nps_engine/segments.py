"""Who is in which segment: the built-in ones (contacted support, returned, churn risk) and the
store owner's custom ones, over the facts of one answer. Pure: facts and ``now`` in, answers out.

A segment compared with the rest must not be defined by the answer being measured: the built-in
churn-risk segment looks at behaviour only (returns, support, not coming back), and a custom
segment whose rule reads the score is marked not ``comparable``.

What depends on the moment the report (or tag push) runs is computed against one ``now`` per run:
the loader binds it into every :class:`ResponseFacts` as ``as_of`` (read by
``days_since_last_order``, which custom rules see as a plain feature), and the churn rule takes it
as an argument (:func:`enabled_segments` passes the same value). Nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from nps_engine.records import Category, SurveyKind, normalise_email
from nps_engine.segment_rules import SCORE_FEATURES, Rule, features_used

_CATEGORY_OF_SCORE = (Category.DETRACTOR,) * 7 + (Category.PASSIVE,) * 2 + (Category.PROMOTER,) * 2


def customer_key(customer_id: int | None, email: str | None, response_id: int = 0) -> str:
    """Whose answer this is: the Shopify customer, else the normalised email (imports of people
    who never became Shopify customers), else the answer itself."""
    if customer_id is not None:
        return f"customer:{customer_id}"
    address = normalise_email(email)
    if address is not None:
        return f"email:{address}"
    return f"response:{response_id}"


@dataclass(frozen=True, slots=True)
class ResponseFacts:
    """One answer of one customer, with everything a segment rule can look at.

    Satisfies :class:`nps_engine.segment_rules.Features`. ``tags`` are lowercase (Shopify compares
    tags case-insensitively). ``previous_score`` is the same customer's previous answer of the same
    kind, at any time before this one.
    """

    customer_key: str
    customer_id: int | None
    email: str | None
    score: int
    kind: SurveyKind
    responded_at: datetime
    as_of: datetime
    support_window_days: int = 90
    previous_score: int | None = None
    returned: bool = False
    last_ticket_before_response_at: datetime | None = None
    open_ticket: bool = False
    orders_count: int = 0
    total_spent: Decimal = Decimal(0)
    last_order_at: datetime | None = None
    surveyed_order_at: datetime | None = None
    next_order_after_surveyed_at: datetime | None = None
    tags: frozenset[str] = frozenset()
    country: str | None = None
    # The stored answer's id: breaks ties between two answers of one customer at the same instant.
    response_id: int = 0

    @property
    def category(self) -> Category:
        return _CATEGORY_OF_SCORE[self.score]

    @property
    def score_drop(self) -> int | None:
        """Points lost since the previous answer (negative when the score went up)."""
        return None if self.previous_score is None else self.previous_score - self.score

    @property
    def support_contacted(self) -> bool:
        """A ticket opened within ``support_window_days`` before the answer (boundary included)."""
        ticket_at = self.last_ticket_before_response_at
        if ticket_at is None:
            return False
        return self.responded_at - ticket_at <= timedelta(days=self.support_window_days)

    @property
    def days_since_last_order(self) -> int | None:
        if self.last_order_at is None:
            return None
        return (self.as_of - self.last_order_at).days


class ChurnRules(Protocol):
    """``segments.churn_risk`` (``nps_engine.config.settings.ChurnRiskSegment`` is one)."""

    @property
    def max_score(self) -> int: ...
    @property
    def drop_points(self) -> int: ...
    @property
    def passive_with_return_or_support(self) -> bool: ...
    @property
    def no_repeat_days(self) -> int: ...


class Switch(Protocol):
    @property
    def enabled(self) -> bool: ...


class ChurnSegment(ChurnRules, Switch, Protocol): ...


class CustomDefinition(Protocol):
    """One ``segments.custom`` entry, its rule already validated and parsed."""

    @property
    def name(self) -> str: ...
    @property
    def label(self) -> str | None: ...
    @property
    def rule(self) -> object:
        """The rule as written in YAML (to see which features it reads)."""
        ...

    @property
    def parsed(self) -> Rule: ...


class SegmentChoices(Protocol):
    """The ``segments:`` settings as frozen values; the engine never imports the config."""

    @property
    def support_contacted(self) -> Switch: ...
    @property
    def returned(self) -> Switch: ...
    @property
    def churn_risk(self) -> ChurnSegment: ...
    @property
    def custom(self) -> Sequence[CustomDefinition]: ...


def is_churn_risk(facts: ResponseFacts, rules: ChurnRules, habits: StoreHabits) -> bool:
    """The report's churn-risk segment: behaviour only, never the score being measured.

    A customer is at risk when they returned or had a refund on the surveyed order, contacted
    support within the support window before answering, or went quiet: no new order within
    ``no_repeat_days`` of the surveyed one (of the latest order when the answer names none) while
    the store's repeat customers usually come back sooner, or a repeat buyer (two orders or more)
    whose last order is more than twice the store's usual gap between orders ago (recency and
    frequency). The score-based rule stays for the agents' tag only
    (:func:`nps_engine.tag_plan.is_churn_risk_for_tag`).
    """
    if facts.returned or facts.support_contacted:
        return True
    usual = habits.usual_return_days
    if usual is None:  # no repeat customers yet: not coming back says nothing
        return False
    limit = timedelta(days=rules.no_repeat_days)
    if usual < rules.no_repeat_days and no_repeat_order(facts, limit, habits.as_of):
        return True
    days = facts.days_since_last_order
    return facts.orders_count >= 2 and days is not None and days > 2 * usual


@dataclass(frozen=True, slots=True)
class StoreHabits:
    """What "usual" means in this store: the median days between a customer's consecutive orders
    (None when no customer ordered twice), as of the report's ``now``."""

    usual_return_days: float | None
    as_of: datetime


def no_repeat_order(facts: ResponseFacts, limit: timedelta, now: datetime) -> bool:
    """No new order for more than ``limit`` after the surveyed one (after the latest known order
    when the answer names no order, e.g. an import)."""
    if facts.surveyed_order_at is not None:
        if facts.next_order_after_surveyed_at is not None:
            return False
        return now - facts.surveyed_order_at > limit
    if facts.last_order_at is not None:
        return now - facts.last_order_at > limit
    return False


@dataclass(frozen=True, slots=True)
class Segment:
    """A named group of answers the report compares with everyone else."""

    name: str
    label: str
    matches: Callable[[ResponseFacts], bool]
    # False when the rule looks at the score (or its category or drop): such a segment's NPS is
    # low or high by construction, so it is shown but never tested against the rest.
    comparable: bool = True


BUILT_IN_LABELS = {
    "support_contacted": "Customers who contacted support",
    "returned": "Customers who returned an order",
    "churn_risk": "Customers at risk of churning",
}


def enabled_segments(
    settings: SegmentChoices, now: datetime, usual_return_days: float | None = None
) -> tuple[Segment, ...]:
    """The segments the configuration switches on, built-in ones first, in a stable order.

    ``usual_return_days`` is the store's median gap between orders
    (``nps_engine.store.order_habits``); without it the churn-risk segment does not use
    "went quiet" (only returns and support contacts).
    """
    segments: list[Segment] = []
    if settings.support_contacted.enabled:
        segments.append(_built_in("support_contacted", _contacted_support))
    if settings.returned.enabled:
        segments.append(_built_in("returned", _returned))
    if settings.churn_risk.enabled:
        rules, habits = settings.churn_risk, StoreHabits(usual_return_days, now)
        segments.append(_built_in("churn_risk", lambda facts: is_churn_risk(facts, rules, habits)))
    segments.extend(custom_segment(custom) for custom in settings.custom)
    return tuple(segments)


# facts only custom rules read, by the rule feature that reads them
_OPTIONAL_FACT_OF_FEATURE = {"score_drop": "previous_score", "open_ticket": "open_ticket"}


def optional_facts(settings: SegmentChoices) -> frozenset[str]:
    """The facts beyond the built-in segments' that the custom rules read (the previous score for
    ``score_drop``, ``open_ticket``), so the store looks up only those."""
    used = frozenset().union(*(features_used(custom.rule) for custom in settings.custom))
    return frozenset(fact for feature, fact in _OPTIONAL_FACT_OF_FEATURE.items() if feature in used)


def custom_segment(custom: CustomDefinition) -> Segment:
    rule = custom.parsed
    comparable = SCORE_FEATURES.isdisjoint(features_used(custom.rule))
    return Segment(custom.name, custom.label or _label_of(custom.name), rule.matches, comparable)


def _built_in(name: str, matches: Callable[[ResponseFacts], bool]) -> Segment:
    return Segment(name, BUILT_IN_LABELS[name], matches)


def _contacted_support(facts: ResponseFacts) -> bool:
    return facts.support_contacted


def _returned(facts: ResponseFacts) -> bool:
    return facts.returned


def _label_of(name: str) -> str:
    return name.replace("_", " ").capitalize()
