"""The store: SQLAlchemy models, Alembic migrations, and one module per noun that reads or
writes it.

Every table carries ``store`` (the config's ``store.id``) in its key, so one database holds many
stores and their workers can run side by side.
"""
