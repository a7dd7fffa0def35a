"""The generic push job with a fake writer: diff-based, fields for Zendesk, failures recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fakes import FakeTagWriter
from sqlalchemy import select

from jobs.push_tags import push_tags
from nps_engine.config.settings import TagSettings
from nps_engine.store import models
from nps_engine.store.database import Database

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
ZENDESK = TagSettings().zendesk


def answer(database: Database, store: str, customer_id: int, score: int, days_ago: float) -> None:
    with database.session() as session:
        session.add(
            models.Response(
                store=store,
                import_key=f"{customer_id}-{days_ago}",
                source="import",
                kind="transactional",
                customer_id=customer_id,
                score=score,
                responded_at=NOW - timedelta(days=days_ago),
                updated_at=NOW,
            )
        )


def test_zendesk_fields_are_pushed_with_the_tags_and_only_once(
    database: Database, store_id: str
) -> None:
    answer(database, store_id, 1, 9, days_ago=3)
    writer = FakeTagWriter()
    push_tags(database, store_id, "zendesk", writer, ZENDESK, NOW, with_fields=True)
    (change,) = writer.calls[0]
    assert set(change.add) == {"nps_promoter", "nps_score_9"}
    assert change.fields["nps_score"] == 9
    assert change.fields["nps_category"] == "promoter"
    second = push_tags(database, store_id, "zendesk", writer, ZENDESK, NOW, with_fields=True)
    assert second.planned == 0
    assert writer.calls[1] == []


def test_a_failure_is_recorded_and_the_others_are_still_pushed(
    database: Database, store_id: str
) -> None:
    for customer_id in (1, 2, 3):
        answer(database, store_id, customer_id, 5, days_ago=3)
    writer = FakeTagWriter(transient={2}, permanent={3})
    summary = push_tags(database, store_id, "zendesk", writer, ZENDESK, NOW)
    assert (summary.pushed, summary.failed) == (1, 2)
    with database.session() as session:
        states = {
            s.customer_id: s
            for s in session.scalars(
                select(models.TagState).where(models.TagState.store == store_id)
            )
        }
    assert states[1].pushed_at == NOW
    assert states[2].error == "timeout"
    assert states[3].error == "permanent: User not found"
    # The transient failure is tried again; the permanent one waits for a new answer.
    again = FakeTagWriter()
    push_tags(database, store_id, "zendesk", again, ZENDESK, NOW + timedelta(hours=1))
    assert [c.customer_id for c in again.calls[0]] == [2]
    answer(database, store_id, 3, 10, days_ago=-1 / 24)  # answered after the failure
    later = FakeTagWriter()
    push_tags(database, store_id, "zendesk", later, ZENDESK, NOW + timedelta(hours=2))
    assert [c.customer_id for c in later.calls[0]] == [3]
