"""Alembic environment: migrations run on the engine the application hands over."""

from alembic import context

from nps_engine.store.models import Base

target_metadata = Base.metadata
engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
