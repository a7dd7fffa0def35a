"""Shopify's branch of the error tree (``connectors.errors``), drawn once::

    ShopifyError (mixin: system = "shopify")
     |-- ShopifyTransientError   (TransientError)   5xx, HTML 502 pages, INTERNAL_SERVER_ERROR
     |-- ShopifyRateLimited      (RateLimited)      THROTTLED (HTTP 200), HTTP 429/503 Retry-After
     |-- ShopifyAuthError        (AuthenticationError) 401, 403, ACCESS_DENIED: names the scope
     |    `-- GrantRefused                          the client credentials grant said no
     |-- ShopifyRequestRejected  (RequestRejected)  validation errors, other 4xx, userErrors
     |    `-- QueryTooCostly                        MAX_COST_EXCEEDED (.cost, .max_cost)
     `-- BulkOperationFailed     (PermanentError)   a bulk operation ended FAILED/CANCELED/EXPIRED

Shopify answers most GraphQL failures with HTTP 200 and an ``errors`` list whose
``extensions.code`` says what happened (https://shopify.dev/docs/api/admin-graphql, "Status and
error codes"); :mod:`connectors.shopify.client` turns both layers into these classes.
"""

from __future__ import annotations

from connectors.errors import (
    AuthenticationError,
    PermanentError,
    RateLimited,
    RequestRejected,
    TransientError,
)

SYSTEM = "shopify"


class ShopifyTransientError(TransientError):
    pass


class ShopifyRateLimited(RateLimited):
    pass


class ShopifyAuthError(AuthenticationError):
    pass


class GrantRefused(ShopifyAuthError):
    """The token endpoint refused the app's client id and secret (or the app is not installed):
    asking again cannot help."""


class ShopifyRequestRejected(RequestRejected):
    pass


class QueryTooCostly(ShopifyRequestRejected):
    """One query asked for more than Shopify's single-query maximum (1000 points)."""

    def __init__(self, message: str, *, cost: int, max_cost: int, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.cost = cost
        self.max_cost = max_cost


class BulkOperationFailed(PermanentError):
    pass
