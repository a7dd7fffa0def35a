"""The Shopify Admin GraphQL simulator: ``POST /admin/api/{version}/graphql.json`` on 127.0.0.1.

    simulator = ShopifySimulator(world, access_token="shpat_test", bucket=LeakyBucket(2000, 100))
    base_url = simulator.start()          # "http://127.0.0.1:PORT"
    simulator.grants                      # the Dev Dashboard app: client id/secret, expiring tokens
    simulator.graphql_url("2026-01")      # ".../admin/api/2026-01/graphql.json"
    simulator.webhook_sender(url)         # signed with simulator.webhook_secret
    simulator.traffic.snapshot()          # calls, cost, throttled, faults...
    simulator.stop()

Tokens: the legacy permanent ``access_token`` (an app created in the store admin), or tokens from
the client credentials grant (``POST /admin/oauth/access_token``, :mod:`sandbox.shopify.grants`)
that expire after ``token_lifetime``.

One request goes through the steps Shopify takes, each with Shopify's answer when it fails:
access token (401), API version (404), body (400), parse and validation (200 + errors, no cost),
variables, calculated cost (MAX_COST_EXCEEDED above 1000, THROTTLED when the bucket is short, both
HTTP 200), execution, then the refund of what the query did not use and ``extensions.cost``.

Faults come from :mod:`sandbox.traffic` (shared with the Zendesk simulator): HTML 5xx pages,
resets and delays are applied by the loopback server; signals are Shopify's own: ``throttled``
(a THROTTLED answer whatever the bucket holds), ``internal_error`` (INTERNAL_SERVER_ERROR over
HTTP 200) and ``rate_limited`` (HTTP 429 with ``Retry-After``).
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    execute,
    parse,
)
from graphql.execution.values import get_variable_values

from sandbox.loopback import LoopbackServer, Request, Response, Route
from sandbox.shopify import errors
from sandbox.shopify.bucket import LeakyBucket
from sandbox.shopify.bulk import BulkOperations
from sandbox.shopify.catalog import Catalog
from sandbox.shopify.cost import MUTATION_COST, CostWalker, InputTooLarge, PageTooLarge
from sandbox.shopify.discounts import DiscountBook
from sandbox.shopify.envelope import (
    envelope,
    is_throttled,
    parse_and_validate,
    pick_operation,
    request_body,
    variable_error,
)
from sandbox.shopify.grants import DEFAULT_TOKEN_LIFETIME, AppGrants
from sandbox.shopify.schema import build
from sandbox.shopify.staged_uploads import UPLOAD_ROUTE, StagedUploads
from sandbox.shopify.webhooks import ShopifyWebhookSender
from sandbox.traffic import Fault, FaultKind, FaultPlan, Traffic
from sandbox.world import World

DEFAULT_ACCESS_TOKEN = "shpat_sandbox_0000000000000000"  # noqa: S105 - a loopback test token
DEFAULT_API_VERSION = "2026-01"
DEFAULT_WEBHOOK_SECRET = "sandbox-shopify-app-secret"  # noqa: S105 - signs loopback webhooks only
MAX_QUERY_COST = 1000
GRAPHQL_ROUTE = "POST /admin/api/{version}/graphql.json"
GRANT_ROUTE = "POST /admin/oauth/access_token"
BULK_RESULT_ROUTE = "GET /bulk-results/{id}.jsonl"
DOCUMENT_CACHE_SIZE = 256
_VERSION = re.compile(r"\d{4}-\d{2}|unstable")


@dataclass
class RequestContext:
    """What resolvers see as ``info.context`` for one request."""

    world: World
    catalog: Catalog
    bulk: BulkOperations
    clock: Callable[[], datetime]
    api_version: str
    base_url: str
    unbounded: bool = False  # bulk operations read whole connections
    scopes: tuple[str, ...] = ()  # what the app installation was granted
    discounts: DiscountBook = field(default_factory=DiscountBook)
    search_warnings: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Prepared:
    document: DocumentNode
    operation: OperationDefinitionNode
    variables: Any
    walker: CostWalker


class ShopifySimulator:
    def __init__(
        self,
        world: World,
        *,
        access_token: str = DEFAULT_ACCESS_TOKEN,
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        bucket: LeakyBucket | None = None,
        traffic: Traffic | None = None,
        faults: FaultPlan | None = None,
        clock: Callable[[], datetime] | None = None,
        max_query_cost: int = MAX_QUERY_COST,
        bulk_polls_to_complete: int = 2,
        port: int = 0,
        token_lifetime: timedelta = DEFAULT_TOKEN_LIFETIME,
        grants: AppGrants | None = None,
    ) -> None:
        self.world = world
        self.access_token = access_token
        self.webhook_secret = webhook_secret
        self.bucket = bucket or LeakyBucket()
        self.traffic = traffic or Traffic(faults)
        if traffic is not None and faults is not None:
            self.traffic.configure(faults)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.max_query_cost = max_query_cost
        self.grants = grants or AppGrants(
            self.clock, token_lifetime=token_lifetime, permanent_token=access_token
        )
        self.schema = build()
        self._documents: dict[str, DocumentNode | dict[str, Any]] = {}
        self._cache_lock = threading.Lock()
        self.catalog = Catalog(world)
        self.discounts = DiscountBook()  # codes created through discountCodeBasicCreate
        self.uploads = StagedUploads()
        self.bulk = BulkOperations(
            self.schema,
            self._run_bulk,
            self.clock,
            polls_to_complete=bulk_polls_to_complete,
            run_mutation=self._run_bulk_line,
            uploads=self.uploads,
        )
        self._signals = _SignalTap(self.traffic)
        routes = [
            Route(
                "POST", r"/admin/api/(?P<version>[^/]+)/graphql\.json", GRAPHQL_ROUTE, self._graphql
            ),
            Route("GET", r"/bulk-results/(?P<id>\d+)\.jsonl", BULK_RESULT_ROUTE, self._bulk_result),
            Route("POST", r"/admin/oauth/access_token", GRANT_ROUTE, self.grants.grant),
            Route("POST", r"/staged-uploads", UPLOAD_ROUTE, self.uploads.receive),
        ]
        self.server = LoopbackServer(
            routes,
            self._signals,
            port=port,
            not_found=lambda request: Response.json(404, errors.NOT_FOUND),
        )

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> str:
        self.server.start()
        return self.base_url

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> ShopifySimulator:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def graphql_url(self, version: str = DEFAULT_API_VERSION) -> str:
        return f"{self.base_url}/admin/api/{version}/graphql.json"

    def webhook_sender(self, url: str) -> ShopifyWebhookSender:
        """A sender of this shop's webhooks to ``url``, signed with ``webhook_secret``."""
        return ShopifyWebhookSender(
            url, self.webhook_secret, shop_domain=self.world.shop_domain, clock=self.clock
        )

    # -- one request -----------------------------------------------------------------------
    def _graphql(self, request: Request) -> Response:
        try:
            return self._graphql_request(request)
        except Exception:  # noqa: BLE001 - a simulator bug must still answer, as Shopify's 500 does
            return Response.json(500, {"errors": "An unexpected error occurred"})

    def _graphql_request(self, request: Request) -> Response:
        signal = self._signals.current()
        if not self.grants.accepts(request.headers.get("x-shopify-access-token")):
            return Response.json(401, errors.UNAUTHORIZED)
        version = request.params["version"]
        if not _VERSION.fullmatch(version):
            return Response.json(404, errors.NOT_FOUND)
        if signal == "rate_limited":
            return Response.json(429, errors.RATE_LIMITED, {"Retry-After": "2.0"})
        request_id = str(uuid.uuid4())
        if signal == "internal_error":
            return self._answer(200, errors.internal_error(request_id), version, request_id)
        body = request_body(request)
        if body is None:
            return self._answer(400, errors.BAD_REQUEST, version, request_id)
        context = RequestContext(
            self.world,
            self.catalog,
            self.bulk,
            self.clock,
            version,
            request.base_url,
            scopes=self.grants.scopes,
            discounts=self.discounts,
        )
        payload, cost = self._run(body, context, throttle=signal == "throttled")
        response = self._answer(200, payload, version, request_id)
        response.cost = cost
        response.throttled = is_throttled(payload)
        return response

    def _run(
        self, body: dict[str, Any], context: RequestContext, *, throttle: bool
    ) -> tuple[dict[str, Any], int]:
        """The JSON answer for one GraphQL request, and the points it cost."""
        prepared = self._prepare(body)
        if isinstance(prepared, dict):
            return prepared, 0
        try:
            requested = prepared.walker.requested(prepared.operation)
        except InputTooLarge as error:
            requested = MUTATION_COST * len(prepared.operation.selection_set.selections)
            status = self.bucket.throttle_status()
            return {
                "errors": [error.formatted],
                "extensions": {"cost": errors.cost(requested, None, status)},
            }, 0
        except PageTooLarge as error:
            return {"errors": [error.formatted]}, 0
        if requested > self.max_query_cost:
            return errors.max_cost_exceeded(requested, self.max_query_cost), 0
        if throttle or not self.bucket.try_spend(requested):
            return errors.throttled(requested, self.bucket.throttle_status()), 0
        result = execute(
            self.schema,
            prepared.document,
            context_value=context,
            variable_values=body.get("variables") or {},
            operation_name=body.get("operationName"),
        )
        assert isinstance(result, ExecutionResult)
        actual = min(prepared.walker.actual(prepared.operation, result.data), requested)
        self.bucket.refund(requested - actual)
        return envelope(
            result, requested, actual, self.bucket.throttle_status(), context.search_warnings
        ), actual

    def _prepare(self, body: dict[str, Any]) -> _Prepared | dict[str, Any]:
        """Parse, validate, pick the operation and coerce variables; an error body otherwise."""
        checked = self._checked(body["query"])
        if isinstance(checked, dict):
            return checked
        document = checked
        operation = pick_operation(document, body.get("operationName"))
        if isinstance(operation, dict):
            return operation
        coerced = get_variable_values(
            self.schema, operation.variable_definitions or (), body.get("variables") or {}
        )
        if isinstance(coerced, list):
            return {"errors": [variable_error(e, body.get("variables") or {}) for e in coerced]}
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        return _Prepared(document, operation, coerced, CostWalker(self.schema, fragments, coerced))

    def _checked(self, query: str) -> DocumentNode | dict[str, Any]:
        """The parsed and validated document, or the error body; clients send the same few
        documents over and over, so the answer is cached per query text."""
        with self._cache_lock:
            cached = self._documents.get(query)
        if cached is None:
            cached = parse_and_validate(self.schema, query)
            with self._cache_lock:
                if len(self._documents) >= DOCUMENT_CACHE_SIZE:
                    self._documents.clear()
                self._documents[query] = cached
        return cached

    def _answer(
        self, status: int, payload: dict[str, Any], version: str, request_id: str
    ) -> Response:
        return Response.json(
            status, payload, {"X-Request-Id": request_id, "X-Shopify-API-Version": version}
        )

    def _bulk_result(self, request: Request) -> Response:
        content = self.bulk.result(int(request.params["id"]))
        if content is None:
            return Response.text(404, "Not Found")
        return Response(200, content, {"Content-Type": "application/jsonl"})

    def _run_bulk(self, query: str) -> tuple[Any, list[GraphQLError]]:
        context = RequestContext(
            self.world, self.catalog, self.bulk, self.clock, DEFAULT_API_VERSION, "", unbounded=True
        )
        result = execute(self.schema, parse(query), context_value=context)
        assert isinstance(result, ExecutionResult)
        return result.data, list(result.errors or [])

    def _run_bulk_line(self, mutation: str, variables: dict[str, Any]) -> dict[str, Any]:
        """One line of a bulk mutation: no cost bucket, Shopify runs these at its own pace."""
        context = RequestContext(
            self.world,
            self.catalog,
            self.bulk,
            self.clock,
            DEFAULT_API_VERSION,
            "",
            scopes=self.grants.scopes,
            discounts=self.discounts,
        )
        document = self._checked(mutation)
        if isinstance(document, dict):
            return document
        result = execute(self.schema, document, context_value=context, variable_values=variables)
        assert isinstance(result, ExecutionResult)
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [{"message": error.message} for error in result.errors]
        return answer


class _SignalTap(Traffic):
    """The shared :class:`Traffic`, plus what the loopback server does not hand to handlers: the
    name of a SIGNAL fault drawn for the call being served on this thread. Only ``begin`` and
    ``record`` (all the server calls) are forwarded; read counters from the inner instance."""

    def __init__(self, inner: Traffic) -> None:
        self._inner = inner
        self._local = threading.local()

    def begin(self, route: str) -> Fault | None:
        fault = self._inner.begin(route)
        is_signal = fault is not None and fault.kind is FaultKind.SIGNAL
        self._local.signal = fault.name if fault is not None and is_signal else None
        return fault

    def current(self) -> str | None:
        signal: str | None = getattr(self._local, "signal", None)
        return signal

    def record(self, route: str, status: int, **details: Any) -> None:
        self._inner.record(route, status, **details)
