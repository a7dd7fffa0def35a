"""Shopify's search syntax for ``orders(query:)`` and ``customers(query:)``.

https://shopify.dev/docs/api/usage/search-syntax: terms are ``field:value``; AND is implied
between terms; ``OR`` joins alternatives; ``NOT term`` or ``-term`` negates; comparators ``:>``,
``:>=``, ``:<``, ``:<=``; "Date values must be a string surrounded by quotes" (single or double).
A date without a time means that whole day (``updated_at:2024-05-01``), as the schema says of
``customers(query: "updated_at:...")``. Unknown fields match everything and come back as a
warning in ``extensions.search`` (what Shopify does instead of failing the query).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

_TERM = re.compile(r"(?P<neg>-)?(?P<field>[a-z_]+):(?P<op>>=|<=|>|<)?(?P<value>.*)", re.S)


@dataclass(frozen=True, slots=True)
class Term:
    field: str
    op: str  # "=", ">", ">=", "<", "<="
    value: str
    negated: bool = False


@dataclass(frozen=True, slots=True)
class SearchQuery:
    alternatives: tuple[tuple[Term, ...], ...]  # OR of ANDs
    free_text: tuple[str, ...] = ()

    @property
    def fields(self) -> set[str]:
        return {term.field for group in self.alternatives for term in group}


def parse_search(text: str | None) -> SearchQuery:
    """Terms of a search string; an empty or missing string matches everything."""
    if not text or not text.strip():
        return SearchQuery(((),))
    try:
        words = shlex.split(text, posix=True)
    except ValueError:
        words = text.split()
    groups: list[list[Term]] = [[]]
    free: list[str] = []
    negate_next = False
    for word in words:
        if word == "OR":
            groups.append([])
        elif word == "AND":
            continue
        elif word == "NOT":
            negate_next = True
        else:
            term = _term(word, negate_next)
            negate_next = False
            if term is None:
                free.append(word)
            else:
                groups[-1].append(term)
    return SearchQuery(tuple(tuple(g) for g in groups if g) or ((),), tuple(free))


def _term(word: str, negated: bool) -> Term | None:
    found = _TERM.fullmatch(word)
    if found is None:
        return None
    value = found["value"].strip().strip("'\"")
    return Term(found["field"], found["op"] or "=", value, negated or bool(found["neg"]))


Getter = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class SearchFields:
    """How one resource answers each search field: a getter and the kind of value it returns."""

    getters: Mapping[str, tuple[str, Getter]]  # field -> ("time"|"int"|"text"|"tags"|"bool", get)

    def unknown(self, query: SearchQuery) -> list[str]:
        return sorted(query.fields - set(self.getters))

    def predicate(self, query: SearchQuery) -> Callable[[Any], bool]:
        """A function telling whether a record matches ``query`` (compiled once per request)."""
        checks = [[self._check(t) for t in group] for group in query.alternatives]

        def matches(record: Any) -> bool:
            return any(all(check(record) for check in group) for group in checks)

        return matches

    def _check(self, term: Term) -> Callable[[Any], bool]:
        if term.field not in self.getters:
            return lambda record: True
        kind, get = self.getters[term.field]
        compare = _comparison(kind, term)
        if term.negated:
            return lambda record: not compare(get(record))
        return lambda record: compare(get(record))


def _comparison(kind: str, term: Term) -> Callable[[Any], bool]:
    if kind == "time":
        return _time_comparison(term)
    if kind == "int":
        wanted = int(re.sub(r"\D", "", term.value) or 0)
        return lambda value: value is not None and _ordered(term.op, value, wanted)
    if kind == "tags":
        wanted_tags = {t.strip().lower() for t in term.value.split(",")}
        if term.field == "tag_not":
            return lambda tags: not wanted_tags & {t.lower() for t in tags}
        return lambda tags: bool(wanted_tags & {t.lower() for t in tags})
    if kind == "bool":
        truth = term.value.lower() == "true"
        return lambda value: bool(value) == truth
    needle = term.value.lower()
    if needle.endswith("*"):
        return lambda value: value is not None and str(value).lower().startswith(needle[:-1])
    return lambda value: value is not None and str(value).lower() == needle


def _time_comparison(term: Term) -> Callable[[Any], bool]:
    """Compare against the span a value names: one instant, or a whole day for a bare date."""
    start, end = _time_span(term.value)
    if term.op == ">":
        return lambda value: value is not None and value >= end
    if term.op == ">=":
        return lambda value: value is not None and value >= start
    if term.op == "<":
        return lambda value: value is not None and value < start
    if term.op == "<=":
        return lambda value: value is not None and value < end
    return lambda value: value is not None and start <= value < end


def _time_span(text: str) -> tuple[datetime, datetime]:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        return day, day + timedelta(days=1)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        # Shopify ignores a value it cannot read as a date rather than failing the query.
        return datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment, moment + timedelta(microseconds=1)


def _ordered(op: str, value: Any, bound: Any) -> bool:
    if op == ">":
        return bool(value > bound)
    if op == ">=":
        return bool(value >= bound)
    if op == "<":
        return bool(value < bound)
    if op == "<=":
        return bool(value <= bound)
    return bool(value == bound)
