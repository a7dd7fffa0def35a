"""Zendesk at volume against the simulator: export 50,000 tickets, push 5,000 users' NPS.

    /work/venv/bin/python bench/zendesk_sync.py [--tickets 50000] [--users 5000] [--speedup 60]

Real limits make this slow on purpose: the incremental export allows 10 requests a minute, so
51 pages take over 5 minutes. The simulator's limits are the real ones (10/min export, 400/min
account) with the window shortened ``--speedup`` times (60: one-second windows), so the bench
meets the same 429s in seconds. It prints what it measured (calls, 429s, wall time) and what
those calls cost at the real limits, beside the lower bounds:

* export: ceil(tickets / 1000) calls at 10 per minute (target: at most one call more);
* write-back: write calls per changed user <= 1.1 + open tickets / 100; calls at the account
  limit; and zero write calls on a second push with nothing new.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.zendesk.client import ZendeskClient
from connectors.zendesk.tag_writer import ZendeskTagWriter
from connectors.zendesk.tickets import ZendeskTicketSource
from jobs.push_tags import PushSummary, push_tags
from jobs.sync_zendesk import sync_zendesk
from nps_engine.config.settings import TagSettings
from nps_engine.records import normalise_email
from nps_engine.store import models
from nps_engine.store.database import Database, upsert
from nps_engine.store.support import SupportDirectory
from sandbox.generator import generate
from sandbox.world import Ticket, World, ZendeskUser
from sandbox.zendesk.account import ZendeskOptions
from sandbox.zendesk.simulator import ZendeskSimulator, credentials

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
EXPORT_ROUTE = "GET /api/v2/incremental/tickets/cursor.json"
EXPORT_PER_MINUTE, ACCOUNT_PER_MINUTE = 10, 400  # Suite Growth/Professional (zendesk-notes 3)
OPEN = ("new", "open", "pending", "hold")


def build_world(users: int, tickets: int, seed: int) -> World:
    """A generated shop, topped up so every customer has a Zendesk user and there are
    ``tickets`` tickets, about 4% of them still open."""
    world = generate(customers=users, seed=seed, now=NOW)
    rng = random.Random(seed)
    by_email = {normalise_email(u.email) for u in world.zendesk_users.values()}
    for customer in world.customers.values():
        if customer.email and normalise_email(customer.email) not in by_email:
            user_id = world.next_id("zendesk_user")
            world.zendesk_users[user_id] = ZendeskUser(
                user_id, customer.email, customer.display_name, [], {}, NOW, NOW
            )
    requesters = list(world.zendesk_users)
    while len(world.tickets) < tickets:
        at = NOW - timedelta(days=rng.uniform(1, 700))
        status = rng.choice(OPEN) if rng.random() < 0.04 else rng.choice(("solved", "closed"))
        world.add_ticket(
            Ticket(world.next_id("ticket"), rng.choice(requesters), status, "Order question",
                   "email", [], at, at)
        )  # fmt: skip
    return world


def seed_store(database: Database, store: str, world: World, seed: int) -> None:
    rng = random.Random(seed)
    customers, answers = [], []
    for customer in world.customers.values():
        email = normalise_email(customer.email)
        customers.append({"store": store, "id": customer.id, "email": email, "tags": []})
        if email:
            at = NOW - timedelta(days=rng.uniform(1, 30))
            answers.append(models.Response(
                store=store, source="survey", kind="transactional", customer_id=customer.id,
                email=email, score=rng.randint(0, 10), responded_at=at, updated_at=at,
            ))  # fmt: skip
    with database.session() as session:
        upsert(session, models.Customer, customers)
        session.add_all(answers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument(
        "--speedup", type=float, default=60.0, help="rate windows this much shorter"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    world = build_world(args.users, args.tickets, args.seed)
    options = ZendeskOptions(
        requests_per_minute=ACCOUNT_PER_MINUTE,
        export_requests_per_minute=EXPORT_PER_MINUTE,
        rate_window_seconds=60.0 / args.speedup,
        job_polls_to_complete=2,
    )
    with (
        tempfile.TemporaryDirectory() as folder,
        ZendeskSimulator(world, options, clock=lambda: NOW) as simulator,
    ):
        database = Database(f"sqlite:///{Path(folder) / 'bench.db'}")
        database.upgrade()
        store = "bench"
        seed_store(database, store, world, args.seed)
        given = credentials(simulator)
        client = ZendeskClient(
            subdomain=given["subdomain"], email=given["email"], api_token=given["api_token"],
            base_url=given["base_url"], ratelimit_budget_seconds=3600,
        )  # fmt: skip
        export(database, store, client, simulator, len(world.tickets))
        push(database, store, client, simulator, world)
        database.dispose()


def export(
    database: Database, store: str, client: ZendeskClient, sim: ZendeskSimulator, n: int
) -> None:
    started, before = time.monotonic(), sim.traffic.snapshot()
    summary = sync_zendesk(database, store, ZendeskTicketSource(client), NOW, backfill_days=3650)
    wall = time.monotonic() - started
    after = sim.traffic.snapshot()
    calls = after.calls_to(EXPORT_ROUTE) - before.calls_to(EXPORT_ROUTE)
    throttled = after.rate_limited - before.rate_limited
    bound = math.ceil(n / 1000)
    print(
        f"export: {summary.tickets} tickets in {summary.pages} pages, complete={summary.complete}"
    )
    verdict = "met" if calls - throttled <= bound + 1 else "MISSED"
    print(f"  calls {calls} (incl. {throttled} answered 429; lower bound {bound}, "
          f"target <= {bound + 1}: {verdict})")  # fmt: skip
    print(f"  wall {wall:.1f} s with {60 / sim.options.rate_window_seconds:.0f}x shorter windows; "
          f"at the real {EXPORT_PER_MINUTE}/min: {(calls - throttled) / EXPORT_PER_MINUTE:.1f} min "
          f"(lower bound {bound / EXPORT_PER_MINUTE:.1f} min)")  # fmt: skip


def push(
    database: Database, store: str, client: ZendeskClient, sim: ZendeskSimulator, world: World
) -> None:
    open_by_user: dict[int, int] = {}
    for ticket in world.tickets.values():
        if ticket.status in OPEN:
            open_by_user[ticket.requester_id] = open_by_user.get(ticket.requester_id, 0) + 1
    started, calls_before, writes_before = (
        time.monotonic(),
        client.traffic.calls,
        client.traffic.writes,
    )
    throttled_before = client.traffic.throttled
    client.traffic.by_path.clear()
    summary = run_push(database, store, client)
    wall = time.monotonic() - started
    writes = client.traffic.writes - writes_before
    calls = client.traffic.calls - calls_before
    throttled = client.traffic.throttled - throttled_before
    pushed = max(1, summary.pushed)
    open_tickets = sum(open_by_user.values())
    target = 1.1 * pushed + open_tickets / 100
    print(f"push: {summary.pushed} users pushed, {summary.failed} failed")
    verdict = "met" if writes <= target else "MISSED"
    print(f"  write calls {writes} = {writes / pushed:.3f} per changed user "
          f"(target <= 1.1 + open/100 = {target / pushed:.3f}: {verdict})")  # fmt: skip
    print(f"  all calls {calls} (incl. {throttled} answered 429; reads: searches, job polls)")
    for route, count in sorted(client.traffic.by_path.items(), key=lambda kv: -kv[1])[:8]:
        print(f"    {count:6d}  {route}")
    print(f"  wall {wall:.1f} s; at the real {ACCOUNT_PER_MINUTE}/min: "
          f"{(calls - throttled) / ACCOUNT_PER_MINUTE:.1f} min "
          f"(writes alone {writes / ACCOUNT_PER_MINUTE:.1f} min)")  # fmt: skip
    writes_before = client.traffic.writes
    again = run_push(database, store, client)
    print(f"second push: {again.planned} changes planned, "
          f"{client.traffic.writes - writes_before} write calls (target 0)")  # fmt: skip
    print(f"simulator: {sim.traffic.snapshot().calls} requests served in all")


def run_push(database: Database, store: str, client: ZendeskClient) -> PushSummary:
    writer = ZendeskTagWriter(client, SupportDirectory(database, store, NOW))
    return push_tags(
        database, store, "zendesk", writer, TagSettings().zendesk, NOW, with_fields=True
    )


if __name__ == "__main__":
    main()
