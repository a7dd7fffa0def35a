"""Disjoint ranges of customer ids, so the report's counts can run as a few queries at once.

The report counts each customer's latest answer (a window over each customer's answers, see
``fact_query.period_answers``). Every answer of one customer falls in one range, so the window
reads the same latest answers in each range's query as in one query over all of them, and the
ranges' grouped counts add up to the whole. Each range's query runs on a connection of its own:
PostgreSQL runs the window and the correlated lookups in one server process per query, so two
ranges use two cores. The report does not split a SQLite store: SQLite runs a query in the
thread that asks for it and, in its default build, takes one process-wide lock on every memory
allocation, so two queries in two threads of one process took longer than one after the other
(``jobs.report_job.store_report``).

The answers without a Shopify customer (counted per email, else alone) all go to the first range.
"""

from __future__ import annotations

import os
from itertools import pairwise

from sqlalchemy import ColumnElement, and_, func, or_, select, true

from nps_engine.store.database import Database
from nps_engine.store.models import Response

# (first id in the range, first id after it); None: no bound. The first range, (None, ...), also
# holds the answers without a customer.
CustomerRange = tuple[int | None, int | None]
EVERYONE: tuple[CustomerRange, ...] = ((None, None),)

_responses = Response.__table__


def cores() -> int:
    """The cores this process may run on (``os.cpu_count`` counts the machine's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def customer_ranges(database: Database, store: str, parts: int) -> tuple[CustomerRange, ...]:
    """``parts`` ranges holding about as many of the store's answers each (at most ``parts``:
    fewer when many answers share a customer id), by the ids at the quantiles of the index on
    ``(store, customer_id, ...)``: a count and a skip along that index, no sort."""
    if parts < 2:
        return EVERYONE
    r = _responses.c
    ids = select(r.customer_id).where(r.store == store, r.customer_id.is_not(None))
    bounds: list[int] = []
    with database.engine.connect() as connection:
        total = connection.scalar(select(func.count()).select_from(ids.subquery())) or 0
        for part in range(1, parts):
            at = ids.order_by(r.customer_id).offset(total * part // parts).limit(1)
            bound = connection.scalar(at)
            if bound is not None and (not bounds or bound > bounds[-1]):
                bounds.append(int(bound))
    edges: list[int | None] = [None, *bounds, None]
    return tuple(pairwise(edges))


def within(customers: CustomerRange) -> ColumnElement[bool]:
    """The answers of ``responses`` whose customer falls in ``customers``."""
    customer_id = _responses.c.customer_id
    in_range = id_within(customer_id, customers)
    return or_(customer_id.is_(None), in_range) if customers[0] is None else in_range


def id_within(column: ColumnElement[int], customers: CustomerRange) -> ColumnElement[bool]:
    """``column`` (a customer id) falls in ``customers``; NULL for a NULL id."""
    low, high = customers
    above = true() if low is None else column >= low
    below = true() if high is None else column < high
    return and_(above, below)
