"""The whole loop for a 10,000-customer shop on the sandbox: how long each stage takes, how many
API calls it makes against the fewest possible, and how much memory ``nps`` needs.

The simulators run in this process with realistic limits: a standard Shopify plan's cost bucket
(2,000 points, 100 restored per second) and a Zendesk Suite Growth account (400 requests per
minute, 10 export requests per minute). Each job runs as the real ``nps`` command in its own
process, as cron starts it, so its peak RSS is its own (the simulators and the generated world
live here):

1. sync: ``nps sync --full`` (orders by bulk backfill, customers and tickets incrementally);
2. send: ``nps surveys send`` (every survey due; ``survey.max_per_run`` raised above the count);
3. answer: the response simulator answers 35% of the emails through the real survey pages;
4. push: ``nps tags push`` a quarter of an hour later (tags on both sides, detractor follow-ups);
5. report: ``nps report --format html --output FILE``.

    python bench/end_to_end.py                        # 10,000 customers (several minutes)
    python bench/end_to_end.py --customers 2000       # smaller
"""

from __future__ import annotations

import argparse
import math
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from jobs.bootstrap import web_app
from nps_engine.config import parse_settings
from nps_engine.store import models
from nps_engine.store.database import Database
from nps_engine.web.background import BackgroundServer, free_port
from sandbox.responder import Responder
from sandbox.runner import Sandbox, SandboxOptions
from sandbox.traffic import TrafficSnapshot
from sandbox.zendesk import ZendeskOptions

NPS = str(Path(sys.executable).with_name("nps"))
SHOPIFY_BUCKET, SHOPIFY_RESTORE = 2000, 100  # points, points per second (standard plan)
ZENDESK_PER_MINUTE, EXPORTS_PER_MINUTE = 400, 10
SHOPIFY_PAGE, BULK_CALLS = 250, 3  # max page size; bulk: start, >= 1 poll, download the JSONL
ZENDESK_EXPORT_PAGE, ZENDESK_BULK = 1000, 100  # tickets per export page; users per update_many
MUTATION_COST, MAX_REQUEST_COST = 10, 1000  # a tagsAdd costs 10; one request costs <= 1000
OPEN_TICKET = ("new", "open", "pending", "hold")
LAUNCHER = (
    "import resource, subprocess, sys; "
    "code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
)


@dataclass
class Stage:
    name: str
    seconds: float
    traffic: dict[str, TrafficSnapshot]
    peak_rss_mb: float | None = None  # of the nps process; None for work done here
    bounds: dict[str, tuple[int, float]] = field(default_factory=dict)  # system -> calls, seconds
    note: str = ""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--answer-share", type=float, default=0.35)
    args = parser.parse_args(argv)
    options = SandboxOptions(
        customers=args.customers,
        seed=args.seed,
        now=datetime.now(UTC).replace(microsecond=0),
        shopify_bucket=(SHOPIFY_BUCKET, SHOPIFY_RESTORE),
        zendesk=ZendeskOptions(requests_per_minute=ZENDESK_PER_MINUTE),
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="nps-e2e-") as folder, Sandbox(options) as sandbox:
        world = sandbox.world
        print(f"world: {len(world.customers)} customers, {len(world.orders)} orders, "
              f"{len(world.zendesk_users)} Zendesk users, {len(world.tickets)} tickets "
              f"(generated in {time.monotonic() - started:.1f} s)")  # fmt: skip
        stages = run_loop(sandbox, Path(folder), args.answer_share)
    print_stages(stages)


def run_loop(sandbox: Sandbox, folder: Path, share: float) -> list[Stage]:
    port = free_port()
    document = sandbox.config(
        database_url=f"sqlite:///{folder / 'nps.db'}", public_url=f"http://127.0.0.1:{port}"
    )
    document["web"]["posts_per_minute_per_ip"] = 1_000_000  # every answer comes from 127.0.0.1
    document["survey"] = {"max_per_run": 1_000_000}
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(document), encoding="utf-8")
    (settings,) = parse_settings(document, {})
    database = Database(settings.database.url)
    database.upgrade()
    store = settings.store.id
    stages: list[Stage] = []
    try:
        with BackgroundServer(web_app(settings, database), port=port):
            stages.append(stage("sync", sandbox, lambda: nps(config, "sync", "--full")))
            stages.append(stage("send", sandbox, lambda: nps(config, "surveys", "send")))
            responder = Responder(sandbox.world, sandbox.smtp, share=share, seed=1)
            stages.append(stage("answer", sandbox, lambda: answer(responder)))
            age_answers(database, store, minutes=15)  # follow-ups wait 10 minutes for a comment
            stages.append(stage("push", sandbox, lambda: nps(config, "tags", "push")))
            report = folder / "nps.html"
            stages.append(stage("report", sandbox, lambda: nps(
                config, "report", "--format", "html", "--output", str(report))))  # fmt: skip
        add_bounds(stages, database, store)
    finally:
        database.dispose()
    return stages


def stage(name: str, sandbox: Sandbox, work: Callable[[], tuple[float | None, str]]) -> Stage:
    before = sandbox.traffic()
    started = time.monotonic()
    rss, note = work()
    seconds = time.monotonic() - started
    after = sandbox.traffic()
    used = {system: diff(before[system], after[system]) for system in after}
    print(f"{name}: {seconds:.1f} s {note}", flush=True)
    return Stage(name, seconds, used, rss, note=note)


def nps(config: Path, *args: str) -> tuple[float | None, str]:
    """Run ``nps`` through a small launcher that reports its child's peak RSS.

    Not ``wait4`` from here: on Linux a child's ``ru_maxrss`` includes the RSS of the process
    it was forked from (the kernel keeps the pre-exec high-water mark), which here is the whole
    world and the simulators."""
    command = [sys.executable, "-c", LAUNCHER, NPS, "--config", str(config), "-q", *args]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        print(f"nps {' '.join(args)} exited with {done.returncode}", file=sys.stderr)
    return int(done.stdout.split()[-1]) / 1024, f"(exit {done.returncode})"  # KiB -> MiB


def answer(responder: Responder) -> tuple[float | None, str]:
    stats = responder.answer_new_emails()
    return None, f"({stats.answered} answered of {stats.emails_read} emails, {stats.failed} failed)"


def age_answers(database: Database, store: str, minutes: int) -> None:
    with database.session() as session:
        for response in session.scalars(
            select(models.Response).where(models.Response.store == store)
        ):
            response.updated_at -= timedelta(minutes=minutes)


def diff(before: TrafficSnapshot, after: TrafficSnapshot) -> TrafficSnapshot:
    routes = {r: n - before.calls_to(r) for r, n in after.calls_by_route.items()}
    return TrafficSnapshot(
        calls=after.calls - before.calls,
        calls_by_route={r: n for r, n in routes.items() if n},
        calls_by_status={},
        rate_limited=after.rate_limited - before.rate_limited,
        throttled=after.throttled - before.throttled,
        cost=after.cost - before.cost,
        bytes_in=after.bytes_in - before.bytes_in,
        bytes_out=after.bytes_out - before.bytes_out,
        faults_by_kind={},
        entries=(),
    )


def add_bounds(stages: list[Stage], database: Database, store: str) -> None:
    """The fewest calls (and the least time the vendors' limits allow) for what each stage did."""
    facts = store_facts(database, store)
    by_name = {s.name: s for s in stages}
    sync, push = by_name["sync"], by_name["push"]
    # Customers come in pages of at most 250; orders by one bulk operation (start it, poll it at
    # least once, download the result) plus one incremental page for what changed meanwhile.
    shopify_calls = math.ceil(facts["customers"] / SHOPIFY_PAGE) + BULK_CALLS + 1
    sync.bounds["shopify"] = (shopify_calls, bucket_seconds(sync.traffic["shopify"].cost))
    # Tickets (with their users side-loaded) come 1,000 per export page, 10 pages a minute.
    pages = max(1, math.ceil(facts["tickets"] / ZENDESK_EXPORT_PAGE))
    sync.bounds["zendesk"] = (pages, 60 * max(0, pages - EXPORTS_PER_MINUTE) / EXPORTS_PER_MINUTE)
    # One message per invite sent; nothing can be batched in SMTP.
    by_name["send"].bounds["smtp"] = (facts["sent"], 0.0)
    # One tagsAdd per customer whose tags changed (10 points each), packed 100 to a request.
    mutations = facts["shopify_pushed"]
    requests = math.ceil(mutations * MUTATION_COST / MAX_REQUEST_COST)
    push.bounds["shopify"] = (requests, bucket_seconds(mutations * MUTATION_COST))
    # Zendesk: one tags call per user (adding ours without clobbering theirs needs the per-user
    # endpoint); fields 100 users per update_many, their open tickets' tags 100 per update_many,
    # each update_many a job read back at least once; one search per customer not yet known to
    # be a Zendesk user (every skipped one was searched); one ticket per detractor follow-up.
    users = facts["zendesk_pushed"]
    jobs = math.ceil(users / ZENDESK_BULK) + math.ceil(facts["open_tickets"] / ZENDESK_BULK)
    calls = users + 2 * jobs + facts["zendesk_skipped"] + facts["followups"]
    push.bounds["zendesk"] = (calls, 60 * max(0, calls - ZENDESK_PER_MINUTE) / ZENDESK_PER_MINUTE)


def bucket_seconds(cost: int) -> float:
    """A full bucket is spent at once; the rest at the restore rate."""
    return max(0, cost - SHOPIFY_BUCKET) / SHOPIFY_RESTORE


def store_facts(database: Database, store: str) -> dict[str, int]:
    with database.session() as session:

        def count(model: Any, *where: Any) -> int:
            query = select(func.count()).select_from(model).where(model.store == store, *where)
            return int(session.scalar(query) or 0)

        pushed_to_zendesk = select(models.TagState.customer_id).where(
            models.TagState.store == store,
            models.TagState.system == "zendesk",
            models.TagState.pushed_at.is_not(None),
        )
        facts = {
            "customers": count(models.Customer),
            "tickets": count(models.Ticket),
            "sent": count(models.Invite, models.Invite.state == "sent"),
            "open_tickets": count(
                models.Ticket,
                models.Ticket.status.in_(OPEN_TICKET),
                models.Ticket.customer_id.in_(pushed_to_zendesk),
            ),
        }
    return facts | push_counters(database, store)


def push_counters(database: Database, store: str) -> dict[str, int]:
    """What the last ``tags push`` recorded in ``job_runs``."""
    with database.session() as session:
        counters = session.scalars(
            select(models.JobRun.counters)
            .where(models.JobRun.store == store, models.JobRun.job == "tags push")
            .order_by(models.JobRun.id.desc())
        ).first()
    done = counters or {}
    return {
        "shopify_pushed": int(done.get("shopify_pushed", 0)),
        "zendesk_pushed": int(done.get("zendesk_pushed", 0)),
        "zendesk_skipped": int(done.get("zendesk_skipped", 0)),
        "followups": int(done.get("followups_created", 0)),
    }


def print_stages(stages: list[Stage]) -> None:
    print(f"\n{'stage':<8}{'wall s':>8}{'nps RSS MB':>12}  system    calls  bound  cost  "
          f"throttled  429  seconds bound")  # fmt: skip
    for s in stages:
        rss = f"{s.peak_rss_mb:.0f}" if s.peak_rss_mb is not None else "-"
        systems = [name for name, t in s.traffic.items() if t.calls] or ["-"]
        for index, system in enumerate(systems):
            head = f"{s.name:<8}{s.seconds:>8.1f}{rss:>12}" if index == 0 else " " * 28
            t = s.traffic.get(system)
            calls, bound = (t.calls if t else 0), s.bounds.get(system)
            bound_calls = str(bound[0]) if bound else "-"
            bound_time = f"{bound[1]:.1f}" if bound else "-"
            print(f"{head}  {system:<8}{calls:>7}{bound_calls:>7}{(t.cost if t else 0):>6}"
                  f"{(t.throttled if t else 0):>11}{(t.rate_limited if t else 0):>5}"
                  f"{bound_time:>15}")  # fmt: skip
    total = sum(s.seconds for s in stages)
    here = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\ntotal {total:.1f} s; peak RSS of the bench process (world, simulators, responder, "
          f"survey pages): {here:.0f} MB")  # fmt: skip
    for s in stages:
        routes = ", ".join(f"{r} {n}" for t in s.traffic.values() for r, n in
                           sorted(t.calls_by_route.items()))  # fmt: skip
        print(f"  {s.name}: {routes or 'no API call'}")


if __name__ == "__main__":
    main()
