"""Shopify's error bodies, copied in shape from recorded responses and the reference docs.

GraphQL-level problems are HTTP 200 with ``errors`` (shopify-notes.md section 3.1): THROTTLED
(no ``data``, ``actualQueryCost: null``), MAX_COST_EXCEEDED (no ``extensions``), validation errors
in graphql-ruby's wording (no ``extensions.cost``). Transport-level problems are real statuses
with Shopify's REST-style bodies: 401 for a bad token, 400 for a body without a query, 404.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
)

UNAUTHORIZED = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}
BAD_REQUEST = {"errors": {"query": "Required parameter missing or invalid"}}
NOT_FOUND = {"errors": "Not Found"}
RATE_LIMITED = {
    "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume "
    "uninterrupted service."
}


def throttled(requested: int, throttle_status: dict[str, Any]) -> dict[str, Any]:
    return {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                },
            }
        ],
        "extensions": {"cost": cost(requested, None, throttle_status)},
    }


def max_cost_exceeded(requested: int, limit: int) -> dict[str, Any]:
    message = (
        f"Query cost is {requested}, which exceeds the single query max cost limit ({limit}).\n\n"
        "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how "
        "the\ncost of a query is calculated.\n\nTo query larger amounts of data with fewer "
        "limits, bulk operations should be used instead.\nSee "
        "https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"
    )
    return {
        "errors": [
            {
                "message": message,
                "extensions": {
                    "code": "MAX_COST_EXCEEDED",
                    "cost": requested,
                    "maxCost": limit,
                    "documentation": "https://shopify.dev/api/usage/limits#rate-limits",
                },
            }
        ]
    }


def internal_error(request_id: str) -> dict[str, Any]:
    return {
        "errors": [
            {
                "message": "Internal error. Looks like something went wrong on our end.\n"
                f"Request ID: {request_id} (include this in support requests).",
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
            }
        ]
    }


def cost(requested: int, actual: int | None, throttle_status: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": throttle_status,
    }


def parse_error(error: GraphQLError) -> dict[str, Any]:
    """graphql-ruby's wording: ``Parse error on "}" (RCURLY) at [3, 1]``."""
    line, column = (
        (error.locations[0].line, error.locations[0].column) if error.locations else (1, 1)
    )
    found = re.search(r"found (.+?)\.?$", error.message)
    token = found.group(1).strip("'") if found else "end of file"
    return {
        "message": f'Parse error on "{token}" at [{line}, {column}]',
        "locations": [{"line": line, "column": column}],
    }


_UNDEFINED_FIELD = re.compile(r"Cannot query field '(?P<field>\w+)' on type '(?P<type>\w+)'")
_UNKNOWN_ARGUMENT = re.compile(r"Unknown argument '(?P<arg>\w+)' on field '\w+\.(?P<field>\w+)'")
_MISSING_ARGUMENT = re.compile(
    r"Field '(?P<field>\w+)' argument '(?P<arg>\w+)' of type .* is required"
)


def validation_error(error: GraphQLError, document: DocumentNode) -> dict[str, Any]:
    """A graphql-core validation error restated as Shopify (graphql-ruby) words it."""
    body: dict[str, Any] = {"message": error.message}
    if error.locations:
        body["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.nodes:
        path = _path_to(document, error.nodes[0])
        if path:
            body["path"] = path
    if found := _UNDEFINED_FIELD.search(error.message):
        body["message"] = f"Field '{found['field']}' doesn't exist on type '{found['type']}'"
        body["extensions"] = {
            "code": "undefinedField",
            "typeName": found["type"],
            "fieldName": found["field"],
        }
    elif found := _UNKNOWN_ARGUMENT.search(error.message):
        body["message"] = f"Field '{found['field']}' doesn't accept argument '{found['arg']}'"
        body["extensions"] = {
            "code": "argumentNotAccepted",
            "name": found["field"],
            "typeName": "Field",
            "argumentName": found["arg"],
        }
    elif found := _MISSING_ARGUMENT.search(error.message):
        body["message"] = f"Field '{found['field']}' is missing required arguments: {found['arg']}"
        body["extensions"] = {
            "code": "missingRequiredArguments",
            "className": "Field",
            "name": found["field"],
            "arguments": found["arg"],
        }
    return body


def _path_to(document: DocumentNode, target: Node) -> list[str]:
    """graphql-ruby's error path: the operation ("query Name") then field names down to target."""
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            label = definition.operation.value
            if definition.name:
                label += f" {definition.name.value}"
        elif isinstance(definition, FragmentDefinitionNode):
            label = f"fragment {definition.name.value}"
        else:
            continue
        if definition is target:
            return [label]
        found = _search(definition.selection_set, target)
        if found is not None:
            return [label, *found]
    return []


def _search(selection_set: SelectionSetNode | None, target: Node) -> list[str] | None:
    if selection_set is None:
        return None
    for selection in selection_set.selections:
        name = [selection.name.value] if isinstance(selection, FieldNode) else []
        if selection is target:
            return name
        for argument in getattr(selection, "arguments", None) or ():
            if argument is target or argument.value is target:
                return [*name, argument.name.value]
        deeper = _search(getattr(selection, "selection_set", None), target)
        if deeper is not None:
            return [*name, *deeper]
    return None
