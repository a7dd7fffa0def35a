"""Distributed mode end to end: two ``nps worker`` processes and ``nps scheduler`` over several
sandbox stores, on a real broker (RabbitMQ and Redis), Redis budgets and PostgreSQL.

What a store owner would check: every store synced, each due order surveyed once, the answers
tagged on Shopify and Zendesk, one follow-up ticket per detractor answer; and the operator: only
one scheduler enqueues, the standby takes over when it dies.
"""

from __future__ import annotations

import json
import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from loop_support import age_answers, answer_each_email, shopify_nps_tags
from queue_support import Fleet, brokers, fleet, needs_services
from sqlalchemy import select

from nps_engine.store import models
from nps_engine.store.database import Database

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(90)]


@pytest.fixture
def pg(request: pytest.FixtureRequest) -> Database:
    needs_services()
    database: Database = request.getfixturevalue("_postgres")
    return database


@pytest.fixture(params=brokers())
def stores(request: pytest.FixtureRequest, pg: Database, tmp_path: Path) -> Iterator[Fleet]:
    with fleet(tmp_path, pg, request.param, stores=3, customers=40) as running:
        yield running


def emails_per_order(running: Fleet) -> dict[str, Counter[int]]:
    """Per store: how many survey emails each order's invite produced (sink vs invites)."""
    counts: dict[str, Counter[int]] = {}
    with running.database.session() as session:
        for store, sandbox in running.stores.items():
            invites = list(
                session.scalars(select(models.Invite).where(models.Invite.store == store))
            )
            assert len(sandbox.smtp.messages) == sum(i.state == "sent" for i in invites)
            counts[store] = Counter(i.order_id for i in invites if i.state == "sent")
    return counts


def test_two_workers_and_a_scheduler_run_every_store_once(stores: Fleet) -> None:
    json_worker = stores.worker("a", json_logs=True)
    stores.worker("b")
    first = stores.start("scheduler", "--tick", "0.5")
    second = stores.start("scheduler", "--tick", "0.5")
    stores.wait_for("every store's scheduled jobs", lambda: all(
        stores.finished(job) for job in ("sync", "surveys send", "tags push", "report")
    ))  # fmt: skip
    for run in stores.runs():
        assert run.status == "succeeded", (run.store, run.job, run.errors)
    sent = emails_per_order(stores)
    for store, per_order in sent.items():
        assert sum(per_order.values()) > 0, f"{store} sent no survey"
        assert max(per_order.values()) == 1, f"{store}: an order got two emails"

    # --json-logs: the worker's output is JSON lines only (a log shipper reads them), ours.
    lines = [line for line in stores.log_of(json_worker).splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    assert entries[0]["message"].startswith("worker starting: 3 stores")

    # `nps status` shows the two workers, empty queues, and how long ago each store synced.
    status = stores.run("status", "--format", "json")
    assert status.returncode == 0, status.stderr
    queue = json.loads(status.stdout)["queue"]
    assert queue["workers_alive"] == 2, queue
    assert queue["queued"] == {
        "sync": 0, "surveys send": 0, "tags push": 0, "report": 0, "alerts": 0, "themes": 0
    }  # fmt: skip
    for store in stores.stores:
        assert 0 <= queue["stores"][store]["lag_seconds"] < 60
        assert queue["stores"][store]["paused"] is None

    # Customers answer; the answers settle (follow-ups wait 10 minutes for a comment); cron-style
    # `nps run --enqueue` then pushes them.
    answered = {}
    for store, sandbox in stores.stores.items():
        answered[store] = answer_each_email(sandbox.world, sandbox.smtp.messages, share=0.7,
                                            seed=5)  # fmt: skip
        assert answered[store].answered > 0
        age_answers(stores.database, store, minutes=15)
    enqueued = stores.run("run", "--enqueue")
    assert enqueued.returncode == 0, enqueued.stderr
    for store in stores.stores:
        assert f"{store}: enqueued sync, surveys send, tags push" in enqueued.stdout
    stores.wait_for("the enqueued run", lambda: stores.finished("tags push", 2))

    with stores.database.session() as session:
        for store, sandbox in stores.stores.items():
            responses = list(session.scalars(select(models.Response).where(
                models.Response.store == store)))  # fmt: skip
            assert len(responses) == answered[store].answered
            tagged = shopify_nps_tags(sandbox.world)
            for response in responses:
                category = "detractor" if response.score <= 6 else (
                    "passive" if response.score <= 8 else "promoter")  # fmt: skip
                assert f"nps:{category}" in tagged[response.customer_id]
            followups = Counter(
                str(sandbox.zendesk.account.extras(ticket.id).get("external_id"))
                for ticket in sandbox.world.tickets.values()
                if "nps_followup" in ticket.tags
            )
            detractors = sum(r.score <= 6 for r in responses)
            assert len(followups) == detractors
            assert max(followups.values(), default=1) == 1
    # Each job ran once per enqueueing: scheduler, then `run --enqueue` (no copy ran twice).
    for job, count in (("sync", 2), ("surveys send", 2), ("tags push", 2), ("report", 1)):
        per_store = Counter(run.store for run in stores.runs(job))
        assert per_store == dict.fromkeys(stores.stores, count), (job, per_store)
    again = emails_per_order(stores)
    assert again == sent, "the second run mailed someone again"

    # One scheduler enqueued; the other stood by, and takes over when the first dies.
    logs = {p: stores.log_of(p) for p in (first, second)}
    active = [p for p, text in logs.items() if "scheduler: active" in text]
    standby = [p for p, text in logs.items() if "standing by" in text]
    assert len(active) == 1, logs
    assert len(standby) == 1, logs
    os.killpg(active[0].pid, signal.SIGKILL)
    stores.wait_for(
        "the standby scheduler to take over",
        lambda: "scheduler: active" in stores.log_of(standby[0]),
        timeout=15,
    )


@pytest.fixture
def one_bad_token(pg: Database, tmp_path: Path) -> Iterator[Fleet]:
    def wrong_token(document: dict[str, object]) -> None:
        stores = document["stores"]
        assert isinstance(stores, list)
        stores[0]["shopify"]["client_secret"] = "shpss_revoked"
        stores[0]["zendesk"]["api_token"] = "revoked"

    with fleet(tmp_path, pg, brokers()[0].values[0], stores=2, customers=20,
               adjust=wrong_token) as running:  # fmt: skip
        yield running


def test_a_store_whose_credentials_are_refused_is_paused_and_reported(one_bad_token: Fleet) -> None:
    bad, good = list(one_bad_token.stores)
    one_bad_token.worker("a")
    scheduler = one_bad_token.start("scheduler", "--tick", "0.3")
    one_bad_token.wait_for("the good store's jobs and the bad store's sync", lambda: any(
        run.store == good and run.status == "succeeded" for run in one_bad_token.runs("report"))
        and any(run.store == bad for run in one_bad_token.runs("sync")))  # fmt: skip
    # The bad store's other jobs were skipped, not run into the same wall.
    assert not [run for run in one_bad_token.runs() if run.store == bad and run.job != "sync"]
    syncs = {run.store: run for run in one_bad_token.runs("sync")}
    assert syncs[bad].status == "failed"
    assert syncs[good].status == "succeeded"
    listed = one_bad_token.run("stores", "--format", "json")
    entries = {entry["store"]: entry for entry in json.loads(listed.stdout)["stores"]}
    assert "check the token" in entries[bad]["paused"]["reason"] or "401" in (
        entries[bad]["paused"]["reason"])  # fmt: skip
    assert entries[good]["paused"] is None
    table = one_bad_token.run("stores")
    assert table.returncode == 1, table.stdout  # a paused store is something to act on
    # Paused, the store is not enqueued again at every tick: a later scheduler pass (forced by
    # forgetting when its jobs last went out) enqueues the good store only.
    scheduler.terminate()
    scheduler.wait(timeout=20)
    from connectors.budgets import connect
    from jobs.distributed.queue_state import QueueState

    state = QueueState(connect(one_bad_token.settings[0].queue.budget_url))  # type: ignore[union-attr]
    for store in (bad, good):
        state.redis.delete(f"nps:queue:last:{store}")
    once = one_bad_token.run("scheduler", "--once")
    assert once.returncode == 0, once.stderr
    one_bad_token.wait_for("the good store's second sync", lambda: sum(
        run.store == good for run in one_bad_token.runs("sync")) == 2)  # fmt: skip
    assert sum(run.store == bad for run in one_bad_token.runs("sync")) == 1
    resumed = one_bad_token.run("stores", "--resume", bad)
    assert f"{bad}: resumed" in resumed.stdout
    assert state.paused(bad) is None
