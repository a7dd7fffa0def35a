"""``nps status`` counts, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nps_engine.store.database import Database
from nps_engine.store.models import (
    Cursor,
    Customer,
    Invite,
    JobRun,
    Order,
    Response,
    TagState,
    Ticket,
)
from nps_engine.store.status import read_status

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def order(store: str, order_id: int, **fields: object) -> Order:
    return Order(
        store=store,
        id=order_id,
        name=f"#{order_id}",
        customer_id=1,
        email="a@example.com",
        created_at=NOW,
        updated_at=NOW,
        **fields,
    )


def response(store: str, customer_id: int | None, updated_at: datetime) -> Response:
    return Response(
        store=store,
        source="web",
        kind="transactional",
        customer_id=customer_id,
        email=f"c{customer_id}@example.com",
        score=9,
        responded_at=updated_at,
        updated_at=updated_at,
    )


def invite(store: str, state: str) -> Invite:
    return Invite(
        store=store, kind="transactional", email="a@example.com", state=state, created_at=NOW
    )


def seed(database: Database, store: str) -> None:
    with database.session() as session:
        session.add_all(
            [Customer(store=store, id=i, email=f"c{i}@example.com") for i in (1, 2, 3, 4)]
        )
        session.add_all(
            [
                order(store, 1, delivered_at=NOW),
                order(store, 2, delivered_at=NOW, returned=True),
                order(store, 3, refunded=True),
                order(store, 4),
            ]
        )
        session.add(Ticket(store=store, id=1, status="open", created_at=NOW, updated_at=NOW))
        session.add_all([invite(store, "sent"), invite(store, "sent"), invite(store, "failed")])
        session.add_all(
            [
                response(store, 1, NOW - 3 * HOUR),  # pushed to both systems since
                response(store, 2, NOW - 3 * HOUR),
                response(store, 2, NOW),  # newer than its last push
                response(store, 3, NOW),  # never pushed
                response(store, None, NOW),  # imported, no customer: nothing to tag
            ]
        )
        session.add_all(
            [
                TagState(store=store, system="shopify", customer_id=1, pushed_at=NOW - HOUR),
                TagState(store=store, system="zendesk", customer_id=1, pushed_at=NOW - HOUR),
                TagState(store=store, system="shopify", customer_id=2, pushed_at=NOW - HOUR),
                TagState(store=store, system="zendesk", customer_id=3, pushed_at=None),
            ]
        )
        session.add_all(
            [
                JobRun(
                    store=store,
                    job="sync",
                    status="ok",
                    started_at=NOW - 2 * HOUR,
                    finished_at=NOW - 2 * HOUR + timedelta(minutes=1),
                ),
                JobRun(
                    store=store,
                    job="sync",
                    status="failed",
                    started_at=NOW - HOUR,
                    finished_at=NOW - HOUR + timedelta(minutes=1),
                ),
                JobRun(store=store, job="send", status="running", started_at=NOW),
            ]
        )
        session.add(
            Cursor(store=store, name="shopify.orders", value="2026-07-01T11:00:00Z", updated_at=NOW)
        )


def test_counts_what_the_store_holds(database: Database, store_id: str) -> None:
    seed(database, store_id)
    with database.session() as session:
        status = read_status(session, store_id)
    assert (status.customers, status.orders, status.tickets, status.responses) == (4, 4, 1, 5)
    assert (status.orders_delivered, status.orders_returned) == (2, 2)


def test_invites_list_every_state_including_empty_ones(database: Database, store_id: str) -> None:
    seed(database, store_id)
    with database.session() as session:
        invites = read_status(session, store_id).invites
    assert invites == {"pending": 0, "sending": 0, "sent": 2, "failed": 1, "suppressed": 0}


def test_pending_tag_pushes_are_answers_newer_than_the_last_push(
    database: Database, store_id: str
) -> None:
    seed(database, store_id)
    with database.session() as session:
        status = read_status(session, store_id)
    # shopify: customer 2 (new answer since), 3 (never pushed); zendesk: 2 (never), 3 (null push)
    assert status.tag_pushes_pending_by_system == {"shopify": 2, "zendesk": 2}
    assert status.tag_pushes_pending == 4
    assert status.as_json()["tag_pushes_pending"] == 4


def test_only_configured_systems_count_as_pending(database: Database, store_id: str) -> None:
    seed(database, store_id)
    with database.session() as session:
        status = read_status(session, store_id, tag_systems=("shopify",))
    assert status.as_json()["tag_pushes_pending_by_system"] == {"shopify": 2}


def test_last_run_of_each_job_and_cursors(database: Database, store_id: str) -> None:
    seed(database, store_id)
    with database.session() as session:
        report = read_status(session, store_id).as_json()
    assert report["last_runs"] == {
        "send": {"status": "running", "started_at": NOW.isoformat(), "finished_at": None},
        "sync": {
            "status": "failed",
            "started_at": (NOW - HOUR).isoformat(),
            "finished_at": (NOW - HOUR + timedelta(minutes=1)).isoformat(),
        },
    }
    assert report["cursors"] == {
        "shopify.orders": {"value": "2026-07-01T11:00:00Z", "updated_at": NOW.isoformat()}
    }


def test_an_empty_store_is_all_zeros(database: Database, store_id: str) -> None:
    seed(database, store_id + "-other")
    with database.session() as session:
        report = read_status(session, store_id).as_json()
    assert report["customers"] == report["responses"] == report["tag_pushes_pending"] == 0
    assert set(report["invites"].values()) == {0}
    assert report["last_runs"] == report["cursors"] == {}


def test_cursor_lag_is_the_time_since_the_sync_last_read_everything() -> None:
    from nps_engine.store.status import CursorPosition

    now = datetime(2026, 11, 2, 12, tzinfo=UTC)
    checked = datetime(2026, 11, 2, 11, 55, tzinfo=UTC)
    idle_shop = CursorPosition("2026-10-30T11:00:00+00:00", checked)  # nothing changed for days
    zendesk = CursorPosition("MTcwNzI3MTc0MS4wfHw0MDQ1fA==", checked)
    assert idle_shop.lag_seconds(now) == 300
    assert zendesk.lag_seconds(now) == 300
