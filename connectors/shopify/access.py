"""``nps check --online`` for Shopify: can this token read orders and customers of this shop?

One cheap query touching what the sync reads; an ACCESS_DENIED or a 401 comes back as the
client's usual :class:`connectors.shopify.errors` exception, whose message names the scope to
grant (``connectors.shopify.scopes``).
"""

from __future__ import annotations

from connectors.errors import ConnectorError
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
