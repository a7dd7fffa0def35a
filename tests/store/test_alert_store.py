"""The alerts table as the claim, on SQLite and PostgreSQL: one row per answer and destination,
one sender per row."""

from __future__ import annotations

from datetime import timedelta

from workspace_support import NOW, seed_answers

from nps_engine.store import alerts
from nps_engine.store.database import Database

FRESH = {"settle": timedelta(minutes=2), "max_age": timedelta(days=365)}


def test_queueing_twice_adds_each_answer_once_per_channel(
    database: Database, store_id: str
) -> None:
    seed_answers(database, store_id, customers=10)
    channels = ["webhook", "email-1a2b3c4d"]
    first = alerts.queue_answers(database, store_id, channels, ["detractor"], NOW, **FRESH)
    again = alerts.queue_answers(database, store_id, channels, ["detractor"], NOW, **FRESH)
    assert first == 2 * 4  # customers 1, 5, 6 and 10 scored 4 or 0
    assert again == 0
    due = alerts.due_alerts(database, store_id)
    assert len(due) == 8
    assert alerts.start_sending(database, due[0].id, NOW) is True
    assert alerts.start_sending(database, due[0].id, NOW) is False  # another worker lost the race
    assert len(alerts.due_alerts(database, store_id)) == 7


def test_old_and_imported_answers_never_alert(database: Database, store_id: str) -> None:
    seed_answers(database, store_id, customers=10)
    recent = {"settle": timedelta(minutes=2), "max_age": timedelta(days=2)}
    assert alerts.queue_answers(database, store_id, ["webhook"], ["detractor"], NOW, **recent) == 1
    assert alerts.queue_digest(database, store_id, "webhook", "2026-03-09", NOW) is True
    assert alerts.queue_digest(database, store_id, "webhook", "2026-03-09", NOW) is False
