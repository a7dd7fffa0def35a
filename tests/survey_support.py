"""Shared by the survey tests (e2e, web, browser): a store's settings and a few seeded orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from nps_engine.config.settings import Settings
from nps_engine.store.database import Database
from nps_engine.store.models import Customer, Order

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
SECRET = "test-secret-key-0123456789"


def survey_settings(store_id: str, smtp_port: int = 2525, **sections: Any) -> Settings:
    document: dict[str, Any] = {
        "store": {
            "id": store_id,
            "name": "Maison Verte",
            "language": "en",
            "timezone": "Europe/Paris",
        },
        "database": {"url": "sqlite:///unused.db"},
        "email": {
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "security": "none",
            "from": "Maison Verte <hello@maisonverte.example>",
            "timeout_seconds": 5,
        },
        "web": {"public_url": "https://nps.maisonverte.example", "secret_key": SECRET},
        "survey": {"review_url": "https://reviews.example/maison-verte"},
    }
    for name, values in sections.items():
        document[name] = {**document.get(name, {}), **values}
    return Settings.model_validate(document)


def seed_customer(
    database: Database,
    store: str,
    customer_id: int,
    email: str | None,
    *,
    locale: str | None = "en",
    first_name: str | None = "Ann",
    delivered_days_ago: float | None = 8,
    order_id: int | None = None,
) -> int:
    """A customer with one order delivered ``delivered_days_ago`` days before NOW."""
    order_id = order_id or customer_id * 10
    with database.session() as session:
        session.merge(
            Customer(
                store=store,
                id=customer_id,
                email=email,
                first_name=first_name,
                locale=locale,
                orders_count=1,
                total_spent=Decimal("42.00"),
                tags=[],
            )
        )
        delivered = (
            NOW - timedelta(days=delivered_days_ago) if delivered_days_ago is not None else None
        )
        session.merge(
            Order(
                store=store,
                id=order_id,
                name=f"#{order_id}",
                customer_id=customer_id,
                email=email,
                created_at=NOW - timedelta(days=15),
                updated_at=NOW - timedelta(days=8),
                fulfilled_at=NOW - timedelta(days=12),
                delivered_at=delivered,
                total_price=Decimal("42.00"),
            )
        )
    return order_id


def make_invite(
    database: Database, store: str, email: str = "ann@example.com", locale: str | None = "en"
) -> int:
    """A sent invite, as the send job leaves it."""
    from nps_engine.store.models import Invite

    with database.session() as session:
        invite = Invite(
            store=store,
            kind="transactional",
            order_id=None,
            customer_id=1,
            email=email,
            locale=locale,
            state="sent",
            created_at=NOW - timedelta(days=1),
            sent_at=NOW - timedelta(days=1),
        )
        session.add(invite)
        session.flush()
        return invite.id
