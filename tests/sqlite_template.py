"""A migrated SQLite store for a test, copied from one migrated file per test run.

Running the Alembic migrations costs 0.12-0.16 CPU-s per database (about a third of a second of
wall time on a loaded 2-core machine); hundreds of tests each start from an empty migrated store,
so they copy the same file instead (4 ms). The copy is byte for byte what ``upgrade()`` writes:
the migrations themselves still run, once per run here, and on every PostgreSQL test database,
``nps db upgrade``, ``nps demo`` and tests/store/test_migrations.py.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

from nps_engine.store.database import Database


@cache
def _template() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="nps-test-template-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "nps.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    database.dispose()  # the last connection closed: the WAL is checkpointed into the file
    assert not path.with_name("nps.db-wal").exists()
    return path


def migrated_sqlite(path: Path) -> Database:
    """The SQLite store at ``path``, migrated, as ``Database(...).upgrade()`` leaves it: a copy of
    the template when there is no file yet, else the file itself upgraded in place."""
    if path.exists():
        database = Database(f"sqlite:///{path}")
        database.upgrade()
        return database
    shutil.copyfile(_template(), path)
    return Database(f"sqlite:///{path}")
