"""Loading what the report and the tag push need from the store.

The SQL lives in :mod:`nps_engine.store.fact_query` (its columns named once, read by name in
:mod:`nps_engine.store.facts_reader`); this module runs it and hands back typed values: the
answers the report is about with their facts, each month's counted answers with theirs, and the
overall monthly tallies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    String,
    bindparam,
    false,
    func,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import distinct_on

from nps_engine.records import SurveyKind
from nps_engine.report import Basis, Month
from nps_engine.segments import ResponseFacts
from nps_engine.statistics import Tally
from nps_engine.store.database import Database
from nps_engine.store.fact_query import (
    OPTIONAL_FACTS,
    answer_columns,
    period_answers,
    tuned_for_report,
    who_answered,
    with_facts,
)
from nps_engine.store.facts_reader import FactsReader
from nps_engine.store.models import Response

_responses = Response.__table__
_BATCH = 20_000
_FLAGS = ("month", "month_latest", "chosen")  # read by name, as the facts are
_SLOT_OF_SCORE = (2,) * 7 + (1,) * 2 + (0,) * 2  # Tally order: promoters, passives, detractors


@dataclass(frozen=True, slots=True)
class ReportInputs:
    """The reported answers with their facts, each month's tally on the same basis, and each
    month's counted answers with their facts (for the segments' monthly trends)."""

    facts: list[ResponseFacts]
    trend: dict[str, Tally]
    month_facts: dict[str, list[ResponseFacts]] = field(default_factory=dict)


def load_report_inputs(
    database: Database,
    store: str,
    *,
    months: Sequence[Month],
    kind: SurveyKind,
    basis: Basis,
    now: datetime,
    support_window_days: int,
    optional: frozenset[str] = OPTIONAL_FACTS,
    among: ColumnElement[bool] | None = None,
) -> ReportInputs:
    """Answers of ``kind`` from the first month's start to the last month's end.

    ``optional``: the facts of ``fact_query.OPTIONAL_FACTS`` the segments read (default: all).
    ``among``: a condition on ``responses`` the answers must meet (e.g. having a comment theme),
    tested before any fact is looked up.
    """
    if not months:
        return ReportInputs([], {})
    answers = period_answers(store, kind, months, basis)
    if among is not None:
        answers = answers.where(among)
    period = answers.subquery("period_answers")
    wanted = or_(period.c.chosen, period.c.month_latest) if basis == "customers" else true()
    query = with_facts(store, kind, period, optional).where(wanted)
    trend = {month.label: [0, 0, 0] for month in months}
    month_facts: dict[str, list[ResponseFacts]] = {month.label: [] for month in months}
    facts = []
    with database.engine.connect() as connection:
        tuned_for_report(connection)
        result = connection.execution_options(yield_per=_BATCH).execute(query)
        columns = list(result.keys())
        reader = FactsReader(kind, now, support_window_days, columns)
        flags = itemgetter(*(columns.index(name) for name in _FLAGS))
        for row in result:
            fact = reader.facts(row)
            month, month_latest, chosen = flags(row)
            if month_latest:
                trend[month][_SLOT_OF_SCORE[fact.score]] += 1
                month_facts[month].append(fact)
            if chosen:
                facts.append(fact)
    tallies = {label: Tally(*counts) for label, counts in trend.items()}
    return ReportInputs(facts, tallies, month_facts)


def latest_facts_per_customer(
    database: Database,
    store: str,
    now: datetime,
    *,
    kind: SurveyKind = SurveyKind.TRANSACTIONAL,
    support_window_days: int = 90,
) -> list[ResponseFacts]:
    """Each Shopify customer's latest answer of ``kind`` (any time), for the tag push."""
    with database.engine.connect() as connection:
        tuned_for_report(connection)
        result = connection.execution_options(yield_per=_BATCH).execute(
            _latest_facts_query(kind), {_STORE.key: store}
        )
        reader = FactsReader(kind, now, support_window_days, list(result.keys()))
        return [reader.facts(row) for row in result]


_STORE = bindparam("facts_store", type_=String())


@lru_cache(maxsize=4)
def _latest_facts_query(kind: SurveyKind) -> Select[Any]:
    """Built once per kind, the store a parameter: building it (a dozen correlated subqueries)
    cost a worker more CPU than running it, twice in every tag push of every store."""
    r = _responses.c
    latest = (
        select(
            *answer_columns(),
            func.row_number()
            .over(partition_by=r.customer_id, order_by=(r.responded_at.desc(), r.id.desc()))
            .label("recency"),
        )
        .where(r.store == _STORE, r.kind == kind.value, r.customer_id.is_not(None))
        .subquery("latest")
    )
    answers = select(
        latest,
        null().label("month"),
        (latest.c.recency == 1).label("chosen"),
        false().label("month_latest"),
    ).subquery("answers")
    return with_facts(_STORE, kind, answers).where(answers.c.chosen)


def period_tally(
    database: Database, store: str, *, span: Month, kind: SurveyKind, basis: Basis
) -> Tally:
    """The tally of one span (e.g. the same dates a year earlier) on ``basis``, counted in the
    database: only three numbers come back."""
    if basis == "customers" and database.dialect == "sqlite":
        scores = _latest_scores(store, kind, span).subquery("span_scores")
    elif basis == "customers":
        scores = _latest_scores_distinct_on(store, kind, span).subquery("span_scores")
    else:
        answers = period_answers(store, kind, [span], basis).subquery("span_answers")
        scores = select(answers.c.score).where(answers.c.chosen).subquery("span_scores")
    query = select(scores.c.score, func.count()).group_by(scores.c.score)
    counts = [0, 0, 0]
    with database.engine.connect() as connection:
        tuned_for_report(connection)
        for score, count in connection.execute(query):
            counts[_SLOT_OF_SCORE[score]] += count
    return Tally(*counts)


def _latest_scores_distinct_on(store: str, kind: SurveyKind, span: Month) -> Select[Any]:
    """The score of each customer's latest answer in ``span``, on PostgreSQL: ``DISTINCT ON``
    the terms that group one customer's answers, newest first, keeps the first row of each
    group as it sorts, where the window numbered every row and then filtered them (the
    year-before span of the 1M bench, 625,000 answers: 1.9-2.2 s against 3.0 s in EXPLAIN
    ANALYZE at load 3)."""
    r = _responses.c
    who = who_answered()
    return (
        select(r.score)
        .where(r.store == store, r.kind == kind.value)
        .where(r.responded_at >= span.start, r.responded_at < span.end)
        .ext(distinct_on(*who))
        .order_by(*who, r.responded_at.desc(), r.id.desc())
    )


def _latest_scores(store: str, kind: SurveyKind, span: Month) -> CompoundSelect[Any]:
    """The score of each customer's latest answer in ``span``, on SQLite, grouped rather than
    windowed: SQLite sorts every answer of the span for a window (625,000 at a million answers:
    2 to 4 s) and groups them faster (1.2 s). A group's bare ``score`` is that of the answer
    holding its ``max()`` (https://www.sqlite.org/lang_select.html#bareagg): the greatest time,
    then id, as the window orders them (times are stored as fixed-width text, ids zero-padded).
    Answers without a Shopify customer, grouped by email or alone, keep the window."""
    r = _responses.c
    newest = func.max(func.printf("%s%020d", r.responded_at, r.id)).label("newest")
    customers = (
        select(r.score, newest)
        .where(r.store == store, r.kind == kind.value, r.customer_id.is_not(None))
        .where(r.responded_at >= span.start, r.responded_at < span.end)
        .group_by(r.customer_id)
        .subquery("customers_latest")
    )
    others = (
        period_answers(store, kind, [span], "customers")
        .where(r.customer_id.is_(None))
        .subquery("others_latest")
    )
    # reading ``newest`` keeps the max() a later SQLite could drop as an unused column
    latest = select(customers.c.score).where(customers.c.newest.is_not(None))
    return union_all(latest, select(others.c.score).where(others.c.chosen))
