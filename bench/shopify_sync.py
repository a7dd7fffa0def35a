"""How close to Shopify's rate limit do the Shopify sync, backfill and tag push run?

Against the simulator with a standard plan's bucket (2000 points, restored at 100 per second),
no faults and nothing else using the bucket, three phases, each in its own process (so each peak
RSS is its own) with its simulator in a child process (so the simulator's memory is not ours):

- incremental: every order of a shop with about 20,000 orders, page by page (orders only);
- bulk: a 100,000-order backfill by bulk operation, streamed into SQLite;
- tags: 5,000 customers' tags pushed, then the same push again (must make zero write calls).
- bulk_tags: 50,000 customers' tags pushed through bulk mutations (``--bulk-tags``), against the
  bound of today's aliased path on the same changes (10 points a mutation from the bucket).
  Target: under 10 minutes.

For each it prints HTTP calls, total query cost (points charged), THROTTLED answers, wall time,
and the lower bound no client can beat: (total cost - bucket size) / restore rate. Targets: wall
time within 1.15x of the bound, zero THROTTLED, zero writes on the second push, and peak RSS
under 300 MB for the backfill. The phases run in parallel (each has its own bucket).

    python bench/shopify_sync.py                          # all three, full size (~20 minutes)
    python bench/shopify_sync.py --phase tags --tags 500  # one phase, smaller
    python bench/shopify_sync.py --phase bulk_tags --bulk-tags 50000
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from connectors.shopify.bulk_tags import ShopifyBulkTagWriter
from connectors.shopify.client import ShopifyClient
from connectors.shopify.source import ShopifyOrderSource
from connectors.shopify.tags import ShopifyTagWriter
from jobs.push_tags import push_tags
from jobs.sync_shopify import sync_shopify
from nps_engine.config.settings import TagSettings
from nps_engine.records import Customer, Order
from nps_engine.store import models
from nps_engine.store.database import Database

WORLD_NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
NOW = WORLD_NOW + timedelta(minutes=5)
BUCKET, RESTORE = 2000, 100
MUTATION_POINTS = 10  # what Shopify charges one tagsAdd/tagsRemove
ORDERS_PER_CUSTOMER = 2.82  # what the generator draws on average (mean_orders=2.5 + repeaters)
ALL_HISTORY_DAYS = 600


def serve(customers: int, seed: int, pipe: Connection) -> None:
    """The child: generate the world, serve it, report the customer ids and the traffic."""
    from sandbox.generator import generate
    from sandbox.shopify.cost import LeakyBucket
    from sandbox.shopify.simulator import DEFAULT_ACCESS_TOKEN, ShopifySimulator

    world = generate(customers, seed, WORLD_NOW)
    simulator = ShopifySimulator(
        world, bucket=LeakyBucket(BUCKET, RESTORE), clock=lambda: WORLD_NOW
    )
    with simulator:
        pipe.send(
            {
                "url": simulator.base_url,
                "token": DEFAULT_ACCESS_TOKEN,
                "shop": world.shop_domain,
                "orders": len(world.orders),
                "customer_ids": sorted(world.customers),
            }
        )
        pipe.recv()  # wait until the phase is done
        snapshot = simulator.traffic.snapshot()
        pipe.send({"calls": snapshot.calls, "cost": snapshot.cost, "throttled": snapshot.throttled})


class OrdersOnly:
    """Only the orders half of the source (incremental), or only its backfill."""

    def __init__(self, inner: ShopifyOrderSource, *, incremental: bool) -> None:
        self.inner = inner
        self.incremental = incremental

    def order_pages(self, after: datetime | None, before: datetime) -> Iterator[Sequence[Order]]:
        return self.inner.order_pages(after, before) if self.incremental else iter(())

    def customer_pages(
        self, after: datetime | None, before: datetime
    ) -> Iterator[Sequence[Customer]]:
        return iter(())

    def backfill_orders(self, created_after: datetime) -> Iterator[Order]:
        return self.inner.backfill_orders(created_after)


def run_phase(phase: str, size: int, seed: int) -> None:
    tagging = phase in {"tags", "bulk_tags"}
    customers = max(1, round(size / ORDERS_PER_CUSTOMER)) if not tagging else size + 500
    parent, child = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(
        target=serve, args=(customers, seed, child)
    )
    server.start()
    shop = parent.recv()
    client = ShopifyClient(shop["shop"], shop["token"], api_base_url=shop["url"], timeout=120)
    source = ShopifyOrderSource(client, bulk_poll_seconds=1.0)
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{Path(folder) / 'bench.db'}")
        database.upgrade()
        started = time.monotonic()
        extra = PHASES[phase](database, source, client, shop)
        wall = time.monotonic() - started
        database.dispose()
    parent.send("done")
    server_side = parent.recv()
    server.join()
    report(phase, shop, client, server_side, wall, extra)


def incremental(
    database: Database, source: ShopifyOrderSource, client: ShopifyClient, shop: dict[str, Any]
) -> str:
    summary = sync_shopify(
        database, "bench", OrdersOnly(source, incremental=True), NOW, backfill_days=ALL_HISTORY_DAYS
    )
    return f"orders synced {summary.orders} of {shop['orders']} in {summary.pages} pages"


def bulk(
    database: Database, source: ShopifyOrderSource, client: ShopifyClient, shop: dict[str, Any]
) -> str:
    started = time.monotonic()
    timings: dict[str, float] = {}
    download = client.download

    def timed_download(url: str, destination: Path) -> int:
        timings["running"] = time.monotonic() - started
        size = download(url, destination)
        timings["download"] = time.monotonic() - started - timings["running"]
        timings["megabytes"] = size / 1e6
        return size

    client.download = timed_download  # type: ignore[method-assign]
    summary = sync_shopify(
        database,
        "bench",
        OrdersOnly(source, incremental=False),
        NOW,
        full=True,
        backfill_days=ALL_HISTORY_DAYS,
    )
    rest = time.monotonic() - started - timings["running"] - timings["download"]
    return (
        f"orders backfilled {summary.backfilled_orders} of {shop['orders']}; bulk operation "
        f"running (simulator side) {timings['running']:.1f} s, download "
        f"{timings['megabytes']:.1f} MB in {timings['download']:.1f} s, join and store {rest:.1f} s"
    )


def answered_customers(database: Database, shop: dict[str, Any]) -> None:
    """An answer for every customer but the last 500, so each has tags to receive."""
    ids = shop["customer_ids"][: len(shop["customer_ids"]) - 500]
    with database.session() as session:
        for index, customer_id in enumerate(ids):
            session.add(
                models.Response(
                    store="bench",
                    import_key=str(customer_id),
                    source="import",
                    kind="transactional",
                    customer_id=customer_id,
                    score=index % 11,
                    responded_at=NOW - timedelta(days=1 + index % 60),
                    updated_at=NOW,
                )
            )


def tags(
    database: Database, source: ShopifyOrderSource, client: ShopifyClient, shop: dict[str, Any]
) -> str:
    answered_customers(database, shop)
    writer = ShopifyTagWriter(client)
    form = TagSettings().shopify
    first = push_tags(database, "bench", "shopify", writer, form, NOW)
    calls = client.stats.calls
    second = push_tags(database, "bench", "shopify", writer, form, NOW)
    return (
        f"customers tagged {first.pushed} (failed {first.failed}); second push planned "
        f"{second.planned}, write calls {client.stats.calls - calls}"
    )


def bulk_tags(
    database: Database, source: ShopifyOrderSource, client: ShopifyClient, shop: dict[str, Any]
) -> str:
    answered_customers(database, shop)
    writer = ShopifyBulkTagWriter(client, threshold=2000, poll_seconds=1.0)
    form = TagSettings().shopify
    plan = push_tags(database, "bench", "shopify", writer, form, NOW, dry_run=True)
    mutations = sum(bool(c.add) + bool(c.remove) for c in plan.changes)
    started = time.monotonic()
    first = push_tags(database, "bench", "shopify", writer, form, NOW)
    wall = time.monotonic() - started
    aliased_bound = max(0.0, (MUTATION_POINTS * mutations - BUCKET) / RESTORE)
    return (
        f"customers tagged {first.pushed} (failed {first.failed}) in {wall:.1f} s through "
        f"{writer.stats.operations} bulk operations; the aliased path's bound for the same "
        f"{mutations} mutations: {aliased_bound:.0f} s ({aliased_bound / wall:.1f}x slower)"
    )


PHASES = {"incremental": incremental, "bulk": bulk, "tags": tags, "bulk_tags": bulk_tags}
SIZES = {"incremental": "orders", "bulk": "bulk_orders", "tags": "tags", "bulk_tags": "bulk_tags"}


def report(
    phase: str,
    shop: dict[str, Any],
    client: ShopifyClient,
    server_side: dict[str, Any],
    wall: float,
    extra: str,
) -> None:
    stats = client.stats
    bound = max(0.0, (stats.actual_cost - BUCKET) / RESTORE)
    ratio = f"{wall / bound:.3f}x the bound" if bound > 0 else "bound 0 (fits in the bucket)"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"[{phase}] {extra}\n"
        f"  HTTP calls {stats.calls} (simulator saw {server_side['calls']}), total query cost "
        f"{stats.actual_cost} (simulator charged {server_side['cost']}), THROTTLED "
        f"{stats.throttled} (simulator {server_side['throttled']})\n"
        f"  wall {wall:.1f} s, lower bound {bound:.1f} s: {ratio}; "
        f"waited for the bucket {stats.bucket_wait_seconds:.1f} s; peak RSS {peak:.0f} MB",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phase", choices=["all", *PHASES], default="all")
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--bulk-orders", type=int, default=100_000)
    parser.add_argument("--tags", type=int, default=5_000)
    parser.add_argument("--bulk-tags", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.phase != "all":
        run_phase(args.phase, getattr(args, SIZES[args.phase]), args.seed)
        return
    common = [
        "--orders",
        str(args.orders),
        "--bulk-orders",
        str(args.bulk_orders),
        "--tags",
        str(args.tags),
        "--bulk-tags",
        str(args.bulk_tags),
        "--seed",
        str(args.seed),
    ]
    runs = [
        subprocess.Popen([sys.executable, __file__, "--phase", phase, *common]) for phase in PHASES
    ]
    sys.exit(max(run.wait() for run in runs))


if __name__ == "__main__":
    main()
