"""``nps check --online`` for Shopify: can this token read orders and customers of this shop?

One cheap query touching what the sync reads; an ACCESS_DENIED or a 401 comes back as the
client's usual :class:`connectors.shopify.errors` exception, whose message names the scope to
grant (``connectors.shopify.scopes``).
"""

from __future__ import annotations

from connectors.shopify.client import ShopifyClient

ACCESS_CHECK = """
query AccessCheck {
  shop { name myshopifyDomain }
  orders(first: 1) { nodes { id } }
  customers(first: 1) { nodes { id defaultEmailAddress { emailAddress } } }
}
"""


def check_access(client: ShopifyClient) -> str:
    """The shop's name, once orders and customers proved readable."""
    data = client.execute(ACCESS_CHECK).data
    shop = data.get("shop") or {}
    return f"{shop.get('name')} ({shop.get('myshopifyDomain')})"
