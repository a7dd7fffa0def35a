"""A Dev Dashboard app's expiring tokens against the simulator: a sync outlives its token, a
refused grant stops the run saying what to check, and no token reaches a log line."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

import pytest
from shopify_sandbox import WORLD_NOW, world
from sqlalchemy import func, select

from connectors.http import make_session
from connectors.shopify.client import ShopifyClient, grant_endpoint
from connectors.shopify.credentials import ClientCredentials
from connectors.shopify.errors import GrantRefused
from connectors.shopify.source import ShopifyOrderSource
from jobs.sync_shopify import sync_shopify
from nps_engine.records import Order
from nps_engine.store import models
from nps_engine.store.database import Database
from sandbox.shopify.cost import LeakyBucket
from sandbox.shopify.simulator import GRAPHQL_ROUTE, ShopifySimulator
from sandbox.world import World

__all__ = ["world"]

NOW = WORLD_NOW + timedelta(minutes=5)
LIFETIME = timedelta(minutes=10)


class SharedTime:
    """One clock for the simulator (datetimes) and the client (monotonic seconds)."""

    def __init__(self) -> None:
        self.now = WORLD_NOW

    def moment(self) -> datetime:
        return self.now

    def seconds(self) -> float:
        return (self.now - WORLD_NOW).total_seconds()


@pytest.fixture
def time() -> SharedTime:
    return SharedTime()


@pytest.fixture
def simulator(world: World, time: SharedTime) -> Iterator[ShopifySimulator]:
    simulator = ShopifySimulator(
        world, bucket=LeakyBucket(2000, 2000), clock=time.moment, token_lifetime=LIFETIME
    )
    with simulator:
        yield simulator


def _credentials(
    simulator: ShopifySimulator, world: World, time: SharedTime, secret: str | None = None
) -> ClientCredentials:
    return ClientCredentials(
        grant_endpoint(world.shop_domain, simulator.base_url),
        world.shop_domain,
        simulator.grants.client_id,
        secret or simulator.grants.client_secret,
        make_session(5.0),
        clock=time.seconds,
    )


class Ticking:
    """Moves time on by ``step`` after every page of orders the sync takes."""

    def __init__(self, inner: ShopifyOrderSource, time: SharedTime, step: timedelta) -> None:
        self.inner, self.time, self.step = inner, time, step
        self.pages = 0

    def order_pages(self, after: datetime | None, before: datetime) -> Iterator[Sequence[Order]]:
        for page in self.inner.order_pages(after, before):
            yield page
            self.pages += 1
            self.time.now += self.step

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def _in_window(world: World) -> int:
    return sum(1 for o in world.orders.values() if o.updated_at > NOW - timedelta(days=365))


def _orders(database: Database, store_id: str) -> int:
    with database.session() as session:
        count = session.scalar(
            select(func.count()).select_from(models.Order).where(models.Order.store == store_id)
        )
    return int(count or 0)


def _sync(database: Database, store_id: str, client: ShopifyClient, time: SharedTime) -> int:
    """Sync, a whole token lifetime passing after each page of orders; the pages read."""
    source = ShopifyOrderSource(client, page_cost=20)  # small pages: many requests
    ticking = Ticking(source, time, LIFETIME)
    sync_shopify(database, store_id, ticking, NOW)  # type: ignore[arg-type]
    return ticking.pages


def test_a_sync_renews_its_token_before_it_expires(
    sqlite_database: Database,
    store_id: str,
    world: World,
    simulator: ShopifySimulator,
    time: SharedTime,
) -> None:
    credentials = _credentials(simulator, world, time)
    client = ShopifyClient(world.shop_domain, credentials, api_base_url=simulator.base_url)
    pages = _sync(sqlite_database, store_id, client, time)
    assert _orders(sqlite_database, store_id) == _in_window(world)
    assert pages >= 3
    assert credentials.grants >= pages  # a new token for each lifetime the run lasted
    assert simulator.traffic.snapshot().calls_by_status.get(401, 0) == 0  # renewed ahead of time


def test_a_token_that_dies_early_is_replaced_once_and_the_request_repeated(
    sqlite_database: Database,
    store_id: str,
    world: World,
    simulator: ShopifySimulator,
    time: SharedTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    credentials = _credentials(simulator, world, time)
    client = ShopifyClient(world.shop_domain, credentials, api_base_url=simulator.base_url)
    seen_tokens: list[str] = []
    revoke_after = 3

    class Revoking(ShopifyOrderSource):
        pages = 0

        def order_pages(
            self, after: datetime | None, before: datetime
        ) -> Iterator[Sequence[Order]]:
            for page in super().order_pages(after, before):
                seen_tokens.append(credentials.token())
                yield page
                Revoking.pages += 1
                if Revoking.pages == revoke_after:
                    simulator.grants.revoke_all()  # the app was reinstalled mid-sync

    caplog.set_level(logging.DEBUG)
    source = Revoking(client, page_cost=60)
    sync_shopify(sqlite_database, store_id, source, NOW)
    assert _orders(sqlite_database, store_id) == _in_window(world)
    assert Revoking.pages > revoke_after
    assert simulator.traffic.snapshot().calls_by_status.get(401, 0) == 1
    assert credentials.grants == 2
    logged = caplog.text
    assert all(token not in logged for token in set(seen_tokens))
    assert simulator.grants.client_secret not in logged


def test_a_refused_grant_stops_with_what_to_check_in_the_dev_dashboard(
    world: World, simulator: ShopifySimulator, time: SharedTime
) -> None:
    credentials = _credentials(simulator, world, time, secret="shpss_wrong_secret_0001")
    client = ShopifyClient(world.shop_domain, credentials, api_base_url=simulator.base_url)
    with pytest.raises(GrantRefused) as refused:
        client.execute("{ shop { name } }")
    message = str(refused.value)
    assert "invalid_client" in message
    assert "Dev Dashboard" in message
    assert "installed on" in message
    assert "shpss_wrong_secret_0001" not in message
    assert simulator.traffic.snapshot().calls_by_route.get(GRAPHQL_ROUTE, 0) == 0


def test_an_app_that_is_not_installed_is_told_apart(
    world: World, simulator: ShopifySimulator, time: SharedTime
) -> None:
    simulator.grants.installed = False
    client = ShopifyClient(
        world.shop_domain, _credentials(simulator, world, time), api_base_url=simulator.base_url
    )
    with pytest.raises(GrantRefused, match="app_not_installed"):
        client.execute("{ shop { name } }")
