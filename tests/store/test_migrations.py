"""The migrations create exactly the tables the models describe, on every backend."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from nps_engine.store.database import Database
from nps_engine.store.models import Base


def test_migrated_schema_matches_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_every_table_is_keyed_by_store(database: Database) -> None:
    inspector = inspect(database.engine)
    for table in Base.metadata.sorted_tables:
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        assert "store" in columns, table.name


def test_upgrade_twice_is_harmless(database: Database) -> None:
    database.upgrade()
    assert database.is_current()


def test_existing_suppressions_keep_working_under_their_hash(tmp_path: Path) -> None:
    """0008 replaces each suppressed address by its hash; the address is no longer stored but
    is still recognised, and created followup tickets are marked as showing their answer."""
    from sqlalchemy import create_engine, text

    from nps_engine.records import SuppressionReason
    from nps_engine.store.database import upgrade
    from nps_engine.store.suppressions import is_suppressed

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    upgrade(engine, "0002")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO suppressions (store, email, reason, detail, created_at) VALUES "
                "('shop', 'gone@example.com', 'redacted', NULL, '2026-01-01 00:00:00.000000'), "
                "('shop', 'ann@example.com', 'unsubscribed', NULL, '2026-01-02 00:00:00.000000')"
            )
        )
    upgrade(engine, "head")
    engine.dispose()
    database = Database(url)
    with database.session() as session:
        stored = session.execute(text("SELECT email_hash, reason FROM suppressions")).all()
        assert len(stored) == 2
        assert all("@" not in digest and len(digest) == 64 for digest, _reason in stored)
        assert is_suppressed(session, "shop", " Gone@Example.com") is SuppressionReason.REDACTED
        assert is_suppressed(session, "shop", "ann@example.com") is SuppressionReason.UNSUBSCRIBED
        assert is_suppressed(session, "shop", "other@example.com") is None
    database.dispose()
