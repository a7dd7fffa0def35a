"""How big a world can the generator build, and how fast does the Shopify simulator serve it?

Prints: generation time and peak memory for the world (default 10,000 customers, then the
100,000-order world the sync benchmarks use), then against the Shopify simulator (bucket lifted so
only the simulator's speed shows): a full incremental orders sync with the connector's own queries
(pages sized to stay under 1000 points), the same for customers, and a bulk export of every order.

    python bench/sandbox_shopify.py
    python bench/sandbox_shopify.py --customers 40000 --skip-big
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import UTC, datetime

import requests

from connectors.shopify.queries import BULK_RUN, BULK_STATUS, CUSTOMERS_UPDATED, ORDERS_UPDATED
from sandbox.generator import generate
from sandbox.shopify import DEFAULT_ACCESS_TOKEN, LeakyBucket, ShopifySimulator
from sandbox.world import World

NOW = datetime(2026, 11, 1, tzinfo=UTC)
SINCE = "updated_at:>'2025-01-01T00:00:00Z'"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(customers: int) -> World:
    started = time.perf_counter()
    world = generate(customers, seed=1, now=NOW)
    elapsed = time.perf_counter() - started
    print(
        f"generate {customers:>6} customers: {len(world.orders):>7} orders, "
        f"{len(world.tickets):>6} tickets in {elapsed:6.2f} s (peak RSS {peak_mb():6.0f} MB)"
    )
    return world


def post(session: requests.Session, url: str, query: str, variables: dict[str, object]) -> dict:  # type: ignore[type-arg]
    response = session.post(
        url,
        json={"query": query, "variables": variables},
        headers={"X-Shopify-Access-Token": DEFAULT_ACCESS_TOKEN},
        timeout=120,
    )
    return response.json()  # type: ignore[no-any-return]


def sync(session: requests.Session, url: str, query: str, root: str, first: int) -> None:
    started, after, pages, count = time.perf_counter(), None, 0, 0
    while True:
        body = post(session, url, query, {"first": first, "after": after, "query": SINCE})
        page = body["data"][root]
        pages, count = pages + 1, count + len(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    elapsed = time.perf_counter() - started
    print(
        f"sync {root:<9} {count:>7} in {pages:>4} pages: {elapsed:6.2f} s  {count / elapsed:8.0f}/s"
    )


def bulk(session: requests.Session, url: str) -> None:
    from connectors.shopify.queries import bulk_orders_query

    started = time.perf_counter()
    run = post(session, url, BULK_RUN, {"query": bulk_orders_query("")})
    operation = run["data"]["bulkOperationRunQuery"]["bulkOperation"]
    while True:
        status = post(session, url, BULK_STATUS, {"id": operation["id"]})["data"]["bulkOperation"]
        if status["status"] == "COMPLETED":
            break
        time.sleep(0.2)
    size = len(session.get(status["url"], timeout=120).content)
    elapsed = time.perf_counter() - started
    print(f"bulk export {status['objectCount']:>9} lines, {size / 1e6:6.1f} MB: {elapsed:6.2f} s")


def serve(world: World) -> None:
    with ShopifySimulator(world, bucket=LeakyBucket(10**9, 10**9)) as simulator:
        url = simulator.graphql_url()
        with requests.Session() as session:
            # Page sizes that keep each query under the 1000-point single-query limit.
            sync(session, url, ORDERS_UPDATED, "orders", 90)
            sync(session, url, CUSTOMERS_UPDATED, "customers", 200)
            bulk(session, url)
    print(f"peak RSS after serving: {peak_mb():6.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--skip-big", action="store_true", help="skip the 100,000-order world")
    args = parser.parse_args()
    world = build(args.customers)
    serve(world)
    if not args.skip_big:
        big = build(40_000)  # about 100,000 orders
        serve(big)


if __name__ == "__main__":
    main()
