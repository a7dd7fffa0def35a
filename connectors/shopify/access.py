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
