"""The subset schema (``schema.graphql``) with its scalars and resolvers bound.

Scalars serialize as Shopify's do: ``DateTime`` as ISO 8601 UTC with ``Z`` and whole seconds,
``UnsignedInt64`` as a JSON string (``"13"``), ``Decimal`` money as Ruby's BigDecimal prints it
(``"55.0"``, ``"83.42"``). Every field of every object type built from world records must have
a resolver; :func:`build` refuses to start otherwise, so a field added to the SDL cannot
silently answer null.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from graphql import GraphQLObjectType, GraphQLScalarType, GraphQLSchema, build_schema

from sandbox.shopify.bulk import BULK_OPERATION, MUTATION_BULK, QUERY_BULK, BulkJob
from sandbox.shopify.discounts import code_discount_node_by_code, discount_code_basic_create
from sandbox.shopify.objects import OBJECT_RESOLVERS, TYPE_NAMES
from sandbox.shopify.roots import QUERY_ROOT
from sandbox.shopify.tags import tags_add, tags_remove

SCHEMA_PATH = Path(__file__).with_name("schema.graphql")


def datetime_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def decimal_text(value: Decimal) -> str:
    text = format(Decimal(value).normalize(), "f")
    return text if "." in text else f"{text}.0"


def _parse_datetime(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


SCALARS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "DateTime": (datetime_text, _parse_datetime),
    "UnsignedInt64": (lambda v: str(int(v)), lambda v: int(v)),
    "Decimal": (decimal_text, lambda v: Decimal(str(v))),
    "URL": (str, str),
}

ROOTS: dict[str, dict[str, Callable[..., Any]]] = {
    "QueryRoot": {
        **QUERY_ROOT,
        **QUERY_BULK,
        "codeDiscountNodeByCode": code_discount_node_by_code,
    },
    "Mutation": {
        "tagsAdd": tags_add,
        "tagsRemove": tags_remove,
        "discountCodeBasicCreate": discount_code_basic_create,
        **MUTATION_BULK,
    },
    "BulkOperation": BULK_OPERATION,
    **OBJECT_RESOLVERS,
}


@lru_cache(maxsize=1)
def build() -> GraphQLSchema:
    schema = build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))
    for name, (serialize, parse_value) in SCALARS.items():
        scalar = schema.type_map[name]
        assert isinstance(scalar, GraphQLScalarType)
        # graphql-core 3.3 reads coerce_*; 3.2 reads serialize/parse_value: set both.
        setattr(scalar, "serialize", serialize)  # noqa: B010 - replaces a static method
        setattr(scalar, "coerce_output_value", serialize)  # noqa: B010
        setattr(scalar, "parse_value", parse_value)  # noqa: B010
        setattr(scalar, "coerce_input_value", parse_value)  # noqa: B010
    for type_name, resolvers in ROOTS.items():
        _bind(schema, type_name, resolvers)
    node = schema.type_map["Node"]
    node.resolve_type = _type_name  # type: ignore[attr-defined]
    return schema


def _bind(schema: GraphQLSchema, type_name: str, resolvers: dict[str, Callable[..., Any]]) -> None:
    object_type = schema.type_map[type_name]
    assert isinstance(object_type, GraphQLObjectType)
    missing = set(object_type.fields) - set(resolvers)
    extra = set(resolvers) - set(object_type.fields)
    if missing or extra:
        raise RuntimeError(
            f"{type_name}: no resolver for {sorted(missing)}, unknown {sorted(extra)}"
        )
    for field_name, resolver in resolvers.items():
        object_type.fields[field_name].resolve = resolver


def _type_name(value: Any, _info: Any, _abstract: Any) -> str | None:
    if isinstance(value, BulkJob):
        return "BulkOperation"
    return TYPE_NAMES.get(type(value))
