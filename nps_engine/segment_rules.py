"""Custom segments written by the store owner in YAML, validated when the config loads.

A rule is a mapping of feature to condition, all of which must hold, or ``any:`` / ``all:`` lists of
such rules::

    big_spenders:      {total_spent: {gte: 500}}
    unhappy_french:    {all: [{country: {in: [FR, BE]}}, {category: detractor}]}
    vip_or_repeat:     {any: [{tag: vip}, {orders_count: {gt: 3}}]}

A bare value means ``eq`` (``{category: detractor}``); ``tag`` tests whether the customer carries
that tag (case-insensitive, as Shopify compares tags). Unknown features, operators a feature does
not support and values of the wrong type are refused with the path of the offending key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from nps_engine.records import Category


class RuleError(ValueError):
    """A custom segment rule that cannot be evaluated; ``path`` locates it inside the rule."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class Features(Protocol):
    """What a rule can look at, for one response of one customer."""

    @property
    def category(self) -> str: ...
    @property
    def score(self) -> int: ...
    @property
    def score_drop(self) -> int | None: ...
    @property
    def returned(self) -> bool: ...
    @property
    def support_contacted(self) -> bool: ...
    @property
    def open_ticket(self) -> bool: ...
    @property
    def orders_count(self) -> int: ...
    @property
    def total_spent(self) -> Decimal: ...
    @property
    def days_since_last_order(self) -> int | None: ...
    @property
    def tags(self) -> frozenset[str]: ...
    @property
    def country(self) -> str | None: ...


_NUMBER_OPS = frozenset({"eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in"})
_TEXT_OPS = frozenset({"eq", "ne", "in", "not_in"})
_BOOL_OPS = frozenset({"eq", "ne"})

# feature -> (kind, operators)
FEATURES: Mapping[str, tuple[str, frozenset[str]]] = {
    "category": ("category", _TEXT_OPS),
    "score": ("int", _NUMBER_OPS),
    "score_drop": ("int", _NUMBER_OPS),
    "returned": ("bool", _BOOL_OPS),
    "support_contacted": ("bool", _BOOL_OPS),
    "open_ticket": ("bool", _BOOL_OPS),
    "orders_count": ("int", _NUMBER_OPS),
    "total_spent": ("money", _NUMBER_OPS),
    "days_since_last_order": ("int", _NUMBER_OPS),
    "tag": ("tag", frozenset({"eq", "ne", "in", "not_in"})),
    "country": ("country", _TEXT_OPS),
}

Predicate = Callable[[Features], bool]


@dataclass(frozen=True)
class Rule:
    """A parsed rule: the source (for display) and the predicate."""

    source: Mapping[str, Any]
    predicate: Predicate

    def matches(self, features: Features) -> bool:
        return self.predicate(features)


SCORE_FEATURES = frozenset({"score", "category", "score_drop"})


def features_used(source: object) -> frozenset[str]:
    """The features a (valid) rule looks at, through any ``all:``/``any:`` nesting."""
    if isinstance(source, list):
        return frozenset().union(*(features_used(item) for item in source))
    if not isinstance(source, Mapping):
        return frozenset()
    used: set[str] = set()
    for key, value in source.items():
        used |= features_used(value) if key in ("all", "any") else {str(key)}
    return frozenset(used)


# ``all:``/``any:`` nesting a person writes is two or three levels; deeper is a mistake or an
# attack, and would exhaust Python's recursion when parsed or evaluated.
MAX_NESTING = 10


def parse_rule(source: object, path: str = "", depth: int = 0) -> Rule:
    if not isinstance(source, Mapping) or not source:
        raise RuleError(path, "a rule must be a non-empty mapping of feature to condition")
    if depth > MAX_NESTING:
        raise RuleError(path, f"'all'/'any' nested more than {MAX_NESTING} levels deep")
    return Rule(source, _parse_mapping(source, path, depth))


def _parse_mapping(source: Mapping[Any, Any], path: str, depth: int) -> Predicate:
    parts = [
        _parse_entry(str(key), value, _join(path, str(key)), depth) for key, value in source.items()
    ]
    return lambda features: all(part(features) for part in parts)


def _parse_entry(key: str, value: object, path: str, depth: int) -> Predicate:
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            raise RuleError(path, f"'{key}' needs a non-empty list of rules")
        parts = [
            parse_rule(item, f"{path}[{i}]", depth + 1).predicate for i, item in enumerate(value)
        ]
        if key == "all":
            return lambda features: all(part(features) for part in parts)
        return lambda features: any(part(features) for part in parts)
    if key not in FEATURES:
        known = ", ".join(sorted([*FEATURES, "all", "any"]))
        raise RuleError(path, f"unknown feature '{key}' (known: {known})")
    conditions = value if isinstance(value, Mapping) else {"eq": value}
    if not conditions:
        raise RuleError(path, "empty condition")
    checks = [
        _parse_condition(key, str(op), operand, _join(path, str(op)))
        for op, operand in conditions.items()
    ]
    return lambda features: all(check(features) for check in checks)


def _parse_condition(feature: str, op: str, operand: object, path: str) -> Predicate:
    kind, allowed = FEATURES[feature]
    if op not in allowed:
        raise RuleError(
            path,
            f"operator '{op}' is not allowed for '{feature}' "
            f"(allowed: {', '.join(sorted(allowed))})",
        )
    if op in ("in", "not_in"):
        if not isinstance(operand, list) or not operand:
            raise RuleError(path, f"'{op}' needs a non-empty list")
        values = frozenset(_coerce(kind, item, f"{path}[{i}]") for i, item in enumerate(operand))
        if kind == "tag":
            return _tag_set_check(values, negate=op == "not_in")
        get = _getter(feature)
        if op == "in":
            return lambda features: get(features) in values
        return lambda features: get(features) not in values
    value = _coerce(kind, operand, path)
    if kind == "tag":
        return _tag_set_check(frozenset({value}), negate=op == "ne")
    return _compare(_getter(feature), op, value)


def _tag_set_check(tags: frozenset[Any], *, negate: bool) -> Predicate:
    def has_any(features: Features) -> bool:
        return not tags.isdisjoint(features.tags)

    if negate:
        return lambda features: not has_any(features)
    return has_any


def _compare(get: Callable[[Features], Any], op: str, value: Any) -> Predicate:
    def check(features: Features) -> bool:
        actual = get(features)
        if op == "eq":
            return bool(actual == value)
        if op == "ne":
            return bool(actual != value)
        if actual is None:  # an unknown quantity is neither above nor below anything
            return False
        if op == "lt":
            return bool(actual < value)
        if op == "lte":
            return bool(actual <= value)
        if op == "gt":
            return bool(actual > value)
        return bool(actual >= value)

    return check


def _getter(feature: str) -> Callable[[Features], Any]:
    return lambda features: getattr(features, feature)


def _coerce(kind: str, value: object, path: str) -> Any:
    if kind == "category":
        try:
            return Category(str(value).lower()).value
        except ValueError:
            raise RuleError(
                path, f"'{value}' is not a category (detractor, passive, promoter)"
            ) from None
    if kind == "bool":
        if not isinstance(value, bool):
            raise RuleError(path, f"expected true or false, got {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise RuleError(path, f"expected a whole number, got {value!r}")
        return value
    if kind == "money":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise RuleError(path, f"expected an amount, got {value!r}")
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise RuleError(path, f"expected an amount, got {_shown(value)}") from None
        if not amount.is_finite():  # NaN compares as an error, not as false
            raise RuleError(path, f"expected an amount, got {_shown(value)}")
        return amount
    if not isinstance(value, str) or not value.strip():
        raise RuleError(path, f"expected text, got {value!r}")
    if kind == "country":
        return value.strip().upper()
    return value.strip().lower()  # tag


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
