"""Who is in which segment: the built-in ones (contacted support, returned, churn risk) and the
store owner's custom ones, over the facts of one answer. Pure: facts and ``now`` in, answers out.

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
from nps_engine.segment_rules import Rule

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


def is_churn_risk(facts: ResponseFacts, rules: ChurnRules, now: datetime) -> bool:
    """docs/architecture.md, section 4: a low latest score, a drop since the previous answer, a
    passive who returned or contacted support, or no new order for more than ``no_repeat_days``
    after the surveyed one (after the latest known order when the answer names no order, e.g. an
    import)."""
    if facts.score <= rules.max_score:
        return True
    drop = facts.score_drop
    if drop is not None and drop >= rules.drop_points:
        return True
    if (
        rules.passive_with_return_or_support
        and facts.category is Category.PASSIVE
        and (facts.returned or facts.support_contacted)
    ):
        return True
    return _no_repeat_order(facts, timedelta(days=rules.no_repeat_days), now)


def _no_repeat_order(facts: ResponseFacts, limit: timedelta, now: datetime) -> bool:
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


BUILT_IN_LABELS = {
    "support_contacted": "Customers who contacted support",
    "returned": "Customers who returned an order",
    "churn_risk": "Customers at risk of churning",
}


def enabled_segments(settings: SegmentChoices, now: datetime) -> tuple[Segment, ...]:
    """The segments the configuration switches on, built-in ones first, in a stable order."""
    segments: list[Segment] = []
    if settings.support_contacted.enabled:
        segments.append(_built_in("support_contacted", _contacted_support))
    if settings.returned.enabled:
        segments.append(_built_in("returned", _returned))
    if settings.churn_risk.enabled:
        rules = settings.churn_risk
        segments.append(_built_in("churn_risk", lambda facts: is_churn_risk(facts, rules, now)))
    segments.extend(custom_segment(custom) for custom in settings.custom)
    return tuple(segments)


def custom_segment(custom: CustomDefinition) -> Segment:
    rule = custom.parsed
    return Segment(custom.name, custom.label or _label_of(custom.name), rule.matches)


def _built_in(name: str, matches: Callable[[ResponseFacts], bool]) -> Segment:
    return Segment(name, BUILT_IN_LABELS[name], matches)


def _contacted_support(facts: ResponseFacts) -> bool:
    return facts.support_contacted


def _returned(facts: ResponseFacts) -> bool:
    return facts.returned


def _label_of(name: str) -> str:
    return name.replace("_", " ").capitalize()
