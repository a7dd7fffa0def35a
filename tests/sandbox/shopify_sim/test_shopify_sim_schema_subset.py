"""The simulator's schema is a faithful subset of Shopify's real Admin schema (2026-01)."""

from __future__ import annotations

import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    print_ast,
)
from reference_data import shopify_admin_schema

from sandbox.shopify.schema import SCHEMA_PATH, build

SUBSET = build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))
BUILTIN = {"String", "Int", "Float", "Boolean", "ID"}


def _default(argument: GraphQLArgument) -> str | None:
    """The default as written in the SDL (graphql-core 3.3 keeps it out of ``default_value``)."""
    node = argument.ast_node
    return print_ast(node.default_value) if node is not None and node.default_value else None


def reference() -> GraphQLSchema:
    return shopify_admin_schema()


SUBSET_TYPES = sorted(
    name for name in SUBSET.type_map if not name.startswith("__") and name not in BUILTIN
)
OBJECTS = [n for n in SUBSET_TYPES if isinstance(SUBSET.type_map[n], GraphQLObjectType)]
WITH_FIELDS = [
    n
    for n in SUBSET_TYPES
    if isinstance(SUBSET.type_map[n], GraphQLObjectType | GraphQLInterfaceType)
]
ENUMS = [n for n in SUBSET_TYPES if isinstance(SUBSET.type_map[n], GraphQLEnumType)]
SERVED = ("Order", "Customer", "Fulfillment", "Refund", "Return", "BulkOperation", "QueryRoot")


@pytest.mark.parametrize("name", SUBSET_TYPES)
def test_every_type_exists_in_the_real_schema_with_the_same_kind(name: str) -> None:
    real = reference().type_map.get(name)
    assert real is not None, f"{name} is not a type of the real Admin schema"
    assert type(real) is type(SUBSET.type_map[name])


@pytest.mark.parametrize(
    "name",
    [
        n
        for n in SUBSET_TYPES
        if isinstance(SUBSET.type_map[n], GraphQLObjectType | GraphQLInterfaceType)
    ],
)
def test_every_field_has_the_real_type_arguments_and_defaults(name: str) -> None:
    ours = SUBSET.type_map[name]
    real = reference().type_map[name]
    assert isinstance(ours, GraphQLObjectType | GraphQLInterfaceType)
    assert isinstance(real, GraphQLObjectType | GraphQLInterfaceType)
    for field_name, field in ours.fields.items():
        assert field_name in real.fields, f"{name}.{field_name} does not exist in Shopify's schema"
        real_field = real.fields[field_name]
        assert str(field.type) == str(real_field.type), f"{name}.{field_name}"
        assert field.deprecation_reason == real_field.deprecation_reason, f"{name}.{field_name}"
        for arg_name, arg in field.args.items():
            real_arg = real_field.args.get(arg_name)
            assert real_arg is not None, f"{name}.{field_name}({arg_name}:) is not a real argument"
            assert str(arg.type) == str(real_arg.type), f"{name}.{field_name}({arg_name}:)"
            assert _default(arg) == _default(real_arg), f"{name}.{field_name}({arg_name}:)"
        # Leaving out a required argument would accept queries Shopify rejects.
        required = {a for a, v in real_field.args.items() if str(v.type).endswith("!")}
        assert required <= set(field.args), f"{name}.{field_name} misses required arguments"


@pytest.mark.parametrize(
    "name", [n for n in SUBSET_TYPES if isinstance(SUBSET.type_map[n], GraphQLEnumType)]
)
def test_enums_have_exactly_the_real_values(name: str) -> None:
    ours = SUBSET.type_map[name]
    real = reference().type_map[name]
    assert isinstance(ours, GraphQLEnumType)
    assert isinstance(real, GraphQLEnumType)
    assert set(ours.values) == set(real.values)


@pytest.mark.parametrize(
    "name", [n for n in SUBSET_TYPES if isinstance(SUBSET.type_map[n], GraphQLObjectType)]
)
def test_implemented_interfaces_are_real_ones(name: str) -> None:
    ours = SUBSET.type_map[name]
    real = reference().type_map[name]
    assert isinstance(ours, GraphQLObjectType)
    assert isinstance(real, GraphQLObjectType)
    assert {i.name for i in ours.interfaces} <= {i.name for i in real.interfaces}


def test_defaults_are_compared_as_written() -> None:
    orders = SUBSET.type_map["QueryRoot"]
    assert isinstance(orders, GraphQLObjectType)
    assert _default(orders.fields["orders"].args["sortKey"]) == "PROCESSED_AT"
    assert _default(orders.fields["orders"].args["first"]) is None


def test_the_roots_are_shopifys_root_type_names() -> None:
    assert SUBSET.query_type is not None
    assert SUBSET.query_type.name == "QueryRoot"
    assert SUBSET.mutation_type is not None
    assert SUBSET.mutation_type.name == "Mutation"


def test_every_field_has_a_resolver_once_bound() -> None:
    schema = build()
    for name in (
        "Order",
        "Customer",
        "Fulfillment",
        "Refund",
        "Return",
        "BulkOperation",
        "QueryRoot",
    ):
        object_type = schema.type_map[name]
        assert isinstance(object_type, GraphQLObjectType)
        assert all(field.resolve is not None for field in object_type.fields.values()), name
