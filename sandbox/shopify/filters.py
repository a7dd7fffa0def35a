"""The search fields ``orders(query:)`` and ``customers(query:)`` understand in the simulator.

A subset of the fields the schema documents for each connection (shopify-notes.md 2.2, 2.3);
others are reported as search warnings and match everything.
"""

from __future__ import annotations

from sandbox.shopify.derived import COUNTRY_NAMES, financial_status, return_status
from sandbox.shopify.search import SearchFields

ORDER_SEARCH = SearchFields({
    "updated_at": ("time", lambda o: o.updated_at),
    "created_at": ("time", lambda o: o.created_at),
    "processed_at": ("time", lambda o: o.created_at),
    "id": ("int", lambda o: o.id),
    "name": ("text", lambda o: o.name.lstrip("#")),
    "email": ("text", lambda o: (o.email or "").strip()),
    "customer_id": ("int", lambda o: o.customer_id),
    "tag": ("tags", lambda o: o.tags),
    "tag_not": ("tags", lambda o: o.tags),
    "test": ("bool", lambda o: False),
    "status": ("text", lambda o: "cancelled" if o.cancelled_at else "open"),
    "financial_status": ("text", lambda o: financial_status(o).lower()),
    "fulfillment_status": ("text", lambda o: "shipped" if o.fulfillments else "unshipped"),
    "return_status": ("text", lambda o: return_status(o).lower()),
})  # fmt: skip

CUSTOMER_SEARCH = SearchFields({
    "updated_at": ("time", lambda c: c.updated_at),
    "created_at": ("time", lambda c: c.created_at),
    "customer_date": ("time", lambda c: c.created_at),
    "id": ("int", lambda c: c.id),
    "email": ("text", lambda c: (c.email or "").strip()),
    "first_name": ("text", lambda c: c.first_name),
    "last_name": ("text", lambda c: c.last_name),
    "country": ("text", lambda c: COUNTRY_NAMES.get(c.country, c.country)),
    "tag": ("tags", lambda c: c.tags),
    "tag_not": ("tags", lambda c: c.tags),
    "state": ("text", lambda c: "disabled"),
})  # fmt: skip
