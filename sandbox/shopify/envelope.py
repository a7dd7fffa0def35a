"""Reading a GraphQL request body and wrapping the answer as Shopify does.

The envelope of a successful execution is ``errors`` (when a field failed), ``data`` and
``extensions.cost`` (plus ``extensions.search`` warnings); variables that do not coerce are
answered in graphql-ruby's words, as Shopify's server is built on it.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    validate,
)

from sandbox.loopback import Request
from sandbox.shopify import errors


def parse_and_validate(schema: GraphQLSchema, query: str) -> DocumentNode | dict[str, Any]:
    try:
        document = parse(query)
    except GraphQLError as error:
        return {"errors": [errors.parse_error(error)]}
    problems = validate(schema, document)
    if problems:
        return {"errors": [errors.validation_error(e, document) for e in problems]}
    return document


def request_body(request: Request) -> dict[str, Any] | None:
    try:
        body = request.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("query"), str) or not body["query"]:
        return None
    return body


def pick_operation(
    document: DocumentNode, name: str | None
) -> OperationDefinitionNode | dict[str, Any]:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        named = [o for o in operations if o.name and o.name.value == name]
        return named[0] if named else {"errors": [{"message": f'No operation named "{name}"'}]}
    if len(operations) > 1:
        return {"errors": [{"message": "An operation name is required"}]}
    return operations[0]


def variable_error(error: GraphQLError, provided: dict[str, Any]) -> dict[str, Any]:
    """graphql-ruby's shape: ``Variable $first of type Int! was provided invalid value``."""
    found = re.search(r"Variable '\$(\w+)'(?: of (?:non-null )?type '([^']+)')?", error.message)
    name, type_name = (found.group(1), found.group(2)) if found else ("", None)
    body: dict[str, Any] = {
        "message": f"Variable ${name} of type {type_name or '?'} was provided invalid value",
        "extensions": {
            "value": provided.get(name),
            "problems": [{"path": [], "explanation": error.message}],
        },
    }
    if error.locations:
        body["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    return body


def envelope(
    result: Any,
    requested: int,
    actual: int,
    status: dict[str, Any],
    search_warnings: list[dict[str, Any]],
) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    payload["data"] = result.data
    extensions: dict[str, Any] = {"cost": errors.cost(requested, actual, status)}
    if search_warnings:
        extensions["search"] = search_warnings
    payload["extensions"] = extensions
    return payload


def is_throttled(payload: dict[str, Any]) -> bool:
    return any(
        (e.get("extensions") or {}).get("code") == "THROTTLED" for e in payload.get("errors", ())
    )
