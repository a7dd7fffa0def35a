"""One run of ``surveys send`` as a store owner sees it: the limit caps every email of the run,
the dry run lists what the real run sends, every order of the window is accounted for, tracked
parcels wait for their delivery, and texts get the customer's values wherever they are."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from survey_support import NOW, seed_customer, survey_settings

from connectors.email import SmtpMailer
from jobs.send_surveys import send_surveys
from nps_engine.config.settings import Settings
from nps_engine.store.database import Database
from nps_engine.store.models import Customer, Invite, Order, Response
from sandbox.smtp import SmtpSink

RELATIONSHIP_AND_REMINDERS = {
    # every_days 30 and a throttle of 0: each customer's relationship day comes within a month.
    "relationship": {"enabled": True, "every_days": 30},
    "reminder": {"enabled": True, "after_days": 4},
    "throttle_days": 0,
}


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


def _send(database: Database, settings: Settings, **options: object):  # type: ignore[no-untyped-def]
    email = settings.email
    assert email is not None
    mailer = SmtpMailer(
        email.smtp_host, email.smtp_port, sender=email.from_, security=email.security,
        timeout=email.timeout_seconds, sleep=lambda _s: None,
    )  # fmt: skip
    with mailer:
        return send_surveys(database, settings, mailer, NOW, **options)  # type: ignore[arg-type]


def _busy_store(database: Database, store: str) -> None:
    """Two orders due, two relationship customers on their day, two sent invites due a reminder."""
    seed_customer(database, store, 1, "one@example.com")
    seed_customer(database, store, 2, "two@example.com")
    from nps_engine.eligibility import relationship_slot_start

    on_their_day = [
        c for c in range(100, 400) if relationship_slot_start(c, 30, NOW).date() == NOW.date()
    ][:2]
    for customer_id in on_their_day:
        seed_customer(
            database, store, customer_id, f"r{customer_id}@example.com", delivered_days_ago=200
        )
    with database.session() as session:
        for n in (1, 2):
            session.add(
                Invite(
                    store=store, kind="transactional", order_id=9000 + n, customer_id=500 + n,
                    email=f"old{n}@example.com", locale="en", state="sent",
                    created_at=NOW - timedelta(days=5), sent_at=NOW - timedelta(days=5),
                )
            )  # fmt: skip


def test_limit_caps_every_email_of_the_run(
    database: Database, store_id: str, sink: SmtpSink
) -> None:
    settings = survey_settings(store_id, sink.port, survey=RELATIONSHIP_AND_REMINDERS)
    _busy_store(database, store_id)
    summary = _send(database, settings, limit=1)
    assert len(sink.messages) == 1
    assert summary.counts["sent"] == 1
    # The rest goes on the next runs, one at a time, post-delivery surveys first.
    assert len(_send(database, settings, limit=3).planned) == 0
    assert len(sink.messages) == 4


def test_max_per_run_caps_every_email_of_the_run(
    database: Database, store_id: str, sink: SmtpSink
) -> None:
    survey = {**RELATIONSHIP_AND_REMINDERS, "max_per_run": 3}
    settings = survey_settings(store_id, sink.port, survey=survey)
    _busy_store(database, store_id)
    _send(database, settings)
    assert len(sink.messages) == 3


def test_dry_run_lists_every_email_the_real_run_sends(
    database: Database, store_id: str, sink: SmtpSink
) -> None:
    settings = survey_settings(store_id, sink.port, survey=RELATIONSHIP_AND_REMINDERS)
    _busy_store(database, store_id)
    dry = _send(database, settings, dry_run=True)
    assert len(sink.messages) == 0
    lines = dry.lines()
    assert "would send #10 -> o***@example.com (en)" in lines
    assert sum(line.startswith("would send relationship survey -> r") for line in lines) == 2
    assert "would send reminder -> o***@example.com (en)" in lines
    assert lines[-1] == (
        "would send 6 email(s): 2 post-delivery survey(s), 2 relationship survey(s), 2 reminder(s)"
    )
    _send(database, settings)
    assert len(sink.messages) == len(dry.planned) == 6


def test_dry_run_counts_the_follow_ups_tags_push_would_open(
    database: Database, store_id: str, sink: SmtpSink
) -> None:
    settings = survey_settings(
        store_id,
        sink.port,
        zendesk={"subdomain": "maison", "email": "a@maison.example", "api_token": "t" * 20},
    )
    with database.session() as session:
        session.add(
            Response(
                store=store_id, source="survey", kind="transactional", customer_id=1,
                email="ann@example.com", score=2, responded_at=NOW - timedelta(hours=2),
                updated_at=NOW - timedelta(hours=2),
            )
        )  # fmt: skip
    lines = _send(database, settings, dry_run=True).lines()
    assert "`nps tags push` would open 1 detractor follow-up ticket(s)" in lines


def test_name_placeholder_is_filled_in_the_subject(
    database: Database, store_id: str, sink: SmtpSink
) -> None:
    settings = survey_settings(
        store_id,
        sink.port,
        survey={"texts": {"fr": {"subject": "Votre avis compte, {name} ! (commande {order})"}}},
    )
    seed_customer(database, store_id, 1, "zoe@example.fr", locale="fr", first_name="Zoe")
    _send(database, settings)
    [received] = sink.wait_for(1)
    assert received.message["Subject"] == "Votre avis compte, Zoe ! (commande #10)"
    assert "Bonjour Zoe," in received.message.get_body(("plain",)).get_content()


def _order(store: str, order_id: int, customer_id: int, **dates: object) -> Order:
    return Order(
        store=store, id=order_id, name=f"#{order_id}", customer_id=customer_id,
        email=f"c{customer_id}@example.com", created_at=NOW - timedelta(days=20),
        updated_at=NOW - timedelta(days=1), total_price=Decimal("10"), **dates,
    )  # fmt: skip


def test_every_order_of_the_window_is_accounted_for(
    database: Database, store_id: str, sink: SmtpSink
) -> None:
    settings = survey_settings(store_id, sink.port)
    seed_customer(database, store_id, 1, "due@example.com")  # order #10, delivered 8 days ago
    with database.session() as session:
        for customer_id in (2, 3, 4):
            session.add(
                Customer(store=store_id, id=customer_id, email=f"c{customer_id}@example.com",
                         orders_count=1, total_spent=Decimal("10"), tags=[])
            )  # fmt: skip
        session.add(_order(store_id, 20, 2))  # placed 20 days ago, not fulfilled yet
        old = NOW - timedelta(days=33)
        session.add(_order(store_id, 30, 3, fulfilled_at=old, delivered_at=old))  # too old
        session.add(_order(store_id, 40, 4, cancelled_at=NOW - timedelta(days=19)))
    line = _send(database, settings, dry_run=True).lines()[0]
    assert line == "1 due, skipped: 1 cancelled (1 not fulfilled, 1 too old)"


def test_tracked_parcel_in_transit_waits_for_its_delivery(
    database: Database, store_id: str, sink: SmtpSink
) -> None:
    settings = survey_settings(store_id, sink.port)
    shipped = NOW - timedelta(days=12)
    with database.session() as session:
        for customer_id in (1, 2):
            session.add(
                Customer(store=store_id, id=customer_id, email=f"c{customer_id}@example.com",
                         orders_count=1, total_spent=Decimal("10"), tags=[])
            )  # fmt: skip
        session.add(
            _order(
                store_id, 10, 1, fulfilled_at=shipped, tracked=True, delivery_status="IN_TRANSIT"
            )
        )
        session.add(_order(store_id, 20, 2, fulfilled_at=shipped, tracked=False))
    summary = _send(database, settings, dry_run=True)
    assert summary.planned == ["#20 -> c***@example.com (en)"]  # untracked: the fallback
    assert summary.lines()[0] == "1 due (1 in transit)"
    # Still in transit past max_age_days: too old, never mailed late.
    with database.session() as session:
        session.get_one(Order, (store_id, 10)).fulfilled_at = NOW - timedelta(days=31)
    assert "1 too old" in _send(database, settings, dry_run=True).lines()[0]


def test_no_relationship_survey_for_a_customer_whose_only_order_was_cancelled(
    database: Database, store_id: str, sink: SmtpSink
) -> None:
    settings = survey_settings(store_id, sink.port, survey=RELATIONSHIP_AND_REMINDERS)
    from nps_engine.eligibility import relationship_slot_start

    customer_id = next(
        c for c in range(100, 400) if relationship_slot_start(c, 30, NOW).date() == NOW.date()
    )
    seed_customer(database, store_id, customer_id, "gone@example.com", delivered_days_ago=200)
    with database.session() as session:
        session.get_one(Order, (store_id, customer_id * 10)).cancelled_at = NOW - timedelta(
            days=214
        )
    assert _send(database, settings, dry_run=True).planned == []
    _send(database, settings)
    assert len(sink.messages) == 0
