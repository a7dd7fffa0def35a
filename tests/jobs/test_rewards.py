"""Promoter rewards with a fake discount desk: one code per promoter answer, never two, even
when Shopify's answer is lost after the code was made; refusals are recorded, not retried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fakes import FakeDiscountDesk
from sqlalchemy import select

from jobs.rewards import issue_rewards
from nps_engine.config import Settings, parse_settings
from nps_engine.store import models
from nps_engine.store.database import Database

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def settings_for(store_id: str, **discount: Any) -> Settings:
    document = {
        "store": {"id": store_id, "name": "Maison Test"},
        "web": {"public_url": "http://127.0.0.1:1", "secret_key": "k" * 32},
        "rewards": {
            "promoter_discount": {"enabled": True, "percentage": 10, "validity_days": 30} | discount
        },
    }
    (settings,) = parse_settings(document, {})
    return settings


def answered(database: Database, store_id: str, scores: list[int]) -> list[int]:
    at = NOW - timedelta(hours=1)
    with database.session() as session:
        rows = [
            models.Response(
                store=store_id,
                source="survey",
                kind="transactional",
                customer_id=100 + index,
                email=f"customer{index}@example.com",
                score=score,
                responded_at=at,
                updated_at=at,
            )
            for index, score in enumerate(scores)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def states(database: Database, store_id: str) -> dict[int, str]:
    with database.session() as session:
        rows = session.scalars(
            select(models.PromoterReward).where(models.PromoterReward.store == store_id)
        )
        return {row.response_id: row.state for row in rows}


def test_promoters_get_one_code_each_and_a_second_run_makes_none(
    sqlite_database: Database, store_id: str
) -> None:
    ids = answered(sqlite_database, store_id, [10, 9, 7, 2])
    desk = FakeDiscountDesk()
    settings = settings_for(store_id)

    first = issue_rewards(sqlite_database, settings, desk, NOW)
    second = issue_rewards(sqlite_database, settings, desk, NOW + timedelta(minutes=5))

    assert (first.created, second.created, desk.created) == (2, 0, 2)
    assert states(sqlite_database, store_id) == {ids[0]: "created", ids[1]: "created"}
    assert {code.customer_id for code in desk.codes.values()} == {100, 101}
    assert all(code.percentage == 10 for code in desk.codes.values())


def test_a_code_whose_answer_was_lost_is_found_again_not_made_twice(
    sqlite_database: Database, store_id: str
) -> None:
    (promoter,) = answered(sqlite_database, store_id, [10])
    desk = FakeDiscountDesk(lose_answers=1)
    settings = settings_for(store_id)

    interrupted = issue_rewards(sqlite_database, settings, desk, NOW)
    assert interrupted.stopped is not None
    assert states(sqlite_database, store_id) == {promoter: "creating"}

    settled = issue_rewards(sqlite_database, settings, desk, NOW + timedelta(minutes=5))
    assert (settled.recovered, settled.created, desk.created) == (1, 0, 1)
    assert states(sqlite_database, store_id) == {promoter: "created"}


def test_a_refused_code_is_recorded_as_failed_and_not_asked_again(
    sqlite_database: Database, store_id: str
) -> None:
    (promoter,) = answered(sqlite_database, store_id, [9])
    desk = FakeDiscountDesk(refuse="Discount value is invalid")
    settings = settings_for(store_id)

    summary = issue_rewards(sqlite_database, settings, desk, NOW)
    again = issue_rewards(sqlite_database, settings, desk, NOW + timedelta(minutes=5))

    assert (summary.failed, again.failed) == (1, 0)
    assert "Discount value is invalid" in summary.errors[0]
    assert states(sqlite_database, store_id) == {promoter: "failed"}
