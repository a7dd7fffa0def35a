"""The generated world: deterministic for a seed, holding every shape the product must handle."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from nps_engine.records import normalise_email
from sandbox.generator import generate
from sandbox.world import World

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> World:
    return generate(2000, seed=42, now=NOW)


def _snapshot(world: World) -> tuple[object, ...]:
    return (
        world.customers,
        world.orders,
        world.zendesk_users,
        world.tickets,
        world.true_experience,
    )


def test_same_seed_gives_an_identical_world(world: World) -> None:
    assert _snapshot(generate(2000, seed=42, now=NOW)) == _snapshot(world)


def test_another_seed_gives_another_world(world: World) -> None:
    other = generate(2000, seed=43, now=NOW)
    assert [c.email for c in other.customers.values()] != [
        c.email for c in world.customers.values()
    ]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        generate(10, seed=1, now=datetime(2026, 1, 1))


def test_ids_and_names_grow_with_creation_time(world: World) -> None:
    orders = list(world.orders.values())
    assert [o.created_at for o in orders] == sorted(o.created_at for o in orders)
    assert [o.id for o in orders] == sorted(o.id for o in orders)
    assert orders[0].name == "#1001"
    customers = list(world.customers.values())
    assert [c.created_at for c in customers] == sorted(c.created_at for c in customers)


def test_every_date_is_in_the_past_and_updates_follow_creation(world: World) -> None:
    for order in world.orders.values():
        assert order.created_at <= order.updated_at <= NOW
        for fulfillment in order.fulfillments:
            assert order.created_at <= fulfillment.created_at
            assert fulfillment.delivered_at is None or fulfillment.delivered_at <= NOW
    for ticket in world.tickets.values():
        assert ticket.created_at <= ticket.updated_at <= NOW
        assert ticket.created_at.microsecond == 0


def test_orders_cover_guests_cancellations_untracked_deliveries_returns_and_refunds(
    world: World,
) -> None:
    orders = list(world.orders.values())
    assert any(o.customer_id is None for o in orders)
    assert any(o.cancelled_at is not None for o in orders)
    assert any(o.fulfillments and o.delivered_at is None for o in orders)
    share_returned = sum(bool(o.returns) for o in orders) / len(orders)
    share_refunded = sum(bool(o.refunds) for o in orders) / len(orders)
    assert 0.01 < share_returned < 0.08
    assert 0.01 < share_refunded < 0.10
    assert all(o.delivered_at is None for o in orders if o.cancelled_at)


def test_there_are_one_time_and_repeat_buyers(world: World) -> None:
    counts = [len(ids) for ids in world.orders_by_customer.values()]
    assert counts.count(1) > 0.3 * len(counts)
    assert sum(c >= 3 for c in counts) > 0.1 * len(counts)


def test_zendesk_users_mostly_match_customers_some_in_other_case_some_without_email(
    world: World,
) -> None:
    shop_emails = {normalise_email(c.email) for c in world.customers.values()}
    users = list(world.zendesk_users.values())
    matching = [u for u in users if normalise_email(u.email) in shop_emails]
    assert len(matching) > 0.6 * len(users)
    assert any(u.email != normalise_email(u.email) for u in matching)
    assert any(u.email is None for u in users)
    assert any(u.email and normalise_email(u.email) not in shop_emails for u in users)


def test_customers_with_returns_open_tickets_more_often(world: World) -> None:
    requesters = {
        normalise_email(world.zendesk_users[t.requester_id].email) for t in world.tickets.values()
    }

    def ticket_rate(customers: list[int]) -> float:
        emails = [normalise_email(world.customers[c].email) for c in customers]
        return sum(e in requesters for e in emails if e) / max(len(emails), 1)

    returned = [c for c in world.customers if any(o.returns for o in world.customer_orders(c))]
    smooth = [c for c in world.customers if c not in set(returned)]
    assert ticket_rate(returned) > 2 * ticket_rate(smooth)


def test_true_experience_is_lower_after_returns(world: World) -> None:
    returned = {c for c in world.customers if any(o.returns for o in world.customer_orders(c))}
    low = [world.true_experience[c] for c in returned]
    high = [e for c, e in world.true_experience.items() if c not in returned]
    assert all(0 <= e <= 10 for e in world.true_experience.values())
    assert sum(low) / len(low) < sum(high) / len(high) - 1


def test_new_tickets_get_fresh_ids(world: World) -> None:
    assert world.next_id("ticket") == max(world.tickets) + 1
    assert world.next_id("ticket") == max(world.tickets) + 2
