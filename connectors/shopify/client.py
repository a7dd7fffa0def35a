"""The Admin GraphQL client: one POST per query, over our ``requests`` session, paying Shopify's
cost bucket before it is asked to and surviving its failure modes.

How each answer is read (https://shopify.dev/docs/api/admin-graphql, "Status and error codes"):

- HTTP 200 with ``errors[].extensions.code``: THROTTLED waits ``(requested - available) /
  restoreRate`` and retries; INTERNAL_SERVER_ERROR is transient; ACCESS_DENIED stops the run with
  the scope to grant; MAX_COST_EXCEEDED and validation errors (``undefinedField``, no
  ``extensions.cost``) are refused requests.
- HTTP 429 and 503 carry ``Retry-After``; other 5xx (often an HTML page from a load balancer) are
  transient; 401/403 are token problems; other 4xx are refused requests.

Retries go through :mod:`connectors.retry`, the one policy. ShopifyAPI is used only to check the
shop and API version: its ``Session`` rewrites any host to ``<first label>.myshopify.com`` and it
sends through ``urllib`` without timeouts, so the request itself goes through our session, to
``api_base_url`` when one is given (sandbox, proxy).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import shopify

from connectors.http import make_session, request_id
from connectors.retry import call_with_retries
from connectors.shopify.cost import CostBucket, estimated_cost, throttled_wait
from connectors.shopify.errors import (
    SYSTEM,
    QueryTooCostly,
    ShopifyAuthError,
    ShopifyRateLimited,
    ShopifyRequestRejected,
    ShopifyTransientError,
)
from connectors.shopify.scopes import field_names, scope_hint

log = logging.getLogger(__name__)

DEFAULT_API_VERSION = "2026-01"


@dataclass(slots=True)
class ClientStats:
    """What a run cost: calls, points, THROTTLED answers, seconds waited for the bucket."""

    calls: int = 0
    requested_cost: int = 0
    actual_cost: int = 0
    throttled: int = 0
    bucket_wait_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class GraphQLResult:
    data: dict[str, Any]
    cost: Mapping[str, Any]


def graphql_endpoint(shop: str, api_version: str, api_base_url: str | None = None) -> str:
    """``https://{shop}.myshopify.com/admin/api/{version}/graphql.json``, or the same path under
    ``api_base_url``. Raises ValueError naming the bad shop or version."""
    try:
        session = shopify.Session(shop, api_version, "-")
    except (shopify.VersionNotFoundError, shopify.InvalidVersionError, TypeError):
        raise ValueError(
            f"shopify.api_version '{api_version}' is not a Shopify API version (YYYY-MM)"
        ) from None
    if not session.url:
        raise ValueError(
            f"shopify.shop '{shop}' is not a shop domain such as my-shop.myshopify.com"
        )
    if api_base_url:
        base: str = session.version.api_path(api_base_url.rstrip("/"))
        return base + "/graphql.json"
    site: str = session.site
    return site + "/graphql.json"


class ShopifyClient:
    """Runs GraphQL documents against one shop. Not shared between threads."""

    def __init__(
        self,
        shop: str,
        access_token: str,
        *,
        api_version: str = DEFAULT_API_VERSION,
        api_base_url: str | None = None,
        timeout: float = 30.0,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        retry_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.endpoint = graphql_endpoint(shop, api_version, api_base_url)
        self.http = session or make_session(timeout)
        self._token = access_token
        self._clock = clock
        self._sleep = sleep
        self._retry_options = dict(retry_options or {})
        self.bucket = CostBucket()
        self.stats = ClientStats()
        self._learned_cost: dict[tuple[str, Any], int] = {}

    def execute(self, document: str, variables: Mapping[str, Any] | None = None) -> GraphQLResult:
        """Run ``document``: its ``data``, or a :mod:`connectors.shopify.errors` exception."""
        payload = {"query": document, "variables": dict(variables or {}), "operationName": None}
        key = (document, (variables or {}).get("first"))
        cost = self._learned_cost.get(key) or estimated_cost(document, variables)

        def attempt() -> GraphQLResult:
            self._pay(cost)
            return self._post(payload)

        result = call_with_retries(attempt, sleep=self._sleep, **self._retry_options)
        requested = result.cost.get("requestedQueryCost")
        if isinstance(requested, int | float):
            self._learned_cost[key] = int(requested)
        return result

    def download(self, url: str, destination: Path) -> int:
        """Stream a bulk operation's result file (a signed URL: no token sent) to
        ``destination``, whole or not at all; its size in bytes. A cut download starts over."""

        def attempt() -> int:
            try:
                with self.http.get(url, stream=True) as response:
                    _raise_for_download_status(response)
                    size = 0
                    with open(destination, "wb") as out:
                        for chunk in response.iter_content(chunk_size=1 << 16):
                            size += out.write(chunk)
                    return size
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise ShopifyTransientError(
                    f"bulk result download cut: {type(exc).__name__}", system=SYSTEM
                ) from exc

        return call_with_retries(attempt, sleep=self._sleep, **self._retry_options)

    def _pay(self, cost: int) -> None:
        wait = self.bucket.wait_before(cost, self._clock())
        if wait > 0:
            self.stats.bucket_wait_seconds += wait
            self._sleep(wait)
        self.bucket.spend(cost, self._clock())

    def _post(self, payload: Mapping[str, Any]) -> GraphQLResult:
        headers = {"X-Shopify-Access-Token": self._token, "Accept": "application/json"}
        self.stats.calls += 1
        try:
            response = self.http.post(self.endpoint, json=payload, headers=headers)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ShopifyTransientError(
                f"no answer from Shopify: {type(exc).__name__}", system=SYSTEM
            ) from exc
        _raise_for_http_status(response)
        body = _json_body(response)
        cost = (body.get("extensions") or {}).get("cost") or {}
        self._observe(cost)
        errors = body.get("errors")
        if errors:
            _raise_for_graphql_errors(errors, cost, response, self.stats, payload["query"])
        data = body.get("data")
        if not isinstance(data, dict):
            raise ShopifyTransientError(
                "answer without data", system=SYSTEM, request_id=request_id(response)
            )
        return GraphQLResult(data, cost)

    def _observe(self, cost: Mapping[str, Any]) -> None:
        status = cost.get("throttleStatus")
        if status:
            self.bucket.observe(status, self._clock())
        actual = cost.get("actualQueryCost")
        self.stats.requested_cost += int(cost.get("requestedQueryCost") or 0)
        self.stats.actual_cost += int(actual or 0)


def _raise_for_http_status(response: requests.Response) -> None:
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


def _raise_for_download_status(response: requests.Response) -> None:
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


def _json_body(response: requests.Response) -> dict[str, Any]:
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


def _raise_for_graphql_errors(
    errors: list[Mapping[str, Any]],
    cost: Mapping[str, Any],
    response: requests.Response,
    stats: ClientStats,
    document: str,
) -> None:
    rid = request_id(response)
    codes = {(e.get("extensions") or {}).get("code") for e in errors}
    if "THROTTLED" in codes:
        stats.throttled += 1
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
