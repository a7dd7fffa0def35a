"""The generic push job with a fake writer: diff-based, fields for Zendesk, failures recorded."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

from fakes import FakeTagWriter
from sqlalchemy import select

from jobs.push_tags import push_tags
from nps_engine.config.settings import TagSettings
from nps_engine.ports import NO_ZENDESK_USER, PushOutcome, TagChange
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


def _synced_customer(database: Database, store: str, tags: list[str], synced_at: datetime) -> None:
    with database.session() as session:
        session.merge(
            models.Customer(
                store=store, id=1, email="c@example.com", tags=tags, synced_at=synced_at
            )
        )


def test_nps_tags_we_did_not_push_are_removed_whatever_their_case(
    database: Database, store_id: str
) -> None:
    """A passive (8) we tagged; then someone adds ``nps:detractor`` and ``NPS-Score:2`` by hand;
    the customer answers 10: the promoter ends with no detractor tag."""
    shopify = TagSettings().shopify
    answer(database, store_id, 1, 8, days_ago=3)
    push_tags(database, store_id, "shopify", FakeTagWriter(), shopify, NOW)
    by_hand = ["vip", "nps:passive", "nps-score:8", "nps:detractor", "NPS-Score:2"]
    _synced_customer(database, store_id, by_hand, NOW + timedelta(hours=1))
    answer(database, store_id, 1, 10, days_ago=-1 / 12)
    writer = FakeTagWriter()
    push_tags(database, store_id, "shopify", writer, shopify, NOW + timedelta(hours=3))
    (change,) = writer.calls[0]
    assert set(change.add) == {"nps:promoter", "nps-score:10"}
    assert {tag.lower() for tag in change.remove} == {
        "nps:passive", "nps-score:8", "nps:detractor", "nps-score:2"
    }  # fmt: skip
    assert "vip" not in change.remove
    # Synced after that push, the tags show it: nothing more to write.
    pushed = ["vip", "nps:promoter", "nps-score:10"]
    _synced_customer(database, store_id, pushed, NOW + timedelta(hours=4))
    again = FakeTagWriter()
    assert (
        push_tags(database, store_id, "shopify", again, shopify, NOW + timedelta(hours=5)).planned
        == 0
    )


def test_tags_synced_before_our_last_push_do_not_undo_it(database: Database, store_id: str) -> None:
    shopify = TagSettings().shopify
    answer(database, store_id, 1, 2, days_ago=3)
    _synced_customer(database, store_id, ["nps:promoter"], NOW - timedelta(hours=1))
    push_tags(database, store_id, "shopify", FakeTagWriter(), shopify, NOW)
    writer = FakeTagWriter()
    assert (
        push_tags(database, store_id, "shopify", writer, shopify, NOW + timedelta(hours=1)).planned
        == 0
    )


class NoUserWriter(FakeTagWriter):
    """Zendesk has no user with the email of the customers listed."""

    def __init__(self, without_user: Iterable[int]) -> None:
        super().__init__()
        self.without_user = set(without_user)

    def push(self, changes: Sequence[TagChange]) -> Iterator[PushOutcome]:
        self.calls.append(list(changes))
        for change in changes:
            if change.customer_id in self.without_user:
                yield PushOutcome(
                    change.customer_id, False, NO_ZENDESK_USER, retryable=False, skipped=True
                )
            else:
                yield PushOutcome(change.customer_id, True)


def test_status_pending_counts_only_what_a_push_will_do(database: Database, store_id: str) -> None:
    from nps_engine.store.status import read_status

    answer(database, store_id, 1, 9, days_ago=3)
    answer(database, store_id, 3, 4, days_ago=3)  # no Zendesk user has their email
    answer(database, store_id, 4, 8, days_ago=3)
    with database.session() as session:  # relationship answers are not tagged
        session.add(
            models.Response(
                store=store_id, source="survey", kind="relationship", customer_id=2, score=3,
                responded_at=NOW - timedelta(days=1), updated_at=NOW - timedelta(days=1),
            )
        )  # fmt: skip
    push_tags(database, store_id, "zendesk", NoUserWriter({3}), ZENDESK, NOW, with_fields=True)
    # Customer 4 adds a comment to the same score: tags and fields stay as they are.
    with database.session() as session:
        row = session.scalars(
            select(models.Response).where(
                models.Response.store == store_id, models.Response.customer_id == 4
            )
        ).one()
        row.comment, row.updated_at = "fine", NOW + timedelta(minutes=5)
    with database.session() as session:
        before = read_status(session, store_id, tag_systems=("zendesk",))
    assert before.tag_pushes_pending_by_system == {"zendesk": 1}  # customer 4's new comment
    writer = NoUserWriter({3})
    later = NOW + timedelta(minutes=10)
    push_tags(database, store_id, "zendesk", writer, ZENDESK, later, with_fields=True)
    assert writer.calls == [[]]  # nothing to write: the comment changes no tag
    with database.session() as session:
        status = read_status(session, store_id, tag_systems=("zendesk",))
    assert status.tag_pushes_pending == 0
    assert status.tag_pushes_without_zendesk_user == 1
    assert status.as_json()["tag_pushes_without_zendesk_user"] == 1


def test_dry_run_lists_what_the_push_would_skip_apart(database: Database, store_id: str) -> None:
    from fakes import FakeTagPreview

    answer(database, store_id, 1, 9, days_ago=3)
    answer(database, store_id, 2, 3, days_ago=3)
    writer = FakeTagPreview(absent={2})
    dry = push_tags(database, store_id, "zendesk", writer, ZENDESK, NOW, dry_run=True)
    assert [c.customer_id for c in dry.changes] == [1]
    assert [(c.customer_id, why) for c, why in dry.unwritable] == [(2, "no user")]
    assert writer.calls == []  # nothing written
