"""The report's tallies counted in the database: one query, a few hundred rows back.

One pass over the period's answers (``fact_query.period_answers``: a window over each customer's
answers marks their latest of the period and of each month, read from the covering index
``ix_responses_report``) keeps only the answers the report counts; each gets its facts (a seek per
subquery, see ``fact_query``) and a bit per segment (``segment_sql``); the database then groups
them by month, "latest of the period", "latest of the month", score and segment bits, and counts.
Python adds up those groups into :class:`Tallies`: everyone's and each segment's tally for the
period and for each month, and each month's overall tally.

The numbers are those of ``answer_counts.tally_answers`` over ``report_facts.load_report_inputs``
(the engine that reads every counted answer into Python); a test compares them on a generated
store with every kind of segment. A custom rule ``segment_sql`` cannot translate (one reading an
imported answer's ``property``) is counted by that engine, for that segment alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, literal_column, select

from nps_engine.answer_counts import Tallies, tally_answers
from nps_engine.periods import Period
from nps_engine.records import SurveyKind
from nps_engine.report import Basis
from nps_engine.segments import Segment, SegmentChoices, enabled_segments, optional_facts
from nps_engine.statistics import Tally
from nps_engine.store.customer_ranges import EVERYONE, CustomerRange
from nps_engine.store.database import Database
from nps_engine.store.fact_query import period_answers, tuned_for_report
from nps_engine.store.report_facts import load_report_inputs
from nps_engine.store.segment_sql import (
    AnswerFacts,
    Condition,
    facts_needed,
    last_order_when,
    segment_conditions,
    segment_mask,
)

_SLOT_OF_SCORE = (2,) * 7 + (1,) * 2 + (0,) * 2  # Tally order: promoters, passives, detractors


@dataclass(frozen=True, slots=True)
class ReportQuestion:
    """What is counted: one store's answers of ``kind`` in ``period`` on ``basis``, with the
    segments of ``choices`` as of ``now``."""

    store: str
    period: Period
    kind: SurveyKind
    basis: Basis
    now: datetime
    choices: SegmentChoices
    support_window_days: int
    usual_return_days: float | None


def count_report(
    database: Database,
    question: ReportQuestion,
    *,
    ranges: Sequence[CustomerRange] = EVERYONE,
    pool: Executor | None = None,
) -> tuple[Tallies, dict[str, Tally]]:
    """The period's tallies (overall, per segment, per month and segment) and each month's
    overall tally, counted in the database.

    ``ranges``: disjoint customer ranges covering everyone (``customer_ranges``), one query
    each, their grouped counts added up; with ``pool``, the queries run on its threads, each on
    a connection of its own, at the same time."""
    built = [_grouped_query(database, question, customers) for customers in ranges]
    conditions = built[0][1]

    def count(query: Select[Any]) -> list[tuple[Any, ...]]:
        with database.engine.connect() as connection:
            tuned_for_report(connection)
            return [tuple(row) for row in connection.execute(query)]

    if pool is None:
        grouped = [count(query) for query, _ in built]
    else:
        pending = [pool.submit(count, query) for query, _ in built]
        grouped = [future.result() for future in pending]
    counts = _Counts([month.label for month in question.period.months()], len(conditions))
    for rows in grouped:
        for month, chosen, month_latest, score, bits, n in rows:
            counts.add(month, bool(chosen), bool(month_latest), score, int(bits), n)
    tallies, trend = counts.tallies()
    if any(condition is None for condition in conditions):
        tallies = _with_python_segments(database, question, conditions, tallies)
    return tallies, trend


def _grouped_query(
    database: Database, question: ReportQuestion, customers: CustomerRange
) -> tuple[Select[Any], list[Condition | None]]:
    """The counted answers of ``customers`` grouped by month, "latest of the period", "latest
    of the month", score and segment bits; and the segments' conditions (None: left to Python)."""
    months = question.period.months()
    dialect = database.engine.dialect.name
    # PostgreSQL joins each answer's customer under the window, where its parallel workers
    # share the work (``period_answers``); SQLite has none, and would look it up for answers
    # the window then leaves out.
    joined = dialect == "postgresql"
    answers = period_answers(
        question.store, question.kind, months, question.basis, joined=joined, customers=customers
    ).subquery("period_answers")
    needs = facts_needed(question.choices, question.usual_return_days)
    facts = AnswerFacts.of_report(
        question.store,
        question.kind,
        answers,
        dialect,
        needs=needs,
        support_window_days=question.support_window_days,
        joined=joined,
        last_order_when=last_order_when(question.choices, question.usual_return_days),
    )
    conditions = segment_conditions(
        question.choices, facts, question.now, question.usual_return_days
    )
    f = facts.row.c
    mask = segment_mask(conditions).label("segment_mask")
    query = (
        select(f.month, f.chosen, f.month_latest, f.score, mask, func.count())
        .select_from(facts.row)
        # by the output name: the mask is written (and computed) once
        .group_by(f.month, f.chosen, f.month_latest, f.score, literal_column("segment_mask"))
    )
    return query, list(conditions)


class _Counts:
    """The grouped rows added up: [promoters, passives, detractors] per scope."""

    def __init__(self, labels: Sequence[str], segments: int) -> None:
        self.segments = segments
        self.overall = [0, 0, 0]
        self.inside = [[0, 0, 0] for _ in range(segments)]
        self.trend = {label: [0, 0, 0] for label in labels}
        self.months = {label: [[0, 0, 0] for _ in range(segments)] for label in labels}

    def add(
        self, month: str, chosen: bool, month_latest: bool, score: int, bits: int, n: int
    ) -> None:
        slot = _SLOT_OF_SCORE[score]
        members = [i for i in range(self.segments) if bits >> i & 1]
        if chosen:
            self.overall[slot] += n
            for i in members:
                self.inside[i][slot] += n
        if month_latest:
            self.trend[month][slot] += n
            for i in members:
                self.months[month][i][slot] += n

    def tallies(self) -> tuple[Tallies, dict[str, Tally]]:
        months = {
            label: tuple(Tally(*counts) for counts in segments)
            for label, segments in self.months.items()
        }
        tallies = Tallies(
            Tally(*self.overall), tuple(Tally(*counts) for counts in self.inside), months
        )
        return tallies, {label: Tally(*counts) for label, counts in self.trend.items()}


def _with_python_segments(
    database: Database,
    question: ReportQuestion,
    conditions: Sequence[Condition | None],
    tallies: Tallies,
) -> Tallies:
    """The segments ``segment_sql`` left to Python, counted by the engine that reads each counted
    answer's facts, and put in their places."""
    segments = enabled_segments(question.choices, question.now, question.usual_return_days)
    apart = [i for i, condition in enumerate(conditions) if condition is None]
    chosen: list[Segment] = [segments[i] for i in apart]
    inputs = load_report_inputs(
        database,
        question.store,
        months=question.period.months(),
        kind=question.kind,
        basis=question.basis,
        now=question.now,
        support_window_days=question.support_window_days,
        optional=optional_facts(question.choices),
    )
    counted = tally_answers(
        inputs.facts,
        basis=question.basis,
        kind=question.kind,
        period=question.period,
        segments=chosen,
        month_facts=inputs.month_facts,
    )
    inside = list(tallies.segments)
    months = {label: list(segment_tallies) for label, segment_tallies in tallies.months.items()}
    for place, i in enumerate(apart):
        inside[i] = counted.segments[place]
        for label, segment_tallies in counted.months.items():
            months[label][i] = segment_tallies[place]
    return Tallies(tallies.overall, tuple(inside), {label: tuple(t) for label, t in months.items()})
