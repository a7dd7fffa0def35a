"""The Admin GraphQL client: one POST per query, over our ``requests`` session, paying Shopify's
cost bucket before it is asked to and surviving its failure modes.

Each answer becomes data or a typed error in :mod:`connectors.shopify.replies`: THROTTLED
(HTTP 200) and HTTP 429/503 wait as told and retry; 5xx and INTERNAL_SERVER_ERROR are transient;
ACCESS_DENIED stops the run naming the scope; a 401 asks the token source once for a new token
(a Dev Dashboard app's token expired or was revoked) and repeats the request, and stops the run
when that does not help; MAX_COST_EXCEEDED and validation errors are refused requests. Every
answer's ``throttleStatus`` updates the local :class:`~connectors.shopify.cost.CostBucket`, and a
query waits until the bucket can pay for it.

Retries go through :mod:`connectors.retry`, the one policy. ShopifyAPI is used only to check the
shop and API version: its ``Session`` rewrites any host to ``<first label>.myshopify.com`` and it
sends through ``urllib`` without timeouts, so the request itself goes through our session, to
``api_base_url`` when one is given (sandbox, proxy).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import shopify

from connectors.http import make_session, no_answer, request_id
from connectors.retry import call_with_retries
from connectors.shopify.cost import CostBucket, estimated_cost
from connectors.shopify.credentials import (
    DEV_DASHBOARD_HINT,
    ClientCredentials,
    StaticToken,
    TokenSource,
)
from connectors.shopify.errors import (
    SYSTEM,
    GrantRefused,
    ShopifyAuthError,
    ShopifyRateLimited,
    ShopifyTransientError,
)
from connectors.shopify.replies import (
    json_body,
    raise_for_download_status,
    raise_for_graphql_errors,
    raise_for_http_status,
)
from nps_engine.ports import ShopifyCostBudget

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


def grant_endpoint(shop: str, api_base_url: str | None = None) -> str:
    """Where a Dev Dashboard app asks for its token: ``https://{shop}/admin/oauth/access_token``,
    or the same path under ``api_base_url``."""
    domain = shop if shop.endswith(".myshopify.com") else f"{shop}.myshopify.com"
    base = api_base_url.rstrip("/") if api_base_url else f"https://{domain}"
    return base + "/admin/oauth/access_token"


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
        access: str | TokenSource,
        *,
        api_version: str = DEFAULT_API_VERSION,
        api_base_url: str | None = None,
        timeout: float = 30.0,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        retry_options: Mapping[str, Any] | None = None,
        bucket: ShopifyCostBudget | None = None,
    ) -> None:
        """``bucket``: the shop's cost bucket shared with other workers (distributed mode);
        by default this client keeps its own."""
        self.endpoint = graphql_endpoint(shop, api_version, api_base_url)
        self.shop = shop
        self.http = session or make_session(timeout)
        self.access: TokenSource = StaticToken(access) if isinstance(access, str) else access
        self._clock = clock
        self._sleep = sleep
        self._retry_options = dict(retry_options or {})
        self.bucket: ShopifyCostBudget = bucket or CostBucket()
        self.stats = ClientStats()
        self._learned_cost: dict[tuple[str, Any], int] = {}

    def execute(
        self,
        document: str,
        variables: Mapping[str, Any] | None = None,
        *,
        expected_cost: int | None = None,
    ) -> GraphQLResult:
        """Run ``document``: its ``data``, or a :mod:`connectors.shopify.errors` exception.
        ``expected_cost``: what the caller learned this request will be charged (the bucket is
        paid that before sending; otherwise the last charge of the same request, or the
        estimate)."""
        payload = {"query": document, "variables": dict(variables or {}), "operationName": None}
        key = (document, (variables or {}).get("first"))
        cost = expected_cost or self._learned_cost.get(key) or estimated_cost(document, variables)

        def attempt() -> GraphQLResult:
            self._pay(cost)
            return self._post(payload)

        result = self._with_live_token(attempt)
        requested = result.cost.get("requestedQueryCost")
        if isinstance(requested, int | float):
            self._learned_cost[key] = int(requested)
        return result

    def _with_live_token(self, attempt: Callable[[], GraphQLResult]) -> GraphQLResult:
        """``attempt`` under the retry policy; after a 401, once more with a new token (a Dev
        Dashboard token dies after about a day, or at once when the app is reinstalled)."""
        try:
            return call_with_retries(attempt, sleep=self._sleep, **self._retry_options)
        except ShopifyAuthError as refused:
            if not _token_refused(refused) or not self.access.renew():
                raise
        log.info("shopify: token refused (401), asking for a new one")
        try:
            return call_with_retries(attempt, sleep=self._sleep, **self._retry_options)
        except ShopifyAuthError as again:
            if not _token_refused(again):
                raise
            raise ShopifyAuthError(
                "Shopify refused a freshly granted token: "
                + DEV_DASHBOARD_HINT.format(shop=self.shop),
                system=SYSTEM,
                status=401,
                request_id=again.request_id,
            ) from None

    def now(self) -> float:
        """The client's clock (monotonic seconds), which the bucket's figures are kept on."""
        return self._clock()

    def download(self, url: str, destination: Path) -> int:
        """Stream a bulk operation's result file (a signed URL: no token sent) to
        ``destination``, whole or not at all; its size in bytes. A cut download starts over."""

        def attempt() -> int:
            try:
                with self.http.get(url, stream=True) as response:
                    raise_for_download_status(response)
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
        headers = {"X-Shopify-Access-Token": self.access.token(), "Accept": "application/json"}
        self.stats.calls += 1
        try:
            response = self.http.post(self.endpoint, json=payload, headers=headers)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ShopifyTransientError(
                f"no answer from Shopify: {no_answer(exc)}", system=SYSTEM
            ) from exc
        raise_for_http_status(response)
        body = json_body(response)
        cost = (body.get("extensions") or {}).get("cost") or {}
        self._observe(cost)
        errors = body.get("errors")
        if errors:
            try:
                raise_for_graphql_errors(errors, cost, response, payload["query"])
            except ShopifyRateLimited:
                self.stats.throttled += 1
                raise
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


def _token_refused(error: ShopifyAuthError) -> bool:
    """A request answered 401 (the token), as opposed to the grant refusing the app."""
    return error.status == 401 and not isinstance(error, GrantRefused)


def token_source(
    shop: str,
    *,
    access_token: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    api_base_url: str | None = None,
    session: requests.Session,
) -> TokenSource:
    """The permanent token when one is given, else the client credentials of a Dev Dashboard
    app."""
    if access_token is not None:
        return StaticToken(access_token)
    if not client_id or not client_secret:
        raise ValueError("shopify: set client_id and client_secret, or access_token")
    return ClientCredentials(
        grant_endpoint(shop, api_base_url), shop, client_id, client_secret, session
    )
