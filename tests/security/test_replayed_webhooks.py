"""Item 1: a captured, correctly signed Shopify delivery replayed under other headers does no harm.

Shopify's HMAC covers the body only: the topic, webhook id, event id and shop headers can be
rewritten by whoever captured one delivery. Each test replays such a body the way an attacker
would and checks the store is intact.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from shopify_delivery import NOW, SHOP, Probe, client, count, counts, deliver, seed
from sqlalchemy import select

from nps_engine.store import models
from nps_engine.store.database import Database

REDACT_SHOP = {"shop_id": 954889, "shop_domain": SHOP}


def test_an_order_body_sent_as_shop_redact_erases_nothing(
    database: Database, store_id: str, tmp_path: Path
) -> None:
    seed(database, store_id)
    http = client(database, store_id, tmp_path, Probe(accepts=False))
    for n in range(3):  # a new webhook id each time, as in the report
        response = deliver(http, "shop/redact", {"id": 1, "order_id": 1}, webhook_id=f"x{n}")
        assert response.status_code == 400
        assert "shop_id" in response.json()["error"]
    assert counts(database, store_id) == (5, 5)


def test_a_delivery_without_the_shop_header_or_for_another_shop_is_refused(
    database: Database, store_id: str, tmp_path: Path
) -> None:
    seed(database, store_id)
    http = client(database, store_id, tmp_path, Probe(accepts=False))
    assert deliver(http, "shop/redact", REDACT_SHOP, shop=None).status_code == 400
    other = deliver(http, "shop/redact", REDACT_SHOP, shop="other.myshopify.com", webhook_id="b")
    assert other.status_code == 403
    elsewhere = {"shop_id": 1, "shop_domain": "other.myshopify.com"}
    assert deliver(http, "shop/redact", elsewhere, webhook_id="c").status_code == 403
    assert counts(database, store_id) == (5, 5)


def test_customers_redact_needs_its_documented_shape(
    database: Database, store_id: str, tmp_path: Path
) -> None:
    seed(database, store_id)
    http = client(database, store_id, tmp_path, Probe())
    no_orders = {"shop_id": 1, "shop_domain": SHOP, "customer": {"id": 100}}
    assert deliver(http, "customers/redact", no_orders).status_code == 400
    no_customer = {"shop_id": 1, "shop_domain": SHOP, "orders_to_redact": []}
    assert deliver(http, "customers/redact", no_customer, webhook_id="b").status_code == 400
    assert count(database, store_id, models.Erasure) == 0


def test_shop_redact_is_refused_while_the_app_still_has_access(
    database: Database, store_id: str, tmp_path: Path
) -> None:
    seed(database, store_id)
    probe = Probe(accepts=True)
    http = client(database, store_id, tmp_path, probe)
    response = deliver(http, "shop/redact", REDACT_SHOP)
    assert response.status_code == 403
    assert probe.calls  # the Admin API was asked
    assert counts(database, store_id) == (5, 5)
    assert count(database, store_id, models.Erasure) == 0


def test_shop_redact_after_uninstall_erases_and_records_what_and_when(
    database: Database, store_id: str, tmp_path: Path
) -> None:
    seed(database, store_id)
    http = client(database, store_id, tmp_path, Probe(accepts=False))
    response = deliver(http, "shop/redact", REDACT_SHOP, webhook_id="redact-1")
    assert response.status_code == 200
    assert counts(database, store_id) == (0, 0)
    with database.session() as session:
        erasure = session.scalars(
            select(models.Erasure).where(models.Erasure.store == store_id)
        ).one()
        assert (erasure.topic, erasure.subject) == ("shop/redact", "shop 954889")
        assert erasure.rows_erased >= 10
        assert erasure.erased_at == NOW
        assert erasure.delivery_id == "redact-1"
    # The delivery ids survive the erasure: the same delivery replayed is still a repeat.
    again = deliver(http, "shop/redact", REDACT_SHOP, webhook_id="redact-1")
    assert again.json() == {"status": "duplicate"}


def test_the_same_event_under_a_new_webhook_id_is_a_repeat(
    database: Database, store_id: str, tmp_path: Path
) -> None:
    seed(database, store_id)
    http = client(database, store_id, tmp_path, Probe())
    body = {"shop_id": 1, "shop_domain": SHOP, "customer": {"id": 100}, "orders_to_redact": []}
    first = deliver(http, "customers/redact", body, webhook_id="a", event_id="ev-1")
    replay = deliver(http, "customers/redact", body, webhook_id="b", event_id="ev-1")
    assert first.json() == {"status": "applied"}
    assert replay.json() == {"status": "duplicate"}
    assert count(database, store_id, models.Erasure) == 1


@pytest.mark.parametrize("age", [timedelta(days=4), timedelta(days=400)])
def test_a_delivery_triggered_long_ago_is_refused(
    database: Database, store_id: str, tmp_path: Path, age: timedelta
) -> None:
    seed(database, store_id)
    http = client(database, store_id, tmp_path, Probe(accepts=False))
    old = (NOW - age).isoformat()
    response = deliver(http, "shop/redact", REDACT_SHOP, triggered_at=old)
    assert response.status_code == 400
    assert "past" in response.json()["error"]
    assert counts(database, store_id) == (5, 5)
