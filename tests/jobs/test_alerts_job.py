"""The alerts job against a fake channel: what is sent, retried, given up and never repeated."""

from __future__ import annotations

from datetime import timedelta

from fakes import FakeAlertChannel
from workspace_support import NOW, seed_answers, workspace_settings

from jobs.alerts import send_alerts
from nps_engine.store.database import Database
from nps_engine.store.models import Alert

FRESH = {"alerts": {"webhook_url": "https://hooks.example/x", "max_age_days": 365}}


def states(database: Database) -> list[str]:
    with database.session() as session:
        return sorted(alert.state for alert in session.query(Alert))


def test_each_detractor_is_alerted_once_with_a_link_to_its_page(
    sqlite_database: Database, store_id: str
) -> None:
    seed_answers(sqlite_database, store_id, customers=10)
    settings = workspace_settings(store_id, **FRESH)
    channel = FakeAlertChannel()
    first = send_alerts(sqlite_database, settings, [channel], NOW)
    again = send_alerts(sqlite_database, settings, [channel], NOW + timedelta(minutes=1))
    assert (first.sent, again.sent, again.queued) == (4, 0, 0)
    assert len(channel.delivered) == 4
    assert all("/admin/responses/" in m.slack_text for m in channel.delivered)
    assert {m.payload["category"] for m in channel.delivered} == {"detractor"}


def test_a_channel_that_is_down_is_retried_next_run_and_left_alone_this_run(
    sqlite_database: Database, store_id: str
) -> None:
    seed_answers(sqlite_database, store_id, customers=10)
    settings = workspace_settings(store_id, **FRESH)
    channel = FakeAlertChannel(down=1)
    first = send_alerts(sqlite_database, settings, [channel], NOW)
    assert (first.sent, first.waiting) == (0, 1)  # one failure stops the channel for this run
    second = send_alerts(sqlite_database, settings, [channel], NOW + timedelta(minutes=1))
    assert second.sent == 4
    assert states(sqlite_database) == ["sent"] * 4


def test_an_unknown_outcome_is_never_sent_again_and_a_refusal_is_given_up(
    sqlite_database: Database, store_id: str
) -> None:
    seed_answers(sqlite_database, store_id, customers=10)
    settings = workspace_settings(store_id, **FRESH)
    losing = FakeAlertChannel(lose=1)
    assert send_alerts(sqlite_database, settings, [losing], NOW).unknown == 1
    send_alerts(sqlite_database, settings, [losing], NOW + timedelta(minutes=1))
    assert len(losing.delivered) == 4  # the lost one was not sent twice
    assert states(sqlite_database) == ["sent"] * 3 + ["unknown"]

    refused = send_alerts(
        sqlite_database, settings, [FakeAlertChannel("email-00000000", refuse=True)], NOW
    )
    assert refused.failed == 4
    assert "HTTP 404" in refused.errors[0]
