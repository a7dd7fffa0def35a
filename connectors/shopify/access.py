"""``nps check --online`` for Shopify: which access is used, what it was granted, what is missing.

One cheap query touching what the sync reads, plus the installation's access scopes
(``currentAppInstallation.accessScopes``, readable with any token). A Dev Dashboard app's grant
also lists its scopes; when both say, the grant's answer wins (it is what the token carries). An
ACCESS_DENIED or a 401 comes back as the client's usual :class:`connectors.shopify.errors`
exception, whose message names the scope to grant (``connectors.shopify.scopes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from connectors.errors import ConnectorError
from connectors.shopify.client import ShopifyClient
from connectors.shopify.scopes import granted_covers

ACCESS_CHECK = """
query AccessCheck {
  shop { name myshopifyDomain }
  currentAppInstallation { accessScopes { handle } }
  orders(first: 1) { nodes { id } }
  customers(first: 1) { nodes { id defaultEmailAddress { emailAddress } } }
}
"""


@dataclass(frozen=True)
class AccessReport:
    shop: str
    kind: str  # "Dev Dashboard app (client credentials grant)" or the legacy token
    granted: tuple[str, ...]
    missing: tuple[str, ...]  # needed scopes the app was not granted

    def describe(self) -> str:
        granted = ", ".join(self.granted) or "(none listed)"
        text = f"{self.shop}; access: {self.kind}; scopes granted: {granted}"
        if self.missing:
            text += f"; MISSING: {', '.join(self.missing)}"
        return text


def check_access(client: ShopifyClient, needed: Sequence[str]) -> AccessReport:
    """What this client reaches, once orders and customers proved readable."""
    data = client.execute(ACCESS_CHECK).data
    shop = data.get("shop") or {}
    installation = data.get("currentAppInstallation") or {}
    listed = tuple(str(s.get("handle")) for s in installation.get("accessScopes") or [])
    granted = client.access.granted_scopes() or listed
    missing = tuple(scope for scope in needed if not granted_covers(granted, scope))
    return AccessReport(
        shop=f"{shop.get('name')} ({shop.get('myshopifyDomain')})",
        kind=client.access.kind,
        granted=tuple(sorted(granted)),
        missing=missing,
    )


# The cheapest query there is: any app may read its own shop's id, whatever its scopes.
SHOP_ID = "query ShopId { shop { id } }"
# What Shopify answers once the app is uninstalled (401), the shop is frozen for non-payment
# (402), closed or deleted (404), or locked (423). 403 comes with a revoked token too.
ACCESS_GONE = frozenset({401, 402, 403, 404, 423})


class ShopifyAccessProbe:
    """The ``ShopAccessProbe`` port: does the Admin API still accept our credentials?"""

    def __init__(self, client: ShopifyClient) -> None:
        self.client = client

    def admin_api_accepts_us(self) -> bool:
        try:
            self.client.execute(SHOP_ID)
        except ConnectorError as error:
            if error.status in ACCESS_GONE:
                return False
            raise  # down, throttled, unknown: nothing is known, the caller erases nothing
        return True
