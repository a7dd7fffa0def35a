"""Detractor follow-ups with a fake help desk: one ticket per fresh detractor answer, never two,
whatever fails in between. No Zendesk, no sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fakes import FakeFollowupDesk
from survey_support import seed_customer

from jobs.followups import external_id, open_followups
from nps_engine.config.settings import FollowUpSettings
from nps_engine.store import models
from nps_engine.store.database import Database

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
SETTINGS = FollowUpSettings(group_id=42, subject="Call back {name} ({score}/10, {order})")


def answer(
    database: Database,
    store: str,
    email: str,
    score: int,
    *,
    ago: timedelta = timedelta(hours=1),
    source: str = "survey",
    customer_id: int | None = None,
    order_id: int | None = None,
) -> int:
    with database.session() as session:
        response = models.Response(
            store=store,
            source=source,
            kind="transactional",
            customer_id=customer_id,
            order_id=order_id,
            email=email,
            score=score,
            comment="  Parcel arrived broken  ",
            responded_at=NOW - ago,
            updated_at=NOW - ago,
        )
        session.add(response)
        session.flush()
        return response.id


def state(database: Database, response_id: int) -> tuple[str | None, int | None]:
    with database.session() as session:
        row = session.get_one(models.Response, response_id)
        return row.followup_state, row.followup_ticket_id


def test_each_fresh_detractor_gets_one_ticket_that_tells_the_agent_what_happened(
    database: Database, store_id: str
) -> None:
    seed_customer(database, store_id, 1, "ann@example.com", first_name="Ann")
    detractor = answer(database, store_id, "ann@example.com", 3, customer_id=1, order_id=10)
    answer(database, store_id, "pat@example.com", 8)  # passive: no ticket
    answer(database, store_id, "old@example.com", 2, ago=timedelta(days=30))  # too old
    answer(database, store_id, "imp@example.com", 1, source="import")  # history, not fresh
    answer(database, store_id, "new@example.com", 0, ago=timedelta(minutes=2))  # still settling
    desk = FakeFollowupDesk({"ann@example.com": 77})
    summary = open_followups(database, store_id, desk, NOW, SETTINGS)
    assert summary.counts() == {
        "followups_created": 1,
        "followups_recovered": 0,
        "followups_failed": 0,
    }
    (ticket,) = desk.created
    assert ticket.external_id == external_id(store_id, detractor)
    assert ticket.subject == "Call back Ann (3/10, #10)"
    assert ticket.requester_id == 77
    assert ticket.group_id == 42
    assert ticket.tags == ("nps_followup",)
    assert "Comment (the customer's words):\n> Parcel arrived broken" in ticket.note
    assert "Score: 3/10 (detractor)" in ticket.note
    assert state(database, detractor) == ("created", 9000)
    # The settled answer gets its ticket on the next run; nothing is ever opened twice.
    open_followups(database, store_id, desk, NOW + timedelta(hours=1), SETTINGS)
    open_followups(database, store_id, desk, NOW + timedelta(hours=2), SETTINGS)
    assert [t.requester_email for t in desk.created] == ["ann@example.com", "new@example.com"]


def test_a_ticket_created_but_whose_answer_was_lost_is_adopted_not_created_again(
    database: Database, store_id: str
) -> None:
    response = answer(database, store_id, "ann@example.com", 2)
    desk = FakeFollowupDesk(lose_answers=1)
    first = open_followups(database, store_id, desk, NOW, SETTINGS)
    assert first.stopped is not None
    assert "timed out" in first.stopped
    assert state(database, response) == ("creating", None)
    second = open_followups(database, store_id, desk, NOW + timedelta(minutes=15), SETTINGS)
    assert (second.created, second.recovered) == (0, 1)
    assert len(desk.created) == 1
    assert state(database, response) == ("created", 9000)


def test_a_row_left_creating_by_a_crash_before_the_call_is_created_once(
    database: Database, store_id: str
) -> None:
    response = answer(database, store_id, "ann@example.com", 2)
    with database.session() as session:
        session.get_one(models.Response, response).followup_state = "creating"
    desk = FakeFollowupDesk()
    summary = open_followups(database, store_id, desk, NOW, SETTINGS)
    assert (summary.created, summary.recovered) == (1, 0)
    assert [t.external_id for t in desk.created] == [external_id(store_id, response)]


def test_a_refused_ticket_fails_alone_and_zendesk_down_stops_the_run_for_later(
    database: Database, store_id: str
) -> None:
    refused = answer(database, store_id, "suspended@example.com", 1)
    fine = answer(database, store_id, "ann@example.com", 4)
    down = FakeFollowupDesk(refuse={"suspended@example.com"}, down=True)
    stopped = open_followups(database, store_id, down, NOW, SETTINGS)
    assert stopped.stopped is not None
    assert "503" in stopped.stopped
    assert down.created == []
    assert state(database, refused) == ("creating", None)  # unknown outcome: reconciled next run
    up = FakeFollowupDesk(refuse={"suspended@example.com"})
    summary = open_followups(database, store_id, up, NOW + timedelta(minutes=5), SETTINGS)
    assert (summary.created, summary.failed) == (1, 1)
    assert summary.errors == [f"response {refused}: zendesk: 422 requester is suspended (HTTP 422)"]
    assert state(database, refused) == ("failed", None)
    assert state(database, fine)[0] == "created"
    # A permanent refusal is not asked again.
    open_followups(database, store_id, up, NOW + timedelta(hours=1), SETTINGS)
    assert len(up.created) == 1


def test_follow_ups_switched_off_open_nothing(database: Database, store_id: str) -> None:
    answer(database, store_id, "ann@example.com", 0)
    desk = FakeFollowupDesk()
    summary = open_followups(database, store_id, desk, NOW, FollowUpSettings(enabled=False))
    assert summary.created == 0
    assert desk.created == []
