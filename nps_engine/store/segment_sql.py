"""The segments as SQL conditions over one answer's facts, so the database counts them for the
report (``report_tallies``) and tells the feed and its exports which answer is in which
(``feed_query``) instead of handing every answer to Python. The one place segments become SQL.

Each condition must hold for exactly the answers :mod:`nps_engine.segments` (and the custom rules
of :mod:`nps_engine.segment_rules`) accept; a test compares the two on a generated store. Three
things keep them equal:

* Every atom is NULL-safe (``coalesce(..., false)``): Python's ``None != 3`` is true and
  ``None < 3`` is false, where SQL would say "unknown" and lose the answer under ``NOT``.
* Whole days are never computed in SQL. ``(now - last_order).days > 60`` is the same as
  ``last_order <= now - 61 days``, so the bound is computed in Python and compared as a time.
* Support contact ("a ticket within 90 days before the answer") subtracts whole hours, not
  calendar days: PostgreSQL adds days in the session's time zone, which moves across DST.

A rule that reads an imported answer's ``property`` is not translated (JSON objects of any shape,
values of any type stringified the Python way): :func:`segment_conditions` returns ``None`` for it
and the caller counts that one segment in Python.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from math import floor
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.sql import FromClause, Subquery
from sqlalchemy.types import Integer

from nps_engine.records import SurveyKind
from nps_engine.segment_rules import features_used
from nps_engine.segments import SegmentChoices
from nps_engine.store.fact_query import _last_order
from nps_engine.store.fact_sql import fact_columns
from nps_engine.store.fact_sql import never_null as _never_null
from nps_engine.store.models import Customer, Order
from nps_engine.store.types import Money, UtcDateTime

Condition = ColumnElement[bool]

_customers = Customer.__table__
_SCORES = {"detractor": (0, 6), "passive": (7, 8), "promoter": (9, 10)}


class AnswerFacts:
    """The facts of each answer, as the columns of one subquery (``row``, see
    :func:`fact_columns`), each computed once per answer however many segments read it.

    The report's row (:meth:`of_report`) is its counted answers; the feed's
    (``feed_query``) is every answer it shows. Either is fenced with ``OFFSET 0`` so neither
    database folds it into the query that reads the conditions, which would copy each correlated
    subquery into every segment that reads it.
    """

    def __init__(self, row: Subquery, dialect: str) -> None:
        self.row, self.dialect = row, dialect
        f = row.c
        self.score = f.score
        self.support: Condition = _never_null(f.support)
        self.last_order_at = f.last_order_at
        self.previous_score, self.surveyed_at = f.previous_score, f.surveyed_at
        self.orders_count, self.total_spent, self.country = f.orders_count, f.total_spent, f.country
        self.returned: Condition = _never_null(f.returned)
        self.open_ticket: Condition = _never_null(f.open_ticket)

    @classmethod
    def of_report(
        cls,
        store: str,
        kind: SurveyKind,
        answers: Subquery,
        dialect: str,
        *,
        needs: frozenset[str],
        support_window_days: int,
        joined: bool = False,
        last_order_when: LastOrderWhen | None = None,
    ) -> AnswerFacts:
        """The report's counted answers: ``answers`` (``fact_query.period_answers``) joined to
        the answer's customer and surveyed order, keeping only the answers the report counts.
        ``joined``: ``answers`` carries the customer's columns already
        (``period_answers(joined=True)``, PostgreSQL), and the surveyed order is a LATERAL seek.
        ``last_order_when``: the last order is looked up only for the answers it tells something
        about (:func:`last_order_when`), NULL for the others."""
        a, c = answers.c, _customers.c
        surveyed: FromClause = Order.__table__.alias("surveyed")
        customers: FromClause = _customers
        counted = select().select_from(answers)
        if joined:
            customers = answers
            # The surveyed order, a seek on its key per counted answer. Joined under the window
            # (or here, where PostgreSQL's plan hashed all of them), every range's query hashed
            # all the store's orders: the range cannot narrow them, as an imported answer's
            # order may be another customer's. LATERAL with LIMIT 1 keeps it a seek. At 1M
            # answers in two ranges: 4.0-4.8 s against 5.0-6.5 s (interleaved, load 3.7).
            o = Order.__table__.alias("surveyed_order")
            surveyed = (
                select(o.c.returned, o.c.refunded, o.c.created_at)
                .where(o.c.store == store, o.c.id == a.order_id)
                .limit(1)
                .lateral("surveyed")
            )
            counted = counted.outerjoin(surveyed, true())
        else:
            s = surveyed.c
            counted = counted.outerjoin(
                _customers, and_(c.store == store, c.id == a.customer_id)
            ).outerjoin(surveyed, and_(s.store == store, s.id == a.order_id))
        lazy = last_order_when is not None and "last_order_at" in needs
        if lazy:
            needs = needs - {"last_order_at"}
        columns: dict[str, Any] = {
            "month": a.month,
            "chosen": a.chosen,
            "month_latest": a.month_latest,
            **fact_columns(store, kind, answers, surveyed, needs, support_window_days, customers),
        }
        if lazy:
            columns["customer_id"] = a.customer_id
        row = (
            counted.add_columns(*(column.label(name) for name, column in columns.items()))
            .where(or_(a.chosen, a.month_latest))
            .offset(0)
            .subquery("counted")
        )
        if lazy:
            # One more fenced level: its guard reads the support contact computed below it
            # (written into the guard, its lookup would run a second time).
            assert last_order_when is not None
            f = row.c
            guard = last_order_when(_never_null(f.returned), _never_null(f.support), f.orders_count)
            kept = [column for column in f if column.name not in ("customer_id", "last_order_at")]
            last = case((guard, _last_order(store, row)), else_=null()).label("last_order_at")
            row = select(*kept, last).offset(0).subquery("counted_last_order")
        return cls(row, dialect)

    def tags_include(self, tags: frozenset[str]) -> Condition:
        """The customer carries one of ``tags`` (lowercase), as Shopify compares them."""
        column = self.row.c.tags
        if self.dialect == "postgresql":
            is_list = func.json_typeof(column) == "array"
            element = func.json_array_elements_text(column).table_valued("value")
        else:
            is_list = func.json_type(column) == "array"
            element = func.json_each(column).table_valued("value")
        found = exists(
            select(literal(1))
            .select_from(element)
            .where(func.lower(func.trim(element.c.value)).in_(sorted(tags)))
        )
        return _never_null(case((is_list, found), else_=false()))


def facts_needed(choices: SegmentChoices, usual_return_days: float | None) -> frozenset[str]:
    """The facts looked up by a subquery that the segments read (the rest is joined)."""
    used = frozenset().union(*(features_used(custom.rule) for custom in choices.custom))
    needs = {"previous_score"} if "score_drop" in used else set()
    needs |= {"open_ticket"} if "open_ticket" in used else set()
    churn = choices.churn_risk
    if "days_since_last_order" in used or (churn.enabled and usual_return_days is not None):
        needs.add("last_order_at")  # also tells whether an order followed the surveyed one
    return frozenset(needs)


LastOrderWhen = Callable[[Condition, Condition, Any], Condition]


def last_order_when(
    choices: SegmentChoices, usual_return_days: float | None
) -> LastOrderWhen | None:
    """When only the churn-risk segment reads the customer's last order: the answers whose
    last order can change the segment (neither returned nor a support contact, which are at
    risk anyway; a repeat buyer, for "more than twice the usual gap", or anyone while the usual
    gap is shorter than ``no_repeat_days``, for "no order after the surveyed one"), as a
    condition on (returned, support, orders_count). None when a custom rule reads it too.

    At 1M answers 44% of the report's answers need no last order: its lookup (a seek per answer,
    a fifth of the query) ran for all of them."""
    churn = choices.churn_risk
    used = frozenset().union(*(features_used(custom.rule) for custom in choices.custom))
    if "days_since_last_order" in used or not churn.enabled or usual_return_days is None:
        return None
    anyone = usual_return_days < churn.no_repeat_days

    def needed(returned: Condition, support: Condition, orders_count: Any) -> Condition:
        repeat: Condition = true() if anyone else orders_count >= 2
        return and_(not_(returned), not_(support), repeat)

    return needed


def segment_conditions(
    choices: SegmentChoices,
    facts: AnswerFacts,
    now: datetime,
    usual_return_days: float | None,
) -> list[Condition | None]:
    """One condition per segment of ``segments.enabled_segments`` (same order); ``None`` for a
    custom rule counted in Python instead."""
    conditions: list[Condition | None] = []
    support = facts.support
    if choices.support_contacted.enabled:
        conditions.append(support)
    if choices.returned.enabled:
        conditions.append(facts.returned)
    if choices.churn_risk.enabled:
        days = choices.churn_risk.no_repeat_days
        conditions.append(_churn_risk(facts, support, now, usual_return_days, days))
    for custom in choices.custom:
        conditions.append(rule_condition(custom.rule, _Features(facts, now, support)))
    return conditions


def segment_mask(conditions: Sequence[Condition | None]) -> ColumnElement[int]:
    """Bit i set when the answer is in segment i (of those with a condition)."""
    bits = [case((c, 1 << i), else_=0) for i, c in enumerate(conditions) if c is not None]
    total: ColumnElement[int] = literal(0, Integer) if not bits else bits[0]
    for bit in bits[1:]:
        total = total + bit
    return total


def _churn_risk(
    facts: AnswerFacts, support: Condition, now: datetime, usual: float | None, quiet_days: int
) -> Condition:
    """``segments.is_churn_risk`` in SQL (its docstring gives the rule)."""
    if usual is None:
        return or_(facts.returned, support)
    parts = [facts.returned, support]
    if usual < quiet_days:
        parts.append(_no_repeat_order(facts, _at(now - timedelta(days=quiet_days))))
    # whole days since the last order > 2 * usual  <=>  at least floor(2 * usual) + 1 days
    gone = _at(now - timedelta(days=floor(2 * usual) + 1))
    parts.append(_never_null(and_(facts.orders_count >= 2, facts.last_order_at <= gone)))
    return or_(*parts)


def _no_repeat_order(facts: AnswerFacts, before: Any) -> Condition:
    """``segments.no_repeat_order`` in SQL. "No order after the surveyed one" (its first
    order after it is NULL) is read from the latest order: both leave out cancelled orders, so
    none came after the surveyed order exactly when the latest is not after it, or there is
    none. One seek per answer rather than two (the report's row at a million answers spent a
    sixth of its time on the second)."""
    surveyed_at, last = facts.surveyed_at, facts.last_order_at
    none_after = or_(last.is_(None), last <= surveyed_at)
    return _never_null(
        case(
            (surveyed_at.is_not(None), and_(none_after, surveyed_at < before)),
            (last.is_not(None), last < before),
            else_=false(),
        )
    )


class _Features:
    """What a custom rule reads, as SQL."""

    def __init__(self, facts: AnswerFacts, now: datetime, support: Condition) -> None:
        self.facts, self.now, self.support = facts, now, support


def rule_condition(source: object, features: _Features) -> Condition | None:
    """A validated rule (``segment_rules.parse_rule`` accepted it) as a condition; ``None`` when
    part of it is counted in Python."""
    try:
        return _rule(source, features)
    except _NotInSql:
        return None


class _NotInSql(Exception):
    """This part of a rule is evaluated in Python."""


def _rule(source: object, features: _Features) -> Condition:
    assert isinstance(source, Mapping)
    return and_(*(_entry(str(key), value, features) for key, value in source.items()))


def _entry(key: str, value: object, features: _Features) -> Condition:
    if key in ("all", "any"):
        assert isinstance(value, list)
        parts = [_rule(item, features) for item in value]
        return and_(*parts) if key == "all" else or_(*parts)
    if key == "property":
        raise _NotInSql(key)
    conditions = value if isinstance(value, Mapping) else {"eq": value}
    return and_(*(_atom(key, str(op), operand, features) for op, operand in conditions.items()))


def _atom(feature: str, op: str, operand: object, features: _Features) -> Condition:
    values = operand if op in ("in", "not_in") else [operand]
    assert isinstance(values, list)
    negate = op in ("ne", "not_in")
    if op in ("eq", "ne", "in", "not_in"):
        if feature == "tag":
            held = features.facts.tags_include(frozenset(str(v).strip().lower() for v in values))
        else:
            held = _never_null(or_(*(_equals(feature, value, features) for value in values)))
        return not_(held) if negate else held
    return _never_null(_order(feature, op, operand, features))


def _equals(feature: str, value: object, features: _Features) -> Condition:
    facts = features.facts
    if feature == "category":
        low, high = _SCORES[str(value).lower()]
        return facts.score.between(low, high)
    if feature in ("returned", "support_contacted", "open_ticket"):
        flag = {
            "returned": facts.returned,
            "support_contacted": features.support,
            "open_ticket": facts.open_ticket,
        }[feature]
        return flag if value else not_(flag)
    if feature == "country":
        return func.upper(facts.country) == str(value).strip().upper()
    if feature == "days_since_last_order":
        return and_(
            _order(feature, "gte", value, features), _order(feature, "lt", value, features, 1)
        )
    equal: Condition = _number(feature, features) == _operand(feature, value)
    return equal


_COMPARE: dict[str, Callable[[Any, Any], Condition]] = {
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
}


def _order(feature: str, op: str, value: object, features: _Features, shift: int = 0) -> Condition:
    if feature != "days_since_last_order":
        return _COMPARE[op](_number(feature, features), _operand(feature, value))
    # Whole days d since the last order, as times: d >= n  <=>  last <= now - n days.
    assert isinstance(value, int)
    n = value + shift + (1 if op in ("gt", "lte") else 0)
    try:
        bound = _at(features.now - timedelta(days=n))
    except OverflowError:  # beyond year 1..9999: Python's datetimes cannot say it either
        raise _NotInSql(feature) from None
    last = features.facts.last_order_at
    held: Condition = last <= bound if op in ("gt", "gte") else last > bound
    return held


def _number(feature: str, features: _Features) -> Any:
    facts = features.facts
    if feature == "score":
        return facts.score
    if feature == "score_drop":
        return facts.previous_score - facts.score
    if feature == "orders_count":
        return facts.orders_count
    if feature == "total_spent":
        return facts.total_spent
    raise _NotInSql(feature)


def _operand(feature: str, value: object) -> Any:
    if feature == "total_spent":
        return literal(Decimal(str(value)), Money)
    return value


def _at(moment: datetime) -> Any:
    return literal(moment, UtcDateTime())
