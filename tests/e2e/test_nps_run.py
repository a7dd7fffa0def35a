"""``nps run`` as cron runs it, on the sandbox: invites, emails, answers, tags on both sides,
follow-up tickets, the report; then a run with nothing new that writes nothing; and the built-in
scheduler of ``nps serve``.

One loop is shared by the module (the first tests read what two runs did, the last one adds a
third run), so the whole story costs two syncs of a 150-customer shop.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from loop_support import (
    Loop,
    ShopifyTagWrites,
    emails_per_order,
    followup_tickets,
    loop_options,
    running_loop,
    shopify_nps_tags,
    zendesk_nps_tags,
    zendesk_writes,
)
from sqlalchemy import func, select

from jobs.followups import external_id
from jobs.runtime.scheduler import store_scheduler
from nps_engine.store import models
from sandbox.responder import Responder, ResponderStats

CUSTOMERS = 150
SEED = 11


def category(score: int) -> str:
    return "detractor" if score <= 6 else "passive" if score <= 8 else "promoter"


@dataclass
class TwoRuns:
    loop: Loop
    first: Result
    emails_after_first: int
    answers: ResponderStats
    second: Result
    next_cron: datetime  # the second run's clock: a quarter of an hour after the first
    shopify_writes: ShopifyTagWrites


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoRuns]:
    """``nps run``; customers answer about half of the emails; ``nps run`` 15 minutes later."""
    now = datetime.now(UTC).replace(microsecond=0)
    options = loop_options(CUSTOMERS, SEED, now)
    with running_loop(options, tmp_path_factory.mktemp("nps-run")) as loop:
        assert loop.sandbox.shopify is not None
        writes = ShopifyTagWrites(loop.sandbox.shopify)
        first = loop.nps("run")
        emails = len(loop.sink.messages)
        answers = Responder(loop.world, loop.sink, share=0.6, seed=SEED).answer_new_emails()
        # The next cron run, 15 minutes on: answers have had their 10 minutes to gain a comment,
        # so detractor follow-ups are due. The job clock is moved, not the answers.
        next_cron = datetime.now(UTC) + timedelta(minutes=15)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("jobs.cli.commands.loop.utc_now", lambda: next_cron)
            second = loop.nps("run")
        yield TwoRuns(loop, first, emails, answers, second, next_cron, writes)


def responses(runs: TwoRuns) -> list[models.Response]:
    loop = runs.loop
    with loop.database.session() as session:
        return list(
            session.scalars(
                select(models.Response)
                .where(models.Response.store == loop.settings.store.id)
                .order_by(models.Response.id)
            )
        )


def test_nps_run_invites_each_due_order_once_and_prints_the_summary(runs: TwoRuns) -> None:
    assert runs.first.exit_code == 0, runs.first.output
    output = runs.first.output
    assert "run summary" in output
    for job in ("sync", "surveys send", "tags push"):
        assert re.search(rf"{job}\s*│\s*succeeded", output), f"{job} did not succeed:\n{output}"
    sent = int(re.search(r"sent (\d+)", output).group(1))  # type: ignore[union-attr]
    loop = runs.loop
    per_order = emails_per_order(loop, runs.next_cron)
    assert sent == runs.emails_after_first == sum(per_order.values()) > 0
    assert max(per_order.values()) == 1, "an order got two survey emails"
    survey = loop.settings.survey
    with loop.database.session() as session:
        orders = {o.id: o for o in session.scalars(select(models.Order))}
        invites = list(session.scalars(select(models.Invite)))
    assert {i.order_id for i in invites} == set(per_order)
    for invite in invites:
        assert invite.state == "sent"
        order = orders[invite.order_id]
        # Due a week after delivery, or 10 days after fulfilment without tracking; not too old.
        since, wait = order.delivered_at, timedelta(days=survey.delay_days)
        if since is None:
            since, wait = order.fulfilled_at, timedelta(days=survey.fallback_days)
        assert since is not None, f"order {order.name} was surveyed but never fulfilled"
        assert wait <= invite.created_at - since <= timedelta(days=survey.max_age_days)


def test_survey_emails_go_to_the_customer_with_both_parts_and_eleven_links(runs: TwoRuns) -> None:
    loop = runs.loop
    assert loop.settings.web is not None
    public = str(loop.settings.web.public_url).rstrip("/")
    with loop.database.session() as session:
        addresses = {i.email for i in session.scalars(select(models.Invite))}
    for received in loop.sink.messages[:3]:
        message = received.message
        assert message["To"] is not None
        assert received.rcpt_tos[0] in addresses
        assert received.rcpt_tos[0] in message["To"].lower()
        assert message.get_content_type() == "multipart/alternative"
        for kind in ("plain", "html"):
            part = message.get_body((kind,))
            assert part is not None, f"no {kind} part"
            scores = re.findall(rf"{re.escape(public)}/s/[A-Za-z0-9_.-]+/(10|[0-9])\b",
                                part.get_content())  # fmt: skip
            assert sorted(set(map(int, scores))) == list(range(11)), kind
    # The links work: the response simulator answered through them, page and form.
    assert runs.answers.answered > 0
    assert runs.answers.failed == 0


def test_answers_come_back_as_tags_in_shopify_and_zendesk(runs: TwoRuns) -> None:
    assert runs.second.exit_code == 0, runs.second.output
    assert re.search(r"tags push\s*│\s*succeeded", runs.second.output)
    loop = runs.loop
    answered = responses(runs)
    assert len(answered) == runs.answers.answered
    latest = {r.customer_id: r for r in answered}  # ordered by id: the last answer wins
    shopify = shopify_nps_tags(loop.world)
    for customer_id, response in latest.items():
        assert customer_id is not None
        tags = set(shopify.get(customer_id, ()))
        assert f"nps:{category(response.score)}" in tags
        assert f"nps-score:{response.score}" in tags
    assert set(shopify) == set(latest), "NPS tags on customers who did not answer"
    with loop.database.session() as session:
        users = dict(
            session.execute(
                select(models.ZendeskUser.customer_id, models.ZendeskUser.id).where(
                    models.ZendeskUser.customer_id.in_(list(latest))
                )
            ).all()
        )
    zendesk = zendesk_nps_tags(loop.world)
    assert users, "no answering customer has a Zendesk user: the world does not test this"
    for customer_id, user_id in users.items():
        assert f"nps_{category(latest[customer_id].score)}" in zendesk.get(user_id, ())


def test_each_detractor_gets_one_followup_ticket_once_the_answer_settled(runs: TwoRuns) -> None:
    detractors = [r for r in responses(runs) if r.score <= 6]
    assert detractors, "the simulated answers hold no detractor: the world does not test this"
    tickets = followup_tickets(runs.loop.sandbox)
    store = runs.loop.settings.store.id
    assert sorted(tickets.values()) == sorted(external_id(store, r.id) for r in detractors)
    for response in detractors:
        assert response.followup_state == "created"
        assert response.followup_ticket_id in tickets


def test_report_json_has_the_contract_fields(runs: TwoRuns) -> None:
    result = runs.loop.nps("report", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["basis"] == "customers"
    assert set(report["period"]) >= {"from", "to"}
    overall = report["overall"]
    assert set(overall) >= {"n", "promoters", "passives", "detractors", "nps", "ci95"}
    answering = {r.customer_id for r in responses(runs)}
    assert overall["n"] == len(answering)
    assert overall["promoters"] + overall["passives"] + overall["detractors"] == overall["n"]
    for segment in report["segments"]:
        assert set(segment) >= {"name", "n", "promoters", "passives", "detractors", "nps", "ci95",
                                "rest", "difference", "p_value", "small_sample"}  # fmt: skip
        assert set(segment["rest"]) >= {"n", "nps", "ci95"}
    assert report["trend"]
    for month in report["trend"]:
        assert set(month) >= {"month", "n", "nps", "ci95"}
        assert re.fullmatch(r"\d{4}-\d{2}", month["month"])


def test_a_run_with_nothing_new_sends_nothing_and_writes_nothing(runs: TwoRuns) -> None:
    loop = runs.loop
    before = loop.sandbox.traffic()
    emails, tag_writes = len(loop.sink.messages), runs.shopify_writes.count
    assert tag_writes > 0, "the second run wrote no Shopify tag: nothing to compare with"
    with loop.database.session() as session:
        job_runs = session.scalar(select(func.count()).select_from(models.JobRun))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            "jobs.cli.commands.loop.utc_now", lambda: runs.next_cron + timedelta(minutes=1)
        )
        third = loop.nps("run")
    assert third.exit_code == 0, third.output
    after = loop.sandbox.traffic()
    assert len(loop.sink.messages) == emails
    assert runs.shopify_writes.count == tag_writes
    assert zendesk_writes(after["zendesk"]) == zendesk_writes(before["zendesk"])
    assert after["smtp"].calls == before["smtp"].calls
    with loop.database.session() as session:
        # Still one job_runs row per job: the run was recorded even though it did nothing.
        assert session.scalar(select(func.count()).select_from(models.JobRun)) == job_runs + 3


def latest_noon() -> datetime:
    now = datetime.now(UTC)
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    return noon if noon <= now else noon - timedelta(days=1)


def test_serve_scheduler_runs_sync_send_push_and_the_report_when_due(tmp_path: Path) -> None:
    noon = latest_noon()  # inside the default sending hours (09:00-18:00, store time UTC)
    clock = [noon]
    options = loop_options(60, 4, noon)
    with running_loop(options, tmp_path) as loop:
        scheduler = store_scheduler(loop.settings, loop.database, lambda: clock[0])
        assert scheduler.run_pending() == [
            "sync", "surveys send", "tags push", "themes", "report"
        ]  # fmt: skip
        assert loop.sink.messages, "the scheduled send mailed nothing"
        report = Path(loop.settings.schedule.report_path)
        assert report.is_file()
        assert "NPS" in report.read_text(encoding="utf-8")
        with loop.database.session() as session:
            runs = session.execute(select(models.JobRun.job, models.JobRun.status)).all()
        assert sorted(runs) == sorted(
            (job, "succeeded") for job in ("sync", "surveys send", "tags push", "themes", "report")
        )
        assert scheduler.run_pending() == []  # nothing is due again at once
        clock[0] = noon + timedelta(minutes=5)
        assert scheduler.run_pending() == ["tags push"]
        clock[0] = noon + timedelta(minutes=15)
        assert scheduler.run_pending() == ["sync", "tags push"]
        clock[0] = noon.replace(hour=20)  # evening: no survey goes out, the rest goes on
        assert scheduler.run_pending() == ["sync", "tags push", "themes"]  # 8 h on: themes too
