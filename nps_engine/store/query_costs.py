"""The learned cost per node of each Shopify query (:class:`nps_engine.ports.QueryCostMemory`),
so a run's first page is sized from what Shopify charged the last run, not from the formula."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select

from nps_engine.store.database import Database, upsert
from nps_engine.store.models import ShopifyQueryCost


def _utc_now() -> datetime:
    return datetime.now(UTC)


class StoredQueryCosts:
    def __init__(
        self, database: Database, store: str, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self.database = database
        self.store = store
        self.clock = clock

    def node_cost(self, query: str) -> float | None:
        with self.database.session() as session:
            value = session.scalar(
                select(ShopifyQueryCost.points_per_node).where(
                    ShopifyQueryCost.store == self.store, ShopifyQueryCost.query == query
                )
            )
        return float(value) if value is not None else None

    def remember_node_cost(self, query: str, points_per_node: float) -> None:
        row = {
            "store": self.store,
            "query": query[:64],
            "points_per_node": points_per_node,
            "updated_at": self.clock(),
        }
        with self.database.session() as session:
            upsert(session, ShopifyQueryCost, [row])
