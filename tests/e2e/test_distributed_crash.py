"""A worker killed with SIGKILL mid-job: the broker gives its task to another worker, which
finishes the store's work; nobody gets a second email, tag write or follow-up ticket.

The whole worker (process group, as when a machine dies) is killed while it is sending surveys,
then the next one while it is pushing tags and opening follow-ups. The simulators answer every
call 50 ms late, so each job is long enough to be caught in the middle.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from loop_support import age_answers, answer_each_email, zendesk_writes
from queue_support import Fleet, brokers, fleet, needs_services
from sqlalchemy import select

from nps_engine.store import models
from nps_engine.store.database import Database
from sandbox.traffic import FaultPlan

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(180)]


@pytest.fixture(params=brokers())
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Fleet]:
    needs_services()
    database: Database = request.getfixturevalue("_postgres")

    def slow(index: int) -> dict[str, object]:
        return {"faults": FaultPlan(slow_rate=1.0, slow_seconds=0.05, seed=3)}

    def short_budget(document: dict[str, object]) -> None:
        # Redis hands a dead worker's task to another after the visibility timeout, which
        # follows the budget (5 + 30 s); RabbitMQ does it as soon as the connection drops.
        document["queue"]["store_time_budget_seconds"] = 5  # type: ignore[index]

    with fleet(tmp_path, database, request.param, stores=1, customers=120, seed=41,
               options=slow, adjust=short_budget) as running:  # fmt: skip
        yield running


def kill(running: Fleet, worker: object) -> None:
    os.killpg(worker.pid, signal.SIGKILL)  # type: ignore[attr-defined]
    worker.wait()  # type: ignore[attr-defined]


def test_a_killed_workers_jobs_finish_on_another_without_duplicates(shop: Fleet) -> None:
    ((store, sandbox),) = shop.stores.items()
    first = shop.worker("first")
    assert shop.run("run", "--enqueue").returncode == 0
    shop.wait_for("the first emails", lambda: len(sandbox.smtp.messages) >= 3)
    kill(shop, first)
    sent_before_kill = len(sandbox.smtp.messages)
    second = shop.worker("second")

    def invite_states() -> Counter[str]:
        with shop.database.session() as session:
            query = select(models.Invite.state).where(models.Invite.store == store)
            return Counter(session.scalars(query))

    # On Redis the killed task comes back after the visibility timeout (35 s here) and a sweep;
    # a send slower than the 5 s budget goes on in a second slice, after the push.
    shop.wait_for("the send to finish on the second worker", lambda: shop.finished("tags push")
                  and invite_states()["pending"] == 0, timeout=90)  # fmt: skip
    states = invite_states()
    assert states["sending"] <= 1  # the one cut mid-SMTP, if any: never mailed blindly again
    assert len(sandbox.smtp.messages) > sent_before_kill, "the second worker sent nothing"
    recipients = Counter(m.rcpt_tos[0] for m in sandbox.smtp.messages)
    assert max(recipients.values()) == 1, "someone got two survey emails"
    assert len(sandbox.smtp.messages) in (states["sent"], states["sent"] + 1)
    sends = Counter(run.status for run in shop.runs("surveys send"))
    assert sends["succeeded"] >= 1, sends
    assert sends["interrupted"] == 1, sends

    # Customers answer; the second worker dies while pushing tags and opening follow-ups (on
    # RabbitMQ: on Redis the task would come back only after another visibility timeout, which
    # the first kill has already shown).
    answered = answer_each_email(sandbox.world, sandbox.smtp.messages, share=0.8, seed=9)
    age_answers(shop.database, store, minutes=15)
    writes_before = zendesk_writes(sandbox.zendesk.traffic.snapshot())
    assert shop.run("run", "--enqueue").returncode == 0
    if shop.broker.startswith("amqp"):
        shop.wait_for("the push to start writing", lambda: zendesk_writes(
            sandbox.zendesk.traffic.snapshot()) >= writes_before + 2)  # fmt: skip
        kill(shop, second)
        shop.worker("third")
    shop.wait_for("the push to finish on the third worker", lambda: shop.finished("tags push", 2)
                  and any(r.status == "succeeded" and r.job == "tags push"
                          and r.started_at > shop.runs("surveys send")[-1].started_at
                          for r in shop.runs("tags push")))  # fmt: skip

    with shop.database.session() as session:
        responses = list(
            session.scalars(select(models.Response).where(models.Response.store == store))
        )
    assert len(responses) == answered.answered > 0
    followups = Counter(
        str(sandbox.zendesk.account.extras(ticket.id).get("external_id"))
        for ticket in sandbox.world.tickets.values()
        if "nps_followup" in ticket.tags
    )
    assert len(followups) == sum(r.score <= 6 for r in responses)
    assert max(followups.values(), default=1) == 1, "a detractor got two follow-up tickets"
    with sandbox.world.lock:
        for response in responses:
            tags = [t for t in sandbox.world.customers[response.customer_id].tags
                    if t.startswith("nps-score:")]  # fmt: skip
            assert tags == [f"nps-score:{response.score}"], tags
