"""Runs that die or overlap: ``nps run`` killed with SIGKILL at random points and run again ends
where an uninterrupted run ends, with no second email, ticket or tag; two runs at once: one works,
the other stops on the lock and says so.

The ``nps`` processes are real (the console script, as cron starts it); the simulators run in the
test process, so every email, tag write and ticket they receive is counted here.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from loop_support import (
    Loop,
    ShopifyTagWrites,
    age_answers,
    answer_each_email,
    emails_per_order,
    finish,
    followup_tickets,
    invites_by_state,
    kill_when,
    loop_options,
    running_loop,
    shopify_nps_tags,
    zendesk_nps_tags,
)
from sqlalchemy import select

from jobs.runtime.locks import JobLockGuard, LockHeld, this_process
from nps_engine.store import invites as invite_store
from nps_engine.store import models
from nps_engine.store.database import Database
from nps_engine.store.invites import UNKNOWN_OUTCOME
from sandbox.traffic import Fault, FaultPlan

CUSTOMERS = 120
SEED = 11
ANSWER_SHARE = 0.7
KILLS = random.Random(20261122)  # where the runs die: random, the same on every test run
GRAPHQL = "POST /admin/api/{version}/graphql.json"
TICKET_CREATE = "POST /api/v2/tickets.json"
# Every write waits a little on the simulator side, so a kill lands mid-call, where it hurts:
# the email handed over but not recorded, the tags written but not remembered.
SLOW_WRITES = FaultPlan(
    slow_rate=1.0,
    slow_seconds=0.1,
    routes=frozenset({"SMTP DATA", GRAPHQL, TICKET_CREATE, "PUT /api/v2/users/{id}/tags.json"}),
)


@dataclass
class FinalState:
    invited_orders: set[int]
    emails: Counter[int]  # order id -> survey emails received
    answered: dict[int, int]  # customer id -> score
    shopify_tags: dict[int, tuple[str, ...]]
    zendesk_tags: dict[int, tuple[str, ...]]  # by customer id (user ids are Zendesk's)
    followups: Counter[int]  # customer id -> follow-up tickets


def final_state(loop: Loop, now: datetime) -> FinalState:
    store = loop.settings.store.id
    with loop.database.session() as session:
        answers = session.scalars(select(models.Response).where(models.Response.store == store))
        by_ticket = {r.followup_ticket_id: r.customer_id for r in answers if r.followup_ticket_id}
        answered = dict(
            session.execute(
                select(models.Response.customer_id, models.Response.score).where(
                    models.Response.store == store
                )
            ).all()
        )
        customer_of_user = dict(
            session.execute(
                select(models.ZendeskUser.id, models.ZendeskUser.customer_id).where(
                    models.ZendeskUser.store == store
                )
            ).all()
        )
    return FinalState(
        invited_orders=set().union(*invites_by_state(loop.database, store).values()),
        emails=emails_per_order(loop, now),
        answered=answered,
        shopify_tags=shopify_nps_tags(loop.world),
        zendesk_tags={
            customer_of_user[user]: tags for user, tags in zendesk_nps_tags(loop.world).items()
        },
        followups=Counter(by_ticket[t] for t in followup_tickets(loop.sandbox) if t in by_ticket),
    )


def answer_and_wait(loop: Loop) -> int:
    """Customers answer the emails; a quarter of an hour passes before the next cron run."""
    answered = answer_each_email(loop.world, loop.sink.messages, share=ANSWER_SHARE, seed=SEED)
    age_answers(loop.database, loop.settings.store.id, minutes=15)
    return answered.answered


def calls(loop: Loop, system: str, route: str) -> Callable[[], int]:
    return lambda: loop.sandbox.traffic()[system].calls_to(route)


def test_runs_killed_at_random_points_converge_to_the_clean_runs_state(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    later = now + timedelta(hours=1)
    with running_loop(loop_options(CUSTOMERS, SEED, now), tmp_path / "clean") as clean:
        writes = ShopifyTagWrites(clean.sandbox.shopify)  # type: ignore[arg-type]
        assert clean.nps("run").exit_code == 0
        assert answer_and_wait(clean) > 0
        assert clean.nps("run").exit_code == 0
        expected = final_state(clean, later)
        clean_tag_writes = writes.count
    emails, followups = sum(expected.emails.values()), sum(expected.followups.values())
    assert emails >= 3, "too few due orders to kill a send in the middle"
    assert followups >= 1, "no detractor in the clean run: follow-ups are not tested"

    options = loop_options(CUSTOMERS, SEED, now, faults=SLOW_WRITES)
    with running_loop(options, tmp_path / "crashed") as loop:
        writes = ShopifyTagWrites(loop.sandbox.shopify)  # type: ignore[arg-type]
        sent = calls(loop, "smtp", "SMTP DATA")
        tickets = calls(loop, "zendesk", TICKET_CREATE)
        mail_kill = KILLS.randint(2, emails - 1)
        assert kill_when(loop.start_nps("run"), lambda: sent() >= mail_kill), "not killed"
        # The runs that are not killed run in this process (a process costs 2 to 4 CPU-s).
        after_kill = loop.nps("run")
        assert after_kill.exit_code == 0, after_kill.output
        answer_and_wait(loop)
        tag_kill = KILLS.randint(1, clean_tag_writes)
        assert kill_when(loop.start_nps("run"), lambda: writes.count >= tag_kill), "not killed"
        ticket_kill = tickets() + KILLS.randint(1, followups)
        assert kill_when(loop.start_nps("run"), lambda: tickets() >= ticket_kill), "not killed"
        last = loop.nps("run")
        assert last.exit_code == 0, last.output
        got = final_state(loop, later)
        assert_converged(got, expected, loop, later)


def assert_converged(got: FinalState, expected: FinalState, loop: Loop, later: datetime) -> None:
    # The same orders were invited, and none was mailed twice.
    assert got.invited_orders == expected.invited_orders
    assert max(got.emails.values()) == 1
    message_ids = Counter(m.message["Message-ID"] for m in loop.sink.messages)
    assert max(message_ids.values()) == 1
    # The run killed while mailing left that invite in 'sending': its email may or may not have
    # gone, so it is never re-sent; the next send job past the timeout marks it failed, saying so.
    store = loop.settings.store.id
    stuck = invites_by_state(loop.database, store).get("sending", set())
    assert len(stuck) <= 1, f"{len(stuck)} invites in 'sending' after one interrupted send"
    assert set(expected.emails) - set(got.emails) <= stuck
    with loop.database.session() as session:
        settled = invite_store.settle_interrupted(session, store, later)
    assert settled == len(stuck)
    with loop.database.session() as session:
        errors = session.scalars(
            select(models.Invite.error).where(models.Invite.order_id.in_(stuck))
        ).all()
    assert all(error == UNKNOWN_OUTCOME for error in errors)
    # Whoever got the email answered as in the clean run; the tags and tickets follow the answers.
    lost = customers_of_orders(loop, set(expected.emails) - set(got.emails))
    assert got.answered == {c: s for c, s in expected.answered.items() if c not in lost}
    assert got.shopify_tags == {c: t for c, t in expected.shopify_tags.items() if c not in lost}
    assert got.zendesk_tags == {c: t for c, t in expected.zendesk_tags.items() if c not in lost}
    assert got.followups == Counter({c: n for c, n in expected.followups.items() if c not in lost})
    assert set(got.followups.values()) == {1}, "a detractor got two follow-up tickets"


def customers_of_orders(loop: Loop, orders: set[int]) -> set[int]:
    with loop.database.session() as session:
        rows = session.scalars(select(models.Order.customer_id).where(models.Order.id.in_(orders)))
        return {c for c in rows if c is not None}


# -- two runs at once ----------------------------------------------------------------------------


def test_two_syncs_at_once_one_runs_the_other_exits_on_the_lock(
    database: Database, store_id: str, tmp_path: Path
) -> None:
    def same_store(document: dict[str, Any]) -> None:
        document["database"]["url"] = database.url
        document["store"]["id"] = store_id

    now = datetime.now(UTC).replace(microsecond=0)
    with running_loop(loop_options(60, 5, now), tmp_path, adjust=same_store) as loop:
        assert loop.sandbox.shopify is not None
        # The first Shopify call of the first sync takes 4 s: the runs overlap even when one
        # process starts a few seconds after the other on a busy machine.
        loop.sandbox.shopify.traffic.script(GRAPHQL, 1, Fault.delay(4.0))
        both = [loop.start_nps("sync"), loop.start_nps("sync")]
        outcomes = sorted(finish(process) for process in both)
        (code_ok, out_ok, _), (code_locked, out_locked, err_locked) = outcomes
        assert (code_ok, code_locked) == (0, 1), f"{out_ok}\n{out_locked}\n{err_locked}"
        assert "succeeded" in out_ok
        assert "in progress" in out_locked
        assert "locked" in out_locked
        # Only one sync was recorded, and the lock is free again.
        with loop.database.session() as session:
            runs = session.execute(
                select(models.JobRun.status).where(
                    models.JobRun.store == store_id, models.JobRun.job == "sync"
                )
            ).all()
        assert [status for (status,) in runs] == ["succeeded"]
        with JobLockGuard(loop.database, store_id, "sync", lambda: datetime.now(UTC)):
            pass


def race(database: Database, store: str, job: str, runs: int = 2) -> Counter[str]:
    """``runs`` threads take the (store, job) lock at the same instant, each as its own holder."""
    outcomes: Counter[str] = Counter()
    inside = threading.Semaphore(1)
    start = threading.Barrier(runs)

    def attempt(number: int) -> None:
        guard = JobLockGuard(database, store, job, lambda: datetime.now(UTC))
        guard.holder = f"{this_process()}-{number}"  # one process would be one holder
        start.wait()
        try:
            with guard:
                outcomes["ran" if inside.acquire(blocking=False) else "ran alongside"] += 1
                threading.Event().wait(0.2)  # long enough for the other to try
                inside.release()
        except LockHeld:
            outcomes["locked"] += 1

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_runs_starting_together_on_sqlite_get_the_lock_once(sqlite_database: Database) -> None:
    for attempt in range(6):
        assert race(sqlite_database, "shop", f"sync-{attempt}") == {"ran": 1, "locked": 1}


def test_an_abandoned_lock_is_taken_over_by_one_run_only(sqlite_database: Database) -> None:
    now = datetime.now(UTC)
    for attempt in range(6):
        with sqlite_database.session() as session:
            session.add(
                models.JobLock(
                    store="shop",
                    job=f"sync-{attempt}",
                    holder="elsewhere:1",
                    acquired_at=now - timedelta(hours=1),
                    expires_at=now - timedelta(minutes=1),  # its heartbeat stopped long ago
                )
            )
        assert race(sqlite_database, "shop", f"sync-{attempt}") == {"ran": 1, "locked": 1}
