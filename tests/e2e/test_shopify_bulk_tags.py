"""Tag pushes above the bulk threshold go through ``bulkOperationRunMutation`` on the simulator:
the same tags land as with the aliased path, a deleted customer fails alone, the second push
writes nothing, and small pushes keep the aliased mutations."""

from __future__ import annotations

from datetime import timedelta

from shopify_sandbox import WORLD_NOW, client, simulator, world
from test_shopify_tags import GHOST, answer

from connectors.shopify.bulk_tags import ShopifyBulkTagWriter
from connectors.shopify.client import ShopifyClient
from connectors.shopify.source import ShopifyOrderSource
from jobs.push_tags import push_tags
from jobs.sync_shopify import sync_shopify
from nps_engine.config.settings import TagSettings
from nps_engine.ports import TagChange
from nps_engine.store import models
from nps_engine.store.database import Database
from sandbox.shopify.simulator import ShopifySimulator
from sandbox.world import World

__all__ = ["client", "simulator", "world"]

NOW = WORLD_NOW + timedelta(minutes=5)
SHOPIFY_TAGS = TagSettings().shopify
UPLOAD = "POST /staged-uploads"


def bulk_writer(client: ShopifyClient, threshold: int) -> ShopifyBulkTagWriter:
    return ShopifyBulkTagWriter(
        client, threshold=threshold, poll_seconds=0.01, sleep=lambda _s: None
    )


def test_a_large_push_goes_through_bulk_mutations_with_the_same_outcome(
    sqlite_database: Database,
    store_id: str,
    world: World,
    client: ShopifyClient,
    simulator: ShopifySimulator,
) -> None:
    customers = list(world.customers.values())[:6]
    with world.lock:
        customers[0].tags = ["VIP", "nps:detractor", "nps-score:3"]
        customers[0].updated_at = WORLD_NOW - timedelta(days=1)
    sync_shopify(sqlite_database, store_id, ShopifyOrderSource(client), NOW)
    for index, customer in enumerate(customers):
        answer(sqlite_database, store_id, customer.id, 10 if index % 2 == 0 else 2, days_ago=2)
    answer(sqlite_database, store_id, GHOST, 7, days_ago=1)  # deleted in Shopify

    writer = bulk_writer(client, threshold=5)
    summary = push_tags(sqlite_database, store_id, "shopify", writer, SHOPIFY_TAGS, NOW)

    assert (summary.planned, summary.pushed, summary.failed) == (7, 6, 1), summary.errors
    # One operation removes the stale tags, one adds the new ones; each staged one file (an
    # upload cut by the simulator's faults is sent again).
    assert writer.stats.operations == 2
    assert simulator.traffic.snapshot().calls_to(UPLOAD) >= 2
    assert sorted(customers[0].tags) == ["VIP", "nps-score:10", "nps:promoter"]
    for index, customer in enumerate(customers[1:], start=1):
        expected = "nps:promoter" if index % 2 == 0 else "nps:detractor"
        assert expected in customer.tags, customer.tags
    with sqlite_database.session() as session:
        ghost = session.get(models.TagState, (store_id, "shopify", GHOST))
        assert ghost is not None
        assert ghost.error == "permanent: Customer does not exist"

    before = simulator.traffic.snapshot().calls_to("POST /admin/api/{version}/graphql.json")
    second = push_tags(sqlite_database, store_id, "shopify", writer, SHOPIFY_TAGS, NOW)
    assert (second.planned, second.pushed) == (0, 0)
    after = simulator.traffic.snapshot().calls_to("POST /admin/api/{version}/graphql.json")
    assert after == before


def test_below_the_threshold_the_aliased_mutations_are_used(
    sqlite_database: Database,
    store_id: str,
    world: World,
    client: ShopifyClient,
    simulator: ShopifySimulator,
) -> None:
    customer = next(iter(world.customers.values()))
    sync_shopify(sqlite_database, store_id, ShopifyOrderSource(client), NOW)
    answer(sqlite_database, store_id, customer.id, 9, days_ago=1)

    writer = bulk_writer(client, threshold=2000)
    summary = push_tags(sqlite_database, store_id, "shopify", writer, SHOPIFY_TAGS, NOW)

    assert summary.pushed == 1
    assert writer.stats.operations == 0
    assert simulator.traffic.snapshot().calls_to(UPLOAD) == 0
    assert "nps:promoter" in customer.tags


def test_a_busy_shop_makes_the_push_wait_for_a_free_slot(
    world: World, client: ShopifyClient, simulator: ShopifySimulator
) -> None:
    """2026-01 allows five bulk mutations at once; the sixth waits instead of failing."""
    customers = list(world.customers.values())[:3]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        # While we wait, the shop works: a poll (of any operation) moves the others along.
        waits.append(seconds)
        simulator.bulk.observe_all()

    writer = ShopifyBulkTagWriter(client, threshold=1, poll_seconds=0.01, sleep=sleep)
    # Five operations that stay RUNNING until polled take all the shop's slots.
    for _ in range(5):
        path = writer._upload([(customers[0].id, ("busy",))])
        writer._start("tagsAdd", path)
    change = TagChange(customers[1].id, None, add=("nps:promoter",), remove=(), desired=())

    outcomes = list(writer.push([change]))

    assert [o.ok for o in outcomes] == [True]
    assert waits, "the push should have waited for a free slot"
    assert "nps:promoter" in customers[1].tags
