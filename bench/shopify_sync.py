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

The client connects as a Dev Dashboard app (client credentials grant) to a simulator whose costs
are calibrated on real recorded answers. The incremental phase also prints the calls per 1,000
orders and the mean real cost per call as a share of the 1000-point single-query limit, for page
sizes learned from Shopify's answers and, as the reference in the same run, for pages sized by
the static estimate alone (what the client did before); targets: pages after the first use at
least 80% of the limit or 250 orders, and the sync stays within 1.10x of the bound.

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
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from connectors.http import make_session
from connectors.shopify.bulk_tags import ShopifyBulkTagWriter
from connectors.shopify.client import GraphQLResult, ShopifyClient, token_source
from connectors.shopify.cost import MAX_QUERY_COST, CostBucket, page_size
from connectors.shopify.paging import PageSizer
from connectors.shopify.queries import ORDERS_UPDATED
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
    from sandbox.shopify.simulator import ShopifySimulator

    world = generate(customers, seed, WORLD_NOW)
    simulator = ShopifySimulator(
        world, bucket=LeakyBucket(BUCKET, RESTORE), clock=lambda: WORLD_NOW
    )
    with simulator:
        pipe.send(
            {
                "url": simulator.base_url,
                "client_id": simulator.grants.client_id,
                "client_secret": simulator.grants.client_secret,
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
    client = dev_dashboard_client(shop)
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


class PageLog(ShopifyClient):
    """The client, noting each orders page: its ``first`` and its real requested cost."""

    pages: list[tuple[int, int]]

    def execute(
        self,
        document: str,
        variables: Mapping[str, Any] | None = None,
        *,
        expected_cost: int | None = None,
    ) -> GraphQLResult:
        result = super().execute(document, variables, expected_cost=expected_cost)
        if document == ORDERS_UPDATED and variables:
            requested = int(result.cost.get("requestedQueryCost") or 0)
            self.pages.append((int(variables["first"]), requested))
        return result


def dev_dashboard_client(shop: dict[str, Any]) -> PageLog:
    session = make_session(120)
    access = token_source(
        shop["shop"],
        client_id=shop["client_id"],
        client_secret=shop["client_secret"],
        api_base_url=shop["url"],
        session=session,
    )
    client = PageLog(shop["shop"], access, api_base_url=shop["url"], session=session)
    client.pages = []
    return client


class EstimateOnly(PageSizer):
    """The reference: every page sized by the static estimate for the whole 1000-point limit,
    as the client did before it learned from Shopify's answers."""

    def first(
        self,
        query: str,
        document: str,
        variables: Mapping[str, Any],
        bucket: CostBucket | None = None,
        now: float = 0.0,
    ) -> int:
        return page_size(document, variables, budget=self.max_query_cost)

    def learn(self, query: str, first: int, requested_cost: float | None) -> None:
        return None


def incremental(
    database: Database, source: ShopifyOrderSource, client: ShopifyClient, shop: dict[str, Any]
) -> str:
    lines = []
    for label, sizer in (("reference, static estimate", EstimateOnly()), ("learned", None)):
        log = dev_dashboard_client(shop)
        store = f"bench-{len(lines)}"
        started = time.monotonic()
        summary = sync_shopify(
            database, store, OrdersOnly(ShopifyOrderSource(log, sizer=sizer), incremental=True),
            NOW, backfill_days=ALL_HISTORY_DAYS,
        )  # fmt: skip
        wall = time.monotonic() - started
        lines.append(_page_figures(label, log, summary.orders, wall))
        if sizer is None:
            client.stats = log.stats  # the phase's report is the learned run's
            client.pages = log.pages  # type: ignore[attr-defined]
        time.sleep(BUCKET / RESTORE)  # a full bucket for the next run
    return f"orders synced {summary.orders} of {shop['orders']}\n" + "\n".join(lines)


def _page_figures(label: str, client: PageLog, orders: int, wall: float) -> str:
    pages = client.pages
    costs = [cost for _first, cost in pages]
    later = pages[1:]
    worst_share = min((cost / MAX_QUERY_COST for _f, cost in later), default=0.0)
    smallest = min((first for first, _c in later), default=0)
    meets = all(cost >= 0.8 * MAX_QUERY_COST or first >= 250 for first, cost in later)
    bound = max(0.0, (client.stats.actual_cost - BUCKET) / RESTORE)
    ratio = f"{wall / bound:.2f}x" if bound > 0 else "n/a (bound 0: fits in the bucket)"
    return (
        f"  {label}: {len(pages)} pages, {1000 * len(pages) / max(orders, 1):.1f} calls per 1,000 "
        f"orders, mean real cost per call {sum(costs) / max(len(costs), 1):.1f} points = "
        f"{sum(costs) / max(len(costs), 1) / MAX_QUERY_COST:.1%} of the 1000-point limit; pages "
        f"after the first: smallest {smallest} orders, lowest cost share {worst_share:.1%} "
        f"(target >= 80% or 250 orders: {'met' if meets else 'NOT met'}); wall {wall:.1f} s, "
        f"bound {bound:.1f} s: {ratio}"
    )


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
        f"  phase wall {wall:.1f} s (incremental: both runs and a bucket refill), lower bound "
        f"{bound:.1f} s: {ratio}; "
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
