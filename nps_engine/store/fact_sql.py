"""Each answer's facts as SQL columns (the customer, the surveyed order, the support contact and
the lookups segments need), shared by the report's counted row and the feed's rows
(``segment_sql.AnswerFacts`` reads them by name)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, false, func, null, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import FromClause
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import Boolean, DateTime

from nps_engine.records import SurveyKind
from nps_engine.store.fact_query import (
    _last_order,
    _last_ticket,
    _open_ticket,
    _previous_score,
)
from nps_engine.store.models import Customer

_customers = Customer.__table__


def never_null(condition: Any) -> ColumnElement[bool]:
    return func.coalesce(condition, false(), type_=Boolean)


def fact_columns(
    store: str,
    kind: SurveyKind | ColumnElement[str],
    answers: FromClause,
    surveyed: FromClause,
    needs: frozenset[str],
    support_window_days: int,
    customers: FromClause = _customers,
) -> dict[str, Any]:
    """What :class:`AnswerFacts` reads, by name, for rows of ``answers`` (columns ``id``,
    ``customer_id``, ``email``, ``order_id``, ``score``, ``responded_at``) joined to their
    ``customers`` row (by default the table) and their ``surveyed`` order. ``kind``: the
    answers' survey kind, or the column holding it (the score drop compares answers of one kind).
    Subqueries of facts no segment reads (``needs``, see :func:`facts_needed`) are left out."""
    a, c, s = answers.c, customers.c, surveyed.c
    columns: dict[str, Any] = {
        "score": a.score,
        "responded_at": a.responded_at,
        "returned": or_(never_null(s.returned), never_null(s.refunded)),
        "surveyed_at": s.created_at,
        "orders_count": func.coalesce(c.orders_count, 0),
        "total_spent": func.coalesce(c.total_spent, 0),
        "tags": c.tags,
        "country": c.country,
        # a ticket (not our follow-up) opened within the window before the answer
        "support": never_null(
            _last_ticket(store, answers) >= HoursBefore(a.responded_at, support_window_days * 24)
        ),
    }
    lookups: dict[str, Callable[[], Any]] = {
        "last_order_at": lambda: _last_order(store, answers),
        "previous_score": lambda: _previous_score(store, kind, answers),
        "open_ticket": lambda: never_null(_open_ticket(store, answers)),
    }
    return columns | {
        name: lookup() if name in needs else null() for name, lookup in lookups.items()
    }


class HoursBefore(FunctionElement[datetime]):
    """``moment - hours`` for a stored time, the same instant on both databases."""

    type = DateTime(timezone=True)
    inherit_cache = True

    def __init__(self, moment: Any, hours: int) -> None:
        self.hours = hours
        super().__init__(moment)


@compiles(HoursBefore, "sqlite")
def _hours_before_sqlite(element: HoursBefore, compiler: Any, **kw: Any) -> str:
    # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff'; its date functions keep milliseconds only, so
    # the microseconds are carried over as text (hours move neither).
    # (and parsing the fraction rounds to the nearest millisecond, which may carry a second).
    (moment,) = element.clauses
    text = compiler.process(moment, **kw)
    hours = int(element.hours)
    if hours % 24 == 0:
        # Whole days (the support window) move the date alone: date() of its first ten
        # characters, the time of day carried over as text. strftime() of the whole time was
        # 6% of an export's SQL (100,000 answers in sqlite3, best of two: 2.10 -> 1.97 s of CPU).
        return f"(date(substr({text}, 1, 10), '-{hours // 24} days') || substr({text}, 11))"
    shift = f"'-{hours} hours'"
    return f"(strftime('%Y-%m-%d %H:%M:%S', substr({text}, 1, 19), {shift}) || substr({text}, 20))"


@compiles(HoursBefore)
def _hours_before(element: HoursBefore, compiler: Any, **kw: Any) -> str:
    (moment,) = element.clauses
    text = compiler.process(moment, **kw)
    return f"({text} - interval '{int(element.hours)} hours')"
