"""Every GraphQL document we send is valid against the real 2026-01 Admin schema."""

from __future__ import annotations

import pytest
from graphql import GraphQLSchema, parse, validate
from shopify_fakes import admin_schema

from connectors.shopify.access import ACCESS_CHECK
from connectors.shopify.bulk_tags import bulk_documents
from connectors.shopify.queries import all_documents, bulk_orders_query, tag_mutations

__all__ = ["admin_schema"]

DOCUMENTS = {
    **all_documents(),
    **bulk_documents(),
    "access_check": ACCESS_CHECK,
    "tags_many": tag_mutations(("tagsRemove", "tagsAdd") * 50),
    "bulk_quoted_search": bulk_orders_query('created_at:>\'2025-01-01\' AND tag:"a \\"b\\""'),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_the_document_is_valid_against_the_admin_schema(
    name: str, admin_schema: GraphQLSchema
) -> None:
    errors = validate(admin_schema, parse(DOCUMENTS[name]))
    assert not errors, [e.message for e in errors]


def test_no_document_ever_rewrites_a_customers_whole_tag_list() -> None:
    assert not any("customerUpdate" in document for document in DOCUMENTS.values())
