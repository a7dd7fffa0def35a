"""Shopify customers and orders in the store; the privacy requests (redact, data request)."""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from nps_engine.records import Customer, Order, email_digest
from nps_engine.store import models
from nps_engine.store.database import Database
from nps_engine.store.shop_data import (
    record_delivery,
    record_fulfilled_order,
    record_return,
    upsert_customers,
    upsert_orders,
)
from nps_engine.store.shop_privacy import Subject, export_customer, redact_customer, redact_shop

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
ANNA = Customer(
    id=11,
    email="anna@example.com",
    first_name="Anna",
    last_name="Lind",
    locale="fr",
    country="FR",
    tags=("VIP",),
    orders_count=2,
    total_spent=Decimal("120.50"),
    marketing_state="subscribed",
    created_at=NOW - timedelta(days=90),
    updated_at=NOW,
)
ORDER = Order(
    id=501,
    name="#1001",
    customer_id=11,
    email="anna@example.com",
    created_at=NOW - timedelta(days=20),
    updated_at=NOW - timedelta(days=5),
    fulfilled_at=NOW - timedelta(days=19),
    total_price=Decimal("60.25"),
    currency="EUR",
)


def add_answer(database: Database, store: str, customer_id: int, email: str | None) -> None:
    with database.session() as session:
        session.add(
            models.Response(
                store=store,
                import_key=f"k{customer_id}",
                source="import",
                kind="transactional",
                customer_id=customer_id,
                email=email,
                order_id=501,
                score=4,
                comment="Delivery was late, call me on 0612345678",
                responded_at=NOW,
                updated_at=NOW,
            )
        )


def test_upserting_the_same_records_twice_keeps_one_row_each(
    database: Database, store_id: str
) -> None:
    for _ in range(2):
        with database.session() as session:
            upsert_customers(session, store_id, [ANNA], NOW)
            upsert_orders(session, store_id, [ORDER], NOW)
    with database.session() as session:
        customers = session.scalars(
            select(models.Customer).where(models.Customer.store == store_id)
        ).all()
        orders = session.scalars(select(models.Order).where(models.Order.store == store_id)).all()
    assert len(customers) == len(orders) == 1
    assert customers[0].total_spent == Decimal("120.50")
    assert customers[0].tags == ["VIP"]
    assert orders[0].fulfilled_at == NOW - timedelta(days=19)


def test_webhook_facts_update_a_synced_order_and_wait_for_an_unknown_one(
    database: Database, store_id: str
) -> None:
    with database.session() as session:
        upsert_orders(session, store_id, [ORDER], NOW)
        assert record_delivery(session, store_id, 501, NOW - timedelta(days=2))
        assert not record_delivery(session, store_id, 999, NOW)
        assert record_delivery(session, store_id, 501, NOW - timedelta(days=3))  # older: kept
        assert record_return(session, store_id, 501)
        record_fulfilled_order(
            session,
            store_id,
            dataclasses.replace(ORDER, id=502, name="#1002"),
            NOW,
        )
    with database.session() as session:
        order = session.get(models.Order, (store_id, 501))
        assert order is not None
        assert order.delivered_at == NOW - timedelta(days=2)
        assert order.returned is True
        assert session.get(models.Order, (store_id, 502)) is not None


def test_redacting_a_customer_erases_their_pii_and_keeps_an_anonymous_score(
    database: Database, store_id: str
) -> None:
    with database.session() as session:
        upsert_customers(session, store_id, [ANNA], NOW)
        upsert_orders(session, store_id, [ORDER], NOW)
    add_answer(database, store_id, 11, "anna@example.com")
    with database.session() as session:
        redact_customer(session, store_id, Subject(11, "Anna@Example.com", (501,)), NOW)
    with database.session() as session:
        customer = session.get(models.Customer, (store_id, 11))
        assert customer is not None
        assert (customer.email, customer.first_name, customer.last_name) == (None, None, None)
        assert customer.redacted_at == NOW
        order = session.get(models.Order, (store_id, 501))
        assert order is not None
        assert order.email is None
        response = session.scalars(
            select(models.Response).where(models.Response.store == store_id)
        ).one()
        assert (response.score, response.comment, response.email) == (4, None, None)
        suppression = session.get(models.Suppression, (store_id, email_digest("anna@example.com")))
        assert suppression is not None
        assert suppression.reason == "redacted"
    # Shopify may still send the customer until it redacts on its side: no PII comes back.
    with database.session() as session:
        upsert_customers(session, store_id, [ANNA], NOW)
        upsert_orders(session, store_id, [ORDER], NOW)
    with database.session() as session:
        customer = session.get(models.Customer, (store_id, 11))
        order = session.get(models.Order, (store_id, 501))
        assert customer is not None
        assert order is not None
        assert (customer.email, customer.first_name, order.email) == (None, None, None)
        assert customer.redacted_at == NOW


def test_redacting_a_customer_we_never_synced_blocks_a_later_sync(
    database: Database, store_id: str
) -> None:
    with database.session() as session:
        redact_customer(session, store_id, Subject(11, None), NOW)
    with database.session() as session:
        upsert_customers(session, store_id, [ANNA], NOW)
    with database.session() as session:
        customer = session.get(models.Customer, (store_id, 11))
        assert customer is not None
        assert customer.email is None


def test_shop_redact_deletes_every_row_of_the_store_and_nothing_else(
    database: Database, store_id: str
) -> None:
    other = f"{store_id}-other"
    for store in (store_id, other):
        with database.session() as session:
            upsert_customers(session, store, [ANNA], NOW)
            upsert_orders(session, store, [ORDER], NOW)
        add_answer(database, store, 11, "anna@example.com")
    with database.session() as session:
        assert redact_shop(session, store_id, NOW) == 3
    with database.session() as session:
        for model in (models.Customer, models.Order, models.Response):
            left = session.scalar(
                select(func.count()).select_from(model).where(model.store == store_id)
            )
            kept = session.scalar(
                select(func.count()).select_from(model).where(model.store == other)
            )
            assert (left, kept) == (0, 1)


def test_a_data_request_writes_what_we_hold_and_logs_no_address(
    database: Database, store_id: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with database.session() as session:
        upsert_customers(session, store_id, [ANNA], NOW)
        upsert_orders(session, store_id, [ORDER], NOW)
    add_answer(database, store_id, 11, "anna@example.com")
    with caplog.at_level(logging.INFO), database.session() as session:
        path = export_customer(
            session,
            store_id,
            Subject(11, "anna@example.com", (501,)),
            tmp_path,
            NOW,
            request_id=9999,
        )
    exported = json.loads(path.read_text(encoding="utf-8"))
    assert exported["customer"][0]["email"] == "anna@example.com"
    assert [o["id"] for o in exported["orders"]] == [501]
    assert exported["responses"][0]["comment"].startswith("Delivery was late")
    assert exported["shopify_data_request_id"] == 9999
    assert str(path) in caplog.text
    assert "anna@" not in caplog.text


def test_a_data_request_delivered_again_under_a_new_webhook_id_writes_one_file(
    database: Database, store_id: str, tmp_path: Path
) -> None:
    """Shopify retries and resends a request under new delivery ids; the owner gets one file per
    request. A different request for the same customer is a file of its own."""
    with database.session() as session:
        upsert_customers(session, store_id, [ANNA], NOW)
    subject = Subject(11, "anna@example.com", ())
    folder = tmp_path / "requests"
    with database.session() as session:
        first = export_customer(session, store_id, subject, folder, NOW, request_id=9999)
        again = export_customer(
            session, store_id, subject, folder, NOW + timedelta(hours=1), request_id=9999
        )
        other = export_customer(
            session, store_id, subject, folder, NOW + timedelta(days=40), request_id=10000
        )
    assert again == first
    assert json.loads(first.read_text(encoding="utf-8"))["requested_at"] == NOW.isoformat()
    assert sorted(p.name for p in folder.iterdir()) == sorted({first.name, other.name})
