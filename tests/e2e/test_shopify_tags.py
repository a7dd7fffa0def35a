"""``push_tags`` with the Shopify writer against the simulator: tags appear on the customers,
other apps' tags survive, stale NPS tags go, a second push with nothing new writes nothing."""

from __future__ import annotations

from datetime import timedelta

from shopify_sandbox import WORLD_NOW, client, simulator, world
from sqlalchemy import select

from connectors.shopify.client import ShopifyClient
from connectors.shopify.source import ShopifyOrderSource
from connectors.shopify.tags import ShopifyTagWriter
from jobs.push_tags import push_tags
from jobs.sync_shopify import sync_shopify
from nps_engine.config.settings import TagSettings
from nps_engine.store import models
from nps_engine.store.database import Database
from sandbox.shopify.simulator import ShopifySimulator
from sandbox.world import World

__all__ = ["client", "simulator", "world"]

NOW = WORLD_NOW + timedelta(minutes=5)
SHOPIFY_TAGS = TagSettings().shopify
GRAPHQL = "POST /admin/api/{version}/graphql.json"
GHOST = 999_999_999


def answer(database: Database, store: str, customer_id: int, score: int, days_ago: int) -> None:
    with database.session() as session:
        session.add(
            models.Response(
                store=store,
                import_key=f"{customer_id}-{days_ago}",
                source="import",
                kind="transactional",
                customer_id=customer_id,
                email=None,
                score=score,
                responded_at=NOW - timedelta(days=days_ago),
                updated_at=NOW - timedelta(days=days_ago),
            )
        )


def writes(simulator: ShopifySimulator) -> int:
    return simulator.traffic.snapshot().calls_to(GRAPHQL)


def test_tags_are_pushed_once_and_a_second_push_writes_nothing(
    sqlite_database: Database,
    store_id: str,
    world: World,
    client: ShopifyClient,
    simulator: ShopifySimulator,
) -> None:
    promoter, detractor, returning = list(world.customers.values())[:3]
    with world.lock:
        # An older answer's tags, put there by hand (a tag edit is an update).
        promoter.tags = ["VIP", "nps:detractor", "nps-score:3"]
        promoter.updated_at = WORLD_NOW - timedelta(days=1)
    sync_shopify(sqlite_database, store_id, ShopifyOrderSource(client), NOW)
    answer(sqlite_database, store_id, promoter.id, 10, days_ago=2)
    answer(sqlite_database, store_id, detractor.id, 2, days_ago=3)
    answer(sqlite_database, store_id, returning.id, 9, days_ago=40)
    answer(sqlite_database, store_id, returning.id, 8, days_ago=1)
    answer(sqlite_database, store_id, GHOST, 7, days_ago=1)  # a customer deleted in Shopify

    writer = ShopifyTagWriter(client)
    first = push_tags(sqlite_database, store_id, "shopify", writer, SHOPIFY_TAGS, NOW)
    assert (first.planned, first.pushed, first.failed) == (4, 3, 1)
    assert sorted(promoter.tags) == ["VIP", "nps-score:10", "nps:promoter"]
    assert "nps:detractor" in detractor.tags
    assert "nps:churn-risk" in detractor.tags
    assert "nps-score:8" in returning.tags
    with sqlite_database.session() as session:
        ghost = session.get(models.TagState, (store_id, "shopify", GHOST))
        assert ghost is not None
        assert ghost.error == "permanent: Customer does not exist"

    before = writes(simulator)
    second = push_tags(sqlite_database, store_id, "shopify", writer, SHOPIFY_TAGS, NOW)
    assert (second.planned, second.pushed, second.failed) == (0, 0, 0)
    assert writes(simulator) == before


def test_a_new_answer_moves_the_tags_and_a_dry_run_only_plans(
    sqlite_database: Database,
    store_id: str,
    world: World,
    client: ShopifyClient,
    simulator: ShopifySimulator,
) -> None:
    customer = next(iter(world.customers.values()))
    answer(sqlite_database, store_id, customer.id, 6, days_ago=30)
    writer = ShopifyTagWriter(client)
    push_tags(sqlite_database, store_id, "shopify", writer, SHOPIFY_TAGS, NOW)
    answer(sqlite_database, store_id, customer.id, 9, days_ago=1)

    before = writes(simulator)
    plan = push_tags(sqlite_database, store_id, "shopify", writer, SHOPIFY_TAGS, NOW, dry_run=True)
    assert writes(simulator) == before
    (change,) = plan.changes
    assert set(change.remove) == {"nps:detractor", "nps-score:6", "nps:churn-risk"}
    assert set(change.add) == {"nps:promoter", "nps-score:9"}

    push_tags(sqlite_database, store_id, "shopify", writer, SHOPIFY_TAGS, NOW)
    ours = sorted(t for t in customer.tags if t.startswith("nps"))
    assert ours == ["nps-score:9", "nps:promoter"]
    with sqlite_database.session() as session:
        state = session.scalars(select(models.TagState)).one()
        assert sorted(state.tags) == ["nps-score:9", "nps:promoter"]
