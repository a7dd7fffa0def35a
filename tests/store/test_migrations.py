"""The migrations create exactly the tables the models describe, on every backend."""

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
