"""A seeded, deterministic generator of one shop's world (see :mod:`sandbox.world`).

Same ``(customers, seed, now)`` -> an identical world, field for field: everything is drawn from
one ``random.Random(seed)`` in a fixed order and nothing reads the clock. Shapes the product must
cope with are generated on purpose: one-time and repeat buyers, guest orders, cancelled orders,
fulfilments without tracking (no ``deliveredAt``), late deliveries, refunds and returns for a few
percent, email addresses typed with capitals or spaces, Zendesk users that match no customer or
have no email, and tickets that are likelier after a return or a late delivery.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sandbox.generator_support import add_support
from sandbox.generator_text import (
    COUNTRIES,
    FIRST_NAMES,
    LAST_NAMES,
    LOCALE_WEIGHTS,
    OTHER_APP_TAGS,
)
from sandbox.world import Customer, Fulfillment, Order, Refund, Return, World

HISTORY = timedelta(days=548)  # orders over the last 18 months
CUSTOMER_ID_BASE = 7_000_000_000_000
ORDER_ID_BASE = 5_500_000_000_000
FULFILLMENT_ID_BASE = 4_800_000_000_000
REFUND_ID_BASE = 950_000_000_000
RETURN_ID_BASE = 12_000_000_000
FIRST_ORDER_NUMBER = 1001
CARRIERS = ("UPS", "DHL Express", "La Poste", "DPD", "USPS")


@dataclass(slots=True)
class _DraftOrder:
    customer_index: int | None  # index into the draft customer list; None for a guest
    created_at: datetime
    email: str | None


@dataclass(slots=True)
class _Counters:
    fulfillment: int = 0
    refund: int = 0
    ret: int = 0
    by_customer: dict[int, list[int]] = field(default_factory=dict)


def generate(customers: int, seed: int, now: datetime, *, mean_orders: float = 2.5) -> World:
    """The world for ``seed``: ``customers`` Shopify customers, about ``mean_orders`` orders each.

    ``now`` must be timezone-aware; every generated date lies before it.
    """
    if now.tzinfo is None:
        raise ValueError("generate(now=...) needs a timezone-aware datetime")
    if customers < 0:
        raise ValueError("generate(customers=...) must be zero or more")
    now = now.astimezone(UTC).replace(microsecond=0)
    rng = random.Random(seed)
    people = _customers(rng, customers, now)
    drafts = _draft_orders(rng, people, now, mean_orders)
    counters = _Counters()
    orders = _orders(rng, drafts, people, now, counters)
    customer_map = {c.id: c for c in people}
    world = World(
        seed=seed,
        now=now,
        shop_domain="nps-sandbox.myshopify.com",
        currency="EUR",
        customers=customer_map,
        orders={o.id: o for o in orders},
        zendesk_users={},
        tickets={},
        true_experience={},
        orders_by_customer=counters.by_customer,
    )
    add_support(world, rng)
    return world


def _customers(rng: random.Random, count: int, now: datetime) -> list[Customer]:
    created = sorted(_moment(rng, now - HISTORY, now - timedelta(hours=2)) for _ in range(count))
    locales = rng.choices(list(LOCALE_WEIGHTS), weights=list(LOCALE_WEIGHTS.values()), k=count)
    return [
        _customer(rng, k, at, locale)
        for k, (at, locale) in enumerate(zip(created, locales, strict=True))
    ]


def _customer(rng: random.Random, k: int, created_at: datetime, locale: str) -> Customer:
    first = rng.choice(FIRST_NAMES[locale])
    last = rng.choice(LAST_NAMES[locale])
    has_email = rng.random() > 0.02  # phone-only customers exist
    tags = [rng.choice(OTHER_APP_TAGS)] if rng.random() < 0.2 else []
    return Customer(
        id=CUSTOMER_ID_BASE + 13 * k,
        email=_typed_email(rng, first, last, k) if has_email else None,
        first_name=first,
        last_name=last,
        locale=locale,
        country=rng.choice(COUNTRIES[locale]),
        tags=tags,
        marketing_state=rng.choices(
            ("SUBSCRIBED", "NOT_SUBSCRIBED", "UNSUBSCRIBED"), weights=(45, 45, 10)
        )[0],
        created_at=created_at,
        updated_at=created_at,
        phone=None if has_email else f"+3361{k:07d}"[:12],
    )


def _typed_email(rng: random.Random, first: str, last: str, k: int) -> str:
    """An address as a customer types it: mostly lowercase, some capitals, a few stray spaces."""
    local = f"{_ascii(first)}.{_ascii(last)}{k}"
    domain = rng.choice(("example.com", "example.org", "example.net"))
    roll = rng.random()
    if roll < 0.08:
        return f"{local.title()}@{domain}"
    if roll < 0.10:
        return f" {local}@{domain.upper()} "
    return f"{local.lower()}@{domain}"


def _ascii(name: str) -> str:
    table = str.maketrans("éèëêàâäöüïîçñóáíúß", "eeeeaaaouiicnoaius")
    return name.lower().translate(table).replace(" ", "").replace("'", "")


def _draft_orders(
    rng: random.Random, people: list[Customer], now: datetime, mean_orders: float
) -> list[_DraftOrder]:
    drafts: list[_DraftOrder] = []
    for index, person in enumerate(people):
        for at in _purchase_times(rng, person.created_at, now, mean_orders):
            drafts.append(_DraftOrder(index, at, person.email))
    guests = int(len(drafts) * 0.06)
    for g in range(guests):
        at = _moment(rng, now - HISTORY, now - timedelta(minutes=5))
        email = f"guest{g}@example.com" if rng.random() < 0.9 else None
        drafts.append(_DraftOrder(None, at, email))
    drafts.sort(key=lambda d: d.created_at)
    return drafts


def _purchase_times(
    rng: random.Random, start: datetime, now: datetime, mean_orders: float
) -> list[datetime]:
    """0 orders for a few, 1 for one-time buyers, several for repeat buyers."""
    roll = rng.random()
    if roll < 0.05:
        return []
    # 5% none, 55% once, 40% repeat: 0.55 + 0.4 * (2 + extra) = mean_orders; floor() loses ~0.5.
    extra = max((mean_orders - 0.55) / 0.4 - 1.5, 0.2)
    count = 1 if roll < 0.55 else 2 + int(rng.expovariate(1 / extra))
    first = start + timedelta(minutes=rng.randint(1, 120))
    if first >= now:
        return []
    times = [first] + [_moment(rng, first, now) for _ in range(count - 1)]
    return sorted(times)


def _orders(
    rng: random.Random,
    drafts: list[_DraftOrder],
    people: list[Customer],
    now: datetime,
    counters: _Counters,
) -> list[Order]:
    orders = []
    for k, draft in enumerate(drafts):
        customer = people[draft.customer_index] if draft.customer_index is not None else None
        order = _order(rng, k, draft, customer, now, counters)
        if customer is not None:
            counters.by_customer.setdefault(customer.id, []).append(order.id)
            customer.updated_at = max(customer.updated_at, order.created_at)
        orders.append(order)
    return orders


def _order(
    rng: random.Random,
    k: int,
    draft: _DraftOrder,
    customer: Customer | None,
    now: datetime,
    counters: _Counters,
) -> Order:
    total = Decimal(rng.randint(1500, 30000)) / 100
    order = Order(
        id=ORDER_ID_BASE + 17 * k,
        name=f"#{FIRST_ORDER_NUMBER + k}",
        customer_id=customer.id if customer else None,
        email=draft.email,
        created_at=draft.created_at,
        updated_at=draft.created_at,
        total_price=total,
        currency="EUR",
    )
    if rng.random() < 0.02:
        _cancel(rng, order, now, counters)
    else:
        _fulfil(rng, order, now, counters)
    return order


def _cancel(rng: random.Random, order: Order, now: datetime, counters: _Counters) -> None:
    order.cancelled_at = min(order.created_at + timedelta(hours=rng.uniform(0.2, 30)), now)
    order.cancel_reason = rng.choice(("CUSTOMER", "INVENTORY", "DECLINED", "FRAUD"))
    order.updated_at = order.cancelled_at
    if rng.random() < 0.6:
        refund = _refund(counters, order.cancelled_at, order.total_price, "Order canceled")
        order.refunds = (refund,)


def _fulfil(rng: random.Random, order: Order, now: datetime, counters: _Counters) -> None:
    shipped = _seconds(order.created_at + timedelta(days=rng.uniform(0.2, 3)))
    if shipped >= now:
        return  # not fulfilled yet
    fulfillment = _fulfillment(rng, shipped, now, counters)
    order.fulfillments = (fulfillment,)
    order.updated_at = max(order.updated_at, fulfillment.updated_at)
    if fulfillment.delivered_at is None:
        if rng.random() < 0.01:
            _refund_only(rng, order, now, counters)
        return
    if rng.random() < 0.045:
        _return(rng, order, fulfillment.delivered_at, now, counters)
    elif rng.random() < 0.02:
        _refund_only(rng, order, now, counters)


def _fulfillment(
    rng: random.Random, shipped: datetime, now: datetime, counters: _Counters
) -> Fulfillment:
    counters.fulfillment += 1
    tracked = rng.random() < 0.88
    late = tracked and rng.random() < 0.12
    transit = timedelta(days=rng.uniform(7.5, 16) if late else rng.uniform(1, 5.5))
    delivered = _seconds(shipped + transit) if tracked else None
    in_transit = delivered is not None and delivered > now
    status = "FULFILLED" if not tracked else "IN_TRANSIT" if in_transit else "DELIVERED"
    return Fulfillment(
        id=FULFILLMENT_ID_BASE + counters.fulfillment,
        created_at=shipped,
        updated_at=shipped if delivered is None or in_transit else delivered,
        delivered_at=None if in_transit else delivered,
        display_status=status,
        tracking_number=f"1Z{rng.randint(10**15, 10**16 - 1)}" if tracked else None,
        tracking_company=rng.choice(CARRIERS) if tracked else None,
        late=late and not in_transit,
    )


def _return(
    rng: random.Random, order: Order, delivered: datetime, now: datetime, counters: _Counters
) -> None:
    opened = _seconds(delivered + timedelta(days=rng.uniform(1, 20)))
    if opened >= now:
        return
    counters.ret += 1
    status = rng.choices(
        ("CLOSED", "OPEN", "REQUESTED", "DECLINED", "CANCELED"), (60, 15, 10, 10, 5)
    )
    closed = min(_seconds(opened + timedelta(days=rng.uniform(2, 12))), now)
    done = status[0] in {"CLOSED", "DECLINED", "CANCELED"}
    order.returns = (
        Return(
            id=RETURN_ID_BASE + counters.ret,
            name=f"{order.name}-R1",
            status=status[0],
            created_at=opened,
            closed_at=closed if done else None,
        ),
    )
    order.updated_at = max(order.updated_at, closed if done else opened)
    if status[0] == "CLOSED":
        order.refunds = (_refund(counters, closed, order.total_price, "Returned"),)


def _refund_only(rng: random.Random, order: Order, now: datetime, counters: _Counters) -> None:
    at = min(_seconds(order.updated_at + timedelta(days=rng.uniform(0.5, 15))), now)
    amount = (order.total_price * Decimal(rng.choice((25, 50, 100)))) / 100
    order.refunds = (_refund(counters, at, amount.quantize(Decimal("0.01")), "Goodwill"),)
    order.updated_at = max(order.updated_at, at)


def _refund(counters: _Counters, at: datetime, amount: Decimal, note: str) -> Refund:
    counters.refund += 1
    return Refund(id=REFUND_ID_BASE + counters.refund, created_at=at, amount=amount, note=note)


def _moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A whole second, uniformly between ``start`` and ``end`` (Shopify dates have no fraction)."""
    span = max(int((end - start).total_seconds()), 1)
    return start + timedelta(seconds=rng.randrange(span))


def _seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)
