"""Reading Shopify's answers: which ones are data and which are which error.

Shopify answers most GraphQL failures with HTTP 200 and an ``errors`` list whose
``extensions.code`` says what happened (https://shopify.dev/docs/api/admin-graphql, "Status and
error codes"): THROTTLED (wait ``(requested - available) / restoreRate``), INTERNAL_SERVER_ERROR
(transient), ACCESS_DENIED (a missing scope), MAX_COST_EXCEEDED, and validation errors without
``extensions.cost``. Real HTTP errors are 429/503 with ``Retry-After``, other 5xx (often an HTML
page from a load balancer), 401/403 for token problems and other 4xx for refused requests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests

from connectors.http import request_id
from connectors.shopify.cost import throttled_wait
from connectors.shopify.errors import (
    SYSTEM,
    QueryTooCostly,
    ShopifyAuthError,
    ShopifyRateLimited,
    ShopifyRequestRejected,
    ShopifyTransientError,
)
from connectors.shopify.scopes import field_names, scope_hint


def raise_for_http_status(response: requests.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    rid = request_id(response)
    if status in (429, 503) and response.headers.get("Retry-After"):
        raise ShopifyRateLimited(
            "rate limited",
            retry_after=_retry_after(response),
            system=SYSTEM,
            status=status,
            request_id=rid,
        )
    if status >= 500:
        raise ShopifyTransientError("server error", system=SYSTEM, status=status, request_id=rid)
    if status == 429:
        raise ShopifyRateLimited(
            "rate limited", retry_after=1.0, system=SYSTEM, status=status, request_id=rid
        )
    if status == 401:
        raise ShopifyAuthError(
            "the access token was refused: check shopify.access_token (revoked, or for another "
            "shop?)",
            system=SYSTEM,
            status=status,
            request_id=rid,
        )
    if status == 403:
        raise ShopifyAuthError(
            f"access forbidden: {_short_body(response)}",
            system=SYSTEM,
            status=status,
            request_id=rid,
        )
    raise ShopifyRequestRejected(
        f"request refused: {_short_body(response)}", system=SYSTEM, status=status, request_id=rid
    )


def raise_for_download_status(response: requests.Response) -> None:
    status = response.status_code
    if status >= 500 or status == 429:
        raise ShopifyTransientError("bulk result download failed", system=SYSTEM, status=status)
    if status >= 400:
        # Result URLs expire after 7 days (https://shopify.dev/docs/api/usage/bulk-operations).
        raise ShopifyRequestRejected(
            "bulk result download refused (expired link?)", system=SYSTEM, status=status
        )


def _retry_after(response: requests.Response) -> float:
    try:
        return max(0.0, float(response.headers["Retry-After"]))
    except ValueError:
        return 1.0


def _short_body(response: requests.Response) -> str:
    try:
        return json.dumps(response.json().get("errors"))[:300]
    except (ValueError, AttributeError):
        return response.text[:200]


def json_body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        # An HTML page with a 200 means a proxy in the way had a bad moment.
        raise ShopifyTransientError(
            "answer is not JSON",
            system=SYSTEM,
            status=response.status_code,
            request_id=request_id(response),
        ) from None
    if not isinstance(body, dict):
        raise ShopifyTransientError("answer is not a JSON object", system=SYSTEM)
    return body


def raise_for_graphql_errors(
    errors: list[Mapping[str, Any]],
    cost: Mapping[str, Any],
    response: requests.Response,
    document: str,
) -> None:
    rid = request_id(response)
    codes = {(e.get("extensions") or {}).get("code") for e in errors}
    if "THROTTLED" in codes:
        raise ShopifyRateLimited(
            "throttled", retry_after=throttled_wait(cost), system=SYSTEM, request_id=rid
        )
    if "INTERNAL_SERVER_ERROR" in codes:
        rid = rid or next(((e.get("extensions") or {}).get("requestId") for e in errors), None)
        raise ShopifyTransientError("Shopify internal error", system=SYSTEM, request_id=rid)
    if "ACCESS_DENIED" in codes:
        denied = next(
            e for e in errors if (e.get("extensions") or {}).get("code") == "ACCESS_DENIED"
        )
        path = field_names(document, [str(part) for part in denied.get("path") or []])
        raise ShopifyAuthError(
            f"{denied.get('message', 'access denied')} {scope_hint(path)}",
            system=SYSTEM,
            request_id=rid,
        )
    if "MAX_COST_EXCEEDED" in codes:
        extensions = errors[0].get("extensions") or {}
        raise QueryTooCostly(
            f"query cost {extensions.get('cost')} is above Shopify's single-query maximum "
            f"{extensions.get('maxCost')}",
            cost=int(extensions.get("cost") or 0),
            max_cost=int(extensions.get("maxCost") or 1000),
            system=SYSTEM,
            request_id=rid,
        )
    messages = "; ".join(str(e.get("message", "")).strip() for e in errors)
    raise ShopifyRequestRejected(f"query refused: {messages[:500]}", system=SYSTEM, request_id=rid)
