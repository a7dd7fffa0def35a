"""Four workers on one shop are throttled no more than one: they share its Shopify cost bucket and
its Zendesk account's requests per minute through Redis (``connectors.budgets``).

Eight store ids point at one sandbox shop and one Zendesk account, with a small bucket (1000
points, 500 restored per second) and a tight Zendesk limit (8 requests per 2-second window).
Four stores are synced by one worker running one job at a time, then four other stores (the
same amount of work) by four workers at once; the simulators count THROTTLED answers and 429s.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from queue_support import Fleet, brokers, fleet, needs_services

from connectors.budgets import connect
from jobs.distributed.queue_app import enqueue, make_app
from jobs.distributed.queue_state import QueueState
from nps_engine.store.database import Database
from sandbox.zendesk import ZendeskOptions

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(120)]


@pytest.fixture(params=brokers()[:1])
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Fleet]:
    needs_services()
    database: Database = request.getfixturevalue("_postgres")

    def tight(index: int) -> dict[str, object]:
        zendesk = ZendeskOptions(requests_per_minute=8, rate_window_seconds=2.0,
                                 export_requests_per_minute=100)  # fmt: skip
        return {"shopify_bucket": (1000.0, 500.0), "zendesk": zendesk}

    def whole_syncs(document: dict[str, Any]) -> None:
        # Each store's sync in one task: a slice ending (10 s in the other fleets, reachable on a
        # loaded machine) would put a second sync of the store in the queue, maybe for the next
        # phase's workers to run, and the phases would no longer do the same work.
        document["queue"]["store_time_budget_seconds"] = 600

    with fleet(tmp_path, database, request.param, stores=8, customers=40, seed=51,
               shared_shop=True, options=tight, adjust=whole_syncs) as running:  # fmt: skip
        yield running


def sync(running: Fleet, stores: list[str], workers: int) -> tuple[int, int]:
    """Sync ``stores`` with ``workers`` worker processes (those of the last call kept, more
    started); THROTTLED and 429 answers meanwhile."""
    sandbox = next(iter(running.stores.values()))
    assert sandbox.shopify is not None
    app = make_app(running.settings)
    while len(running.processes) < workers:
        running.worker(f"w{len(running.processes)}", "--pool", "solo")
    # Every worker up before the first task goes out: else the first one ready takes several
    # stores while the others are still starting, and "four at once" is not tested.
    running.wait_for(f"{workers} workers to answer", lambda: len(
        app.control.ping(timeout=0.5) or []) == workers)  # fmt: skip
    sandbox.shopify.traffic.reset_counters()
    sandbox.zendesk.traffic.reset_counters()
    state = QueueState(connect(app.nps_queue.budget_url))
    for store in stores:
        enqueue(app, state, store, ["sync"])
    running.wait_for(f"{len(stores)} syncs", lambda: all(
        any(r.store == store and r.status != "running" for r in running.runs("sync"))
        for store in stores))  # fmt: skip
    shopify = sandbox.shopify.traffic.snapshot()
    zendesk = sandbox.zendesk.traffic.snapshot()
    # Every store synced once, in one piece. The first phase's worker is not stopped between
    # the phases: killed the moment its last sync showed as finished, it could leave that task
    # unacknowledged (the acknowledgement follows the job_runs row), and RabbitMQ gave it to a
    # second-phase worker, which synced the store again (seen in a local run; the second sync
    # CI once saw running, killed mid-way at the end, fits this).
    runs = running.runs("sync")
    synced = sorted(run.store for run in runs)
    assert len(set(synced)) == len(synced), f"a store synced twice: {synced}"
    assert set(stores) <= set(synced)
    for run in runs:
        assert run.status == "succeeded", (run.store, run.status, run.errors)
        assert "slice_ended" not in run.counters, (run.store, run.counters)
    return shopify.throttled + shopify.rate_limited, zendesk.rate_limited


def test_four_workers_on_one_shop_are_throttled_no_more_than_one(shop: Fleet) -> None:
    ids = list(shop.stores)
    one_shopify, one_zendesk = sync(shop, ids[:4], workers=1)
    four_shopify, four_zendesk = sync(shop, ids[4:], workers=4)
    assert four_shopify <= one_shopify, (four_shopify, one_shopify)
    assert four_zendesk <= one_zendesk, (four_zendesk, one_zendesk)
