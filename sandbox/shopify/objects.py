"""Field resolvers of the object types: how a world record answers each field of the subset.

Derived values (financial and return status, money, tag order) come from
:mod:`sandbox.shopify.derived`. A customer's ``defaultEmailAddress`` is null when they have no
email; fulfilments without tracking have no ``trackingInfo``, ``inTransitAt`` or delivery date.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from graphql import GraphQLResolveInfo

from sandbox.shopify.catalog import (
    ORDER_SORTS,
    FulfillmentView,
    RefundView,
    ReturnView,
    Shop,
    by_id,
    sort_keys,
)
from sandbox.shopify.derived import (
    COUNTRY_NAMES,
    financial_status,
    money,
    money_bag,
    return_status,
    shop_email,
    shop_tags,
)
from sandbox.shopify.filters import ORDER_SEARCH
from sandbox.shopify.gid import gid
from sandbox.shopify.pages import PageArgs, connection
from sandbox.shopify.search import SearchFields, parse_search
from sandbox.world import Customer, Order

Resolver = Callable[..., Any]


def context(info: GraphQLResolveInfo[Any]) -> Any:
    return info.context


def _small_connection(
    records: list[Any],
    args: dict[str, Any],
    info: GraphQLResolveInfo[Any],
    sorts: dict[str, Any],
    search: SearchFields,
) -> Any:
    sort_key = args.get("sortKey", "ID")
    keys = sort_keys(records, sort_key, sorts)
    pairs = sorted(zip(keys, records, strict=True), key=lambda pair: pair[0])
    query = parse_search(args.get("query"))
    return connection(
        [k for k, _ in pairs],
        [r for _, r in pairs],
        search.predicate(query),
        PageArgs.of(args),
        by_id=by_id(sort_key, sorts),
        unbounded=context(info).unbounded,
    )


def _returns(order: Order, info: GraphQLResolveInfo[Any], **args: Any) -> Any:
    views = [ReturnView(order, r) for r in order.returns]
    keys = [(r.ret.id, r.ret.id) for r in views]
    return connection(
        keys,
        views,
        lambda v: True,
        PageArgs.of(args),
        by_id=True,
        unbounded=context(info).unbounded,
    )


def _limited(items: list[Any], first: int | None) -> list[Any]:
    return items if first is None else items[:first]


def _order_customer(order: Order, info: GraphQLResolveInfo[Any]) -> Customer | None:
    if order.customer_id is None:
        return None
    customer: Customer | None = context(info).world.customers.get(order.customer_id)
    return customer


def _customer_orders(customer: Customer, info: GraphQLResolveInfo[Any]) -> list[Order]:
    orders: list[Order] = context(info).world.customer_orders(customer.id)
    return orders


def _amount_spent(customer: Customer, info: GraphQLResolveInfo[Any]) -> dict[str, Any]:
    total = sum(
        (
            o.total_price - o.refunded_amount
            for o in _customer_orders(customer, info)
            if not o.cancelled_at
        ),
        Decimal("0"),
    )
    return money(total, context(info).world.currency)


def _email_address(customer: Customer) -> dict[str, Any] | None:
    if customer.email is None:
        return None
    subscribed = customer.marketing_state == "SUBSCRIBED"
    return {
        "emailAddress": shop_email(customer.email),
        "marketingState": customer.marketing_state,
        "marketingOptInLevel": "SINGLE_OPT_IN" if subscribed else None,
        "marketingUpdatedAt": customer.created_at if subscribed else None,
        "validFormat": True,
    }


def _consent(customer: Customer) -> dict[str, Any] | None:
    address = _email_address(customer)
    if address is None:
        return None
    return {
        "marketingState": address["marketingState"],
        "marketingOptInLevel": address["marketingOptInLevel"],
        "consentUpdatedAt": address["marketingUpdatedAt"],
    }


def _address(customer: Customer) -> dict[str, Any]:
    country = COUNTRY_NAMES.get(customer.country, customer.country)
    return {
        "id": gid("MailingAddress", customer.id + 1) + "?model_name=CustomerAddress",
        "address1": None,
        "city": None,
        "country": country,
        "countryCodeV2": customer.country,
        "province": None,
        "zip": None,
        "formattedArea": country,
    }


def _tracking(view: FulfillmentView, first: int | None = None) -> list[dict[str, Any]]:
    f = view.fulfillment
    if f.tracking_number is None:
        return []
    url = f"https://tracking.example.com/{f.tracking_number}"
    return _limited(
        [{"company": f.tracking_company, "number": f.tracking_number, "url": url}], first
    )


def _in_transit_at(view: FulfillmentView) -> Any:
    f = view.fulfillment
    return f.created_at + timedelta(hours=6) if f.tracking_number else None


def _estimated_delivery(view: FulfillmentView) -> Any:
    f = view.fulfillment
    return f.created_at + timedelta(days=5) if f.tracking_number else None


def _approved_at(view: ReturnView) -> Any:
    if view.ret.status in {"OPEN", "CLOSED"}:
        return view.ret.created_at + timedelta(hours=20)
    return None


ORDER: dict[str, Resolver] = {
    "id": lambda o, i: gid("Order", o.id),
    "legacyResourceId": lambda o, i: o.id,
    "name": lambda o, i: o.name,
    "createdAt": lambda o, i: o.created_at,
    "updatedAt": lambda o, i: o.updated_at,
    "processedAt": lambda o, i: o.created_at,
    "cancelledAt": lambda o, i: o.cancelled_at,
    "cancelReason": lambda o, i: o.cancel_reason,
    "closedAt": lambda o, i: o.cancelled_at,
    "closed": lambda o, i: o.cancelled_at is not None,
    "test": lambda o, i: False,
    "email": lambda o, i: shop_email(o.email),
    "phone": lambda o, i: None,
    "currencyCode": lambda o, i: o.currency,
    "customerLocale": lambda o, i: getattr(_order_customer(o, i), "locale", None),
    "displayFinancialStatus": lambda o, i: financial_status(o),
    "displayFulfillmentStatus": lambda o, i: "FULFILLED" if o.fulfillments else "UNFULFILLED",
    "returnStatus": lambda o, i: return_status(o),
    "tags": lambda o, i: shop_tags(o.tags),
    "customer": _order_customer,
    "fulfillments": lambda o, i, first=None, query=None: _limited(
        [FulfillmentView(o, f, n) for n, f in enumerate(o.fulfillments, start=1)], first
    ),
    "refunds": lambda o, i, first=None: _limited([RefundView(o, r) for r in o.refunds], first),
    "returns": _returns,
    "totalPriceSet": lambda o, i: money_bag(o.total_price, o.currency),
    "currentTotalPriceSet": lambda o, i: money_bag(
        max(o.total_price - o.refunded_amount, Decimal("0")), o.currency
    ),
    "totalRefundedSet": lambda o, i: money_bag(o.refunded_amount, o.currency),
}

CUSTOMER: dict[str, Resolver] = {
    "id": lambda c, i: gid("Customer", c.id),
    "legacyResourceId": lambda c, i: c.id,
    "email": lambda c, i: shop_email(c.email),
    "phone": lambda c, i: c.phone,
    "displayName": lambda c, i: c.display_name,
    "firstName": lambda c, i: c.first_name,
    "lastName": lambda c, i: c.last_name,
    "locale": lambda c, i: c.locale,
    "tags": lambda c, i: shop_tags(c.tags),
    "numberOfOrders": lambda c, i: len(context(i).world.orders_by_customer.get(c.id, ())),
    "amountSpent": _amount_spent,
    "state": lambda c, i: "DISABLED",
    "createdAt": lambda c, i: c.created_at,
    "updatedAt": lambda c, i: c.updated_at,
    "verifiedEmail": lambda c, i: c.email is not None,
    "note": lambda c, i: None,
    "canDelete": lambda c, i: not context(i).world.orders_by_customer.get(c.id),
    "taxExempt": lambda c, i: False,
    "defaultPhoneNumber": lambda c, i: {"phoneNumber": c.phone} if c.phone else None,
    "defaultEmailAddress": lambda c, i: _email_address(c),
    "emailMarketingConsent": lambda c, i: _consent(c),
    "defaultAddress": lambda c, i: _address(c),
    "orders": lambda c, i, **args: _small_connection(
        _customer_orders(c, i), args, i, ORDER_SORTS, ORDER_SEARCH
    ),
    "lastOrder": lambda c, i: next(reversed(_customer_orders(c, i)), None),
}

FULFILLMENT: dict[str, Resolver] = {
    "id": lambda v, i: gid("Fulfillment", v.fulfillment.id),
    "legacyResourceId": lambda v, i: v.fulfillment.id,
    "name": lambda v, i: f"{v.order.name}-F{v.number}",
    "status": lambda v, i: "SUCCESS",
    "displayStatus": lambda v, i: v.fulfillment.display_status,
    "createdAt": lambda v, i: v.fulfillment.created_at,
    "updatedAt": lambda v, i: v.fulfillment.updated_at,
    "deliveredAt": lambda v, i: v.fulfillment.delivered_at,
    "inTransitAt": lambda v, i: _in_transit_at(v),
    "estimatedDeliveryAt": lambda v, i: _estimated_delivery(v),
    "trackingInfo": lambda v, i, first=None: _tracking(v, first),
    "order": lambda v, i: v.order,
}

REFUND: dict[str, Resolver] = {
    "id": lambda v, i: gid("Refund", v.refund.id),
    "legacyResourceId": lambda v, i: v.refund.id,
    "createdAt": lambda v, i: v.refund.created_at,
    "updatedAt": lambda v, i: v.refund.created_at,
    "note": lambda v, i: v.refund.note,
    "totalRefundedSet": lambda v, i: money_bag(v.refund.amount, v.order.currency),
    "order": lambda v, i: v.order,
    "return": lambda v, i: context(i).catalog.return_refund(v),
}

RETURN: dict[str, Resolver] = {
    "id": lambda v, i: gid("Return", v.ret.id),
    "name": lambda v, i: v.ret.name,
    "status": lambda v, i: v.ret.status,
    "createdAt": lambda v, i: v.ret.created_at,
    "closedAt": lambda v, i: v.ret.closed_at,
    "requestApprovedAt": lambda v, i: _approved_at(v),
    "totalQuantity": lambda v, i: 1,
    "order": lambda v, i: v.order,
}

SHOP: dict[str, Resolver] = {
    "id": lambda s, i: gid("Shop", 1),
    "name": lambda s, i: "NPS Sandbox",
    "email": lambda s, i: "owner@example.com",
    "myshopifyDomain": lambda s, i: s.domain,
    "currencyCode": lambda s, i: s.currency,
    "ianaTimezone": lambda s, i: "Europe/Paris",
}

OBJECT_RESOLVERS: dict[str, dict[str, Resolver]] = {
    "Order": ORDER,
    "Customer": CUSTOMER,
    "Fulfillment": FULFILLMENT,
    "Refund": REFUND,
    "Return": RETURN,
    "Shop": SHOP,
}

# Which GraphQL type a Python object is, for Node and other abstract fields.
TYPE_NAMES: dict[type, str] = {
    Order: "Order",
    Customer: "Customer",
    FulfillmentView: "Fulfillment",
    RefundView: "Refund",
    ReturnView: "Return",
    Shop: "Shop",
}
