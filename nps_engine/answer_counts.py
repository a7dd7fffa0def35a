"""Counting answers: each customer's latest (or every answer), everyone's tally and each
segment's, for the period and for each month. Pure; the hot loop of a million-answer store.

On the customers basis each month keeps each customer's latest answer *in that month*, so a
customer who answered in March and in June counts once in each month.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from nps_engine.periods import Month, Period
from nps_engine.records import Category, SurveyKind
from nps_engine.segments import ResponseFacts, Segment
from nps_engine.statistics import Tally

Basis = Literal["customers", "responses"]
BASES: tuple[Basis, ...] = ("customers", "responses")


@dataclass(frozen=True, slots=True)
class Tallies:
    """Everyone's tally and each segment's, for the period and for each month (counted in the
    database by ``nps_engine.store.report_tallies``, or here from facts)."""

    overall: Tally
    segments: tuple[Tally, ...]
    months: Mapping[str, tuple[Tally, ...]] = field(default_factory=dict)


def tally_answers(
    facts: Iterable[ResponseFacts],
    *,
    basis: Basis,
    kind: SurveyKind,
    period: Period,
    segments: Sequence[Segment],
    month_facts: Mapping[str, Sequence[ResponseFacts]] | None = None,
) -> Tallies:
    """The period's tallies, and each month's segment tallies from ``month_facts`` (already on
    the basis: each month's counted answers)."""
    counted = _tallies(_on_basis(in_scope(facts, kind, period), basis), segments)
    months = {
        label: _tallies(answers, segments).segments
        for label, answers in (month_facts or {}).items()
    }
    return Tallies(counted.overall, counted.segments, months)


def in_scope(
    facts: Iterable[ResponseFacts], kind: SurveyKind, period: Period
) -> Iterable[ResponseFacts]:
    start, end = period.start, period.end
    return (f for f in facts if f.kind == kind and start <= f.responded_at < end)


def _on_basis(facts: Iterable[ResponseFacts], basis: Basis) -> Iterable[ResponseFacts]:
    if basis == "responses":
        return facts
    latest: dict[str, ResponseFacts] = {}
    for fact in facts:
        kept = latest.get(fact.customer_key)
        if kept is None or (fact.responded_at, fact.response_id) > (
            kept.responded_at,
            kept.response_id,
        ):
            latest[fact.customer_key] = fact
    return latest.values()


_COUNTS = {Category.PROMOTER: 0, Category.PASSIVE: 1, Category.DETRACTOR: 2}


def _tallies(facts: Iterable[ResponseFacts], segments: Sequence[Segment]) -> Tallies:
    """Everyone's tally and each segment's, in one pass (the hot loop of a million-answer store)."""
    overall = [0, 0, 0]
    inside = [[0, 0, 0] for _ in segments]
    checks = [(segment.matches, counts) for segment, counts in zip(segments, inside, strict=True)]
    for fact in facts:
        slot = _COUNTS[fact.category]
        overall[slot] += 1
        for matches, counts in checks:
            if matches(fact):
                counts[slot] += 1
    return Tallies(Tally(*overall), tuple(Tally(*counts) for counts in inside))


def monthly_facts(
    facts: Iterable[ResponseFacts], months: Sequence[Month], basis: Basis
) -> dict[str, list[ResponseFacts]]:
    """Each month's counted answers (on the customers basis, each customer's latest of the month)
    from answers of one kind (small stores, tests)."""
    answers = list(facts)
    return {
        month.label: list(
            _on_basis([f for f in answers if month.start <= f.responded_at < month.end], basis)
        )
        for month in months
    }


def monthly_tallies(
    facts: Iterable[ResponseFacts], months: Sequence[Month], basis: Basis
) -> dict[str, Tally]:
    """Each month's tally from answers of one kind (small stores, tests).

    ``nps_engine.store.report_facts.load_report_inputs`` computes the same in SQL (a test keeps
    the two in step).
    """
    return {
        label: Tally.of_scores(f.score for f in answers)
        for label, answers in monthly_facts(facts, months, basis).items()
    }
