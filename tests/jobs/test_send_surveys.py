"""``nps surveys send`` with a fake mailer: who gets an email, in which words, and what a refusal,
a greylisting or a server going down leaves behind. No SMTP server, no sandbox."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fakes import FakeSurveyMailer
from sqlalchemy import select
from survey_support import NOW, SECRET, seed_customer, survey_settings

from jobs.distributed.slices import SliceEnded, StoreSlice
from jobs.send_surveys import send_surveys
from nps_engine.invite_tokens import Purpose, TokenSigner
from nps_engine.records import email_digest
from nps_engine.store import models
from nps_engine.store.database import Database

SIGNER = TokenSigner(SECRET, timedelta(days=60))


def states(database: Database, store: str) -> dict[str, str]:
    with database.session() as session:
        invites = session.scalars(select(models.Invite).where(models.Invite.store == store))
        return {invite.email: invite.state for invite in invites}


def suppressed(database: Database, store: str) -> set[str]:
    """The suppression list, as hashes of the addresses (it keeps no address)."""
    with database.session() as session:
        rows = session.scalars(
            select(models.Suppression.email_hash).where(models.Suppression.store == store)
        )
        return set(rows)


def test_a_delivered_order_gets_one_survey_in_the_customers_language_with_signed_links(
    sqlite_database: Database, store_id: str
) -> None:
    seed_customer(sqlite_database, store_id, 1, "ann@example.com", locale="fr-CA")
    seed_customer(sqlite_database, store_id, 2, "bob@example.com", locale="en")
    mailer = FakeSurveyMailer()
    summary = send_surveys(sqlite_database, survey_settings(store_id), mailer, NOW)
    assert summary.counts["sent"] == 2
    (ann,) = mailer.to("ann@example.com")
    assert ann.headers["Content-Language"] == "fr"
    assert "Maison Verte" in ann.subject
    assert "List-Unsubscribe" in ann.headers
    links = re.findall(r"https://nps\.maisonverte\.example/s/([^/\"]+)/(\d+)", ann.html)
    assert sorted({int(score) for _, score in links}) == list(range(11))
    token = links[0][0]
    assert SIGNER.verify(token, Purpose.SURVEY, NOW) == ann.invite_id
    assert states(sqlite_database, store_id) == {
        "ann@example.com": "sent",
        "bob@example.com": "sent",
    }
    # The next run finds nothing due: nobody gets a second survey for the same order.
    again = send_surveys(
        sqlite_database, survey_settings(store_id), mailer, NOW + timedelta(hours=1)
    )
    assert again.counts["sent"] == 0
    assert len(mailer.sent) == 2


def test_a_dry_run_lists_who_would_get_a_survey_and_sends_nothing(
    sqlite_database: Database, store_id: str
) -> None:
    seed_customer(sqlite_database, store_id, 1, "ann@example.com", locale="fr")
    seed_customer(sqlite_database, store_id, 2, None)  # no email: skipped, and said why
    seed_customer(sqlite_database, store_id, 3, "cy@example.com", delivered_days_ago=2)  # too soon
    mailer = FakeSurveyMailer()
    summary = send_surveys(sqlite_database, survey_settings(store_id), mailer, NOW, dry_run=True)
    assert summary.planned == ["#10 -> a***@example.com (fr)"]
    assert mailer.attempts == []
    assert states(sqlite_database, store_id) == {}


def test_a_bounced_address_is_suppressed_and_a_refused_message_fails_alone(
    sqlite_database: Database, store_id: str
) -> None:
    seed_customer(sqlite_database, store_id, 1, "gone@example.com")
    seed_customer(sqlite_database, store_id, 2, "spam@example.com")
    seed_customer(sqlite_database, store_id, 3, "ok@example.com")
    mailer = FakeSurveyMailer(bounce={"gone@example.com"}, refuse={"spam@example.com"})
    summary = send_surveys(sqlite_database, survey_settings(store_id), mailer, NOW)
    assert (summary.counts["sent"], summary.counts["bounced"], summary.counts["failed"]) == (
        1,
        1,
        1,
    )
    assert states(sqlite_database, store_id) == {
        "gone@example.com": "suppressed",
        "spam@example.com": "failed",
        "ok@example.com": "sent",
    }
    assert suppressed(sqlite_database, store_id) == {email_digest("gone@example.com")}


def test_a_greylisted_recipient_waits_and_is_sent_on_the_next_run(
    sqlite_database: Database, store_id: str
) -> None:
    seed_customer(sqlite_database, store_id, 1, "grey@example.com")
    seed_customer(sqlite_database, store_id, 2, "ok@example.com")
    mailer = FakeSurveyMailer(defer={"grey@example.com"})
    first = send_surveys(sqlite_database, survey_settings(store_id), mailer, NOW)
    assert (first.counts["sent"], first.counts["waiting"]) == (1, 1)
    assert first.errors == []
    assert states(sqlite_database, store_id)["grey@example.com"] == "pending"
    mailer.defer.clear()
    second = send_surveys(
        sqlite_database, survey_settings(store_id), mailer, NOW + timedelta(hours=1)
    )
    assert second.counts["sent"] == 1
    assert [email.to for email in mailer.sent] == ["ok@example.com", "grey@example.com"]


def test_a_server_going_down_stops_the_batch_and_the_rest_go_out_next_run(
    sqlite_database: Database, store_id: str
) -> None:
    for customer in (1, 2, 3):
        seed_customer(sqlite_database, store_id, customer, f"c{customer}@example.com")
    mailer = FakeSurveyMailer(down_after=1)
    first = send_surveys(sqlite_database, survey_settings(store_id), mailer, NOW)
    assert first.counts["sent"] == 1
    assert len(first.errors) == 1
    assert first.errors[0].startswith("sending stopped: smtp: cannot connect")
    assert len(mailer.attempts) == 2  # it stopped at the first failure, not after trying all
    mailer.down_after = None
    second = send_surveys(
        sqlite_database, survey_settings(store_id), mailer, NOW + timedelta(hours=1)
    )
    assert second.counts["sent"] == 2
    assert sorted(email.to for email in mailer.sent) == [
        "c1@example.com",
        "c2@example.com",
        "c3@example.com",
    ]


def test_a_send_whose_time_slice_ends_leaves_the_rest_for_the_next_slice_mailing_nobody_twice(
    sqlite_database: Database, store_id: str
) -> None:
    for customer in (1, 2, 3):
        seed_customer(sqlite_database, store_id, customer, f"c{customer}@example.com")
    mailer = FakeSurveyMailer()
    clock = [0.0]
    store_slice = StoreSlice(60, clock=lambda: clock[0])
    clock[0] = 61.0  # the worker's budget for this store runs out during the first email
    with pytest.raises(SliceEnded):
        send_surveys(
            sqlite_database, survey_settings(store_id), mailer, NOW, progress=store_slice.progress
        )
    assert len(mailer.sent) == 1
    assert sorted(states(sqlite_database, store_id).values()) == ["pending", "pending", "sent"]
    send_surveys(sqlite_database, survey_settings(store_id), mailer, NOW + timedelta(minutes=1))
    assert sorted(email.to for email in mailer.sent) == [
        "c1@example.com",
        "c2@example.com",
        "c3@example.com",
    ]


def test_limit_caps_one_run_and_the_rest_wait_for_the_next(
    sqlite_database: Database, store_id: str
) -> None:
    for customer in (1, 2, 3):
        seed_customer(sqlite_database, store_id, customer, f"c{customer}@example.com")
    mailer = FakeSurveyMailer()
    first = send_surveys(sqlite_database, survey_settings(store_id), mailer, NOW, limit=2)
    assert first.counts["sent"] == 2
    send_surveys(sqlite_database, survey_settings(store_id), mailer, NOW + timedelta(hours=1))
    assert len({email.to for email in mailer.sent}) == 3


def test_reminders_go_once_to_who_has_not_answered(
    sqlite_database: Database, store_id: str
) -> None:
    settings = survey_settings(store_id, survey={"reminder": {"enabled": True, "after_days": 3}})
    seed_customer(sqlite_database, store_id, 1, "ann@example.com")
    mailer = FakeSurveyMailer()
    send_surveys(sqlite_database, settings, mailer, NOW)
    later = NOW + timedelta(days=4)
    summary = send_surveys(sqlite_database, settings, mailer, later)
    assert summary.counts["reminders"] == 1
    first, reminder = mailer.to("ann@example.com")
    assert reminder.message_id != first.message_id
    assert reminder.subject != first.subject
    send_surveys(sqlite_database, settings, mailer, later + timedelta(days=4))
    assert len(mailer.sent) == 2
