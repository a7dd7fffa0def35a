from datetime import UTC, datetime

from nps_engine.store.cursors import read_cursor, save_cursor
from nps_engine.store.database import Database
from nps_engine.store.webhook_events import first_delivery

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def test_cursor_is_saved_only_when_the_transaction_commits(
    database: Database, store_id: str
) -> None:
    try:
        with database.session() as session:
            save_cursor(session, store_id, "shopify.orders", "2026-10-01T00:00:00Z", NOW)
            raise RuntimeError("crash before commit")
    except RuntimeError:
        pass
    with database.session() as session:
        assert read_cursor(session, store_id, "shopify.orders") is None
        save_cursor(session, store_id, "shopify.orders", "A", NOW)
    with database.session() as session:
        save_cursor(session, store_id, "shopify.orders", "B", NOW)
    with database.session() as session:
        assert read_cursor(session, store_id, "shopify.orders") == "B"


def test_a_repeated_webhook_delivery_is_recognised(database: Database, store_id: str) -> None:
    with database.session() as session:
        assert first_delivery(session, store_id, "shopify", "d-1", "orders/fulfilled", NOW)
        assert not first_delivery(session, store_id, "shopify", "d-1", "orders/fulfilled", NOW)
    with database.session() as session:
        assert not first_delivery(session, store_id, "shopify", "d-1", "orders/fulfilled", NOW)
        assert first_delivery(session, store_id, "zendesk", "d-1", "ticket.created", NOW)
