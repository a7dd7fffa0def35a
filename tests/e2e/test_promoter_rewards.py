"""Promoter rewards on the Shopify simulator: one working single-use code per promoter answer,
even across crashes, and an optional thank-you email carrying it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from shopify_sandbox import WORLD_NOW, world
from sqlalchemy import select

from connectors.shopify.client import ShopifyClient
from connectors.shopify.discounts import ShopifyDiscountDesk
from jobs import bootstrap
from jobs.rewards import issue_rewards, reward_response
from nps_engine.config import Settings, parse_settings
from nps_engine.ports import PromoterCode
from nps_engine.records import normalise_email
from nps_engine.store import models
from nps_engine.store.database import Database
from sandbox.shopify.cost import LeakyBucket
from sandbox.shopify.simulator import DEFAULT_ACCESS_TOKEN, ShopifySimulator
from sandbox.smtp import SmtpSink
from sandbox.world import World

__all__ = ["world"]

NOW = WORLD_NOW + timedelta(hours=1)


class Crash(Exception):
    pass


@pytest.fixture
def simulator(world: World) -> Iterator[ShopifySimulator]:
    with ShopifySimulator(world, bucket=LeakyBucket(2000, 2000), clock=lambda: WORLD_NOW) as sim:
        yield sim


@pytest.fixture
def desk(world: World, simulator: ShopifySimulator) -> ShopifyDiscountDesk:
    client = ShopifyClient(world.shop_domain, DEFAULT_ACCESS_TOKEN, api_base_url=simulator.base_url)
    return ShopifyDiscountDesk(client)


def settings_for(store_id: str, **discount: Any) -> Settings:
    document = {
        "store": {"id": store_id, "name": "Maison Test"},
        "web": {"public_url": "http://127.0.0.1:1", "secret_key": "k" * 32},
        "rewards": {
            "promoter_discount": {"enabled": True, "percentage": 15, "validity_days": 30} | discount
        },
    }
    (settings,) = parse_settings(document, {})
    return settings


def answers(database: Database, store_id: str, world: World, scores: list[int]) -> list[int]:
    """One survey answer per score, each from its own customer, an hour before NOW."""
    customers = [c for c in world.customers.values() if c.email][: len(scores)]
    at = NOW - timedelta(hours=1)
    with database.session() as session:
        rows = [
            models.Response(
                store=store_id,
                source="survey",
                kind="transactional",
                customer_id=customer.id,
                email=normalise_email(customer.email),
                score=score,
                responded_at=at,
                updated_at=at,
            )
            for customer, score in zip(customers, scores, strict=True)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def rewards(database: Database, store_id: str) -> dict[int, models.PromoterReward]:
    with database.session() as session:
        rows = session.scalars(
            select(models.PromoterReward).where(models.PromoterReward.store == store_id)
        )
        return {row.response_id: row for row in rows}


def test_each_promoter_gets_one_single_use_code_for_them_only(
    sqlite_database: Database,
    store_id: str,
    world: World,
    simulator: ShopifySimulator,
    desk: ShopifyDiscountDesk,
) -> None:
    ids = answers(sqlite_database, store_id, world, [10, 9, 8, 3])
    settings = settings_for(store_id, minimum_order="40.00")
    summary = issue_rewards(sqlite_database, settings, desk, NOW)
    assert summary.created == 2
    stored = rewards(sqlite_database, store_id)
    assert set(stored) == set(ids[:2])  # the passive and the detractor get nothing
    with sqlite_database.session() as session:
        customers = {r.id: r.customer_id for r in session.scalars(select(models.Response))}
    for response_id, reward in stored.items():
        made = simulator.discounts.codes[reward.code.upper()]
        assert reward.state == "created"
        assert reward.discount_id == made["id"]
        assert made["context"]["customers"]["add"] == [
            f"gid://shopify/Customer/{customers[response_id]}"
        ]
        assert made["usageLimit"] == 1
        assert made["appliesOncePerCustomer"] is True
        assert made["customerGets"]["value"]["percentage"] == pytest.approx(0.15)
        assert made["minimumRequirement"]["subtotal"]["greaterThanOrEqualToSubtotal"] == Decimal(
            "40.00"
        )
        ends = made["endsAt"]
        assert ends == NOW - timedelta(hours=1) + timedelta(days=30)
        assert reward.offer == "15%"
    again = issue_rewards(sqlite_database, settings, desk, NOW + timedelta(minutes=5))
    assert again.created == 0
    assert len(simulator.discounts.codes) == 2


class CrashAfterCreate:
    """The real desk, but the process dies right after Shopify created the code."""

    def __init__(self, desk: ShopifyDiscountDesk) -> None:
        self.desk = desk

    def find_code(self, code: str) -> str | None:
        return self.desk.find_code(code)

    def create_code(self, reward: PromoterCode) -> str:
        self.desk.create_code(reward)
        raise Crash


def test_a_crash_after_shopify_created_the_code_never_makes_a_second(
    sqlite_database: Database,
    store_id: str,
    world: World,
    simulator: ShopifySimulator,
    desk: ShopifyDiscountDesk,
) -> None:
    (response_id,) = answers(sqlite_database, store_id, world, [10])
    settings = settings_for(store_id)
    with pytest.raises(Crash):
        issue_rewards(sqlite_database, settings, CrashAfterCreate(desk), NOW)  # type: ignore[arg-type]
    assert rewards(sqlite_database, store_id)[response_id].state == "creating"
    summary = issue_rewards(sqlite_database, settings, desk, NOW)
    assert (summary.recovered, summary.created) == (1, 0)
    assert rewards(sqlite_database, store_id)[response_id].state == "created"
    assert len(simulator.discounts.codes) == 1


def test_a_crash_before_shopify_answered_creates_the_same_code_once(
    sqlite_database: Database,
    store_id: str,
    world: World,
    simulator: ShopifySimulator,
    desk: ShopifyDiscountDesk,
) -> None:
    (response_id,) = answers(sqlite_database, store_id, world, [9])
    settings = settings_for(store_id)

    class CrashBefore(CrashAfterCreate):
        def create_code(self, reward: PromoterCode) -> str:
            raise Crash

    with pytest.raises(Crash):
        issue_rewards(sqlite_database, settings, CrashBefore(desk), NOW)  # type: ignore[arg-type]
    claimed = rewards(sqlite_database, store_id)[response_id].code
    summary = issue_rewards(sqlite_database, settings, desk, NOW)
    assert summary.created == 1
    assert list(simulator.discounts.codes) == [claimed.upper()]


def test_the_code_is_the_same_for_the_page_and_the_job(
    sqlite_database: Database, store_id: str, world: World, desk: ShopifyDiscountDesk
) -> None:
    (response_id,) = answers(sqlite_database, store_id, world, [10])
    settings = settings_for(store_id)
    shown = reward_response(sqlite_database, settings, desk, response_id, NOW)
    assert shown is not None
    assert shown.code.startswith("THANKS-")
    assert issue_rewards(sqlite_database, settings, desk, NOW).created == 0
    assert reward_response(sqlite_database, settings, desk, response_id, NOW) == shown


def test_without_write_discounts_the_reward_fails_naming_the_scope(
    sqlite_database: Database,
    store_id: str,
    world: World,
    simulator: ShopifySimulator,
    desk: ShopifyDiscountDesk,
) -> None:
    from connectors.shopify.errors import ShopifyAuthError

    simulator.grants.scopes = tuple(s for s in simulator.grants.scopes if s != "write_discounts")
    answers(sqlite_database, store_id, world, [10])
    with pytest.raises(ShopifyAuthError, match="write_discounts"):
        issue_rewards(sqlite_database, settings_for(store_id), desk, NOW)


def test_the_thank_you_email_carries_the_code_once(
    sqlite_database: Database, store_id: str, world: World, desk: ShopifyDiscountDesk
) -> None:
    ids = answers(sqlite_database, store_id, world, [10])
    with SmtpSink() as sink:
        document = {
            "store": {"id": store_id, "name": "Maison Test", "language": "fr"},
            "web": {"public_url": "http://127.0.0.1:1", "secret_key": "k" * 32},
            "email": {
                "smtp_host": sink.host,
                "smtp_port": sink.port,
                "security": "none",
                "from": "Maison <bonjour@maison.example>",
            },
            "rewards": {
                "promoter_discount": {
                    "enabled": True,
                    "fixed_amount": "5.00",
                    "thank_you_email": True,
                }
            },
        }
        (settings,) = parse_settings(document, {})
        assert settings.email is not None
        with bootstrap.mailer(settings) as mailer:
            first = issue_rewards(sqlite_database, settings, desk, NOW, mailer)
            second = issue_rewards(sqlite_database, settings, desk, NOW, mailer)
        messages = list(sink.messages)
    assert (first.emailed, second.emailed) == (1, 0)
    assert len(messages) == 1
    code = rewards(sqlite_database, store_id)[ids[0]].code
    text_part = messages[0].message.get_body(preferencelist=("plain",))
    assert text_part is not None
    body = text_part.get_content()
    assert code in body
    assert "5.00" in body
    assert "Merci de nous recommander" in body  # the store's language, French
