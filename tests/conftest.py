"""Fixtures shared by every ring of tests.

``database`` runs a test on SQLite and, when ``NPS_TEST_DATABASE_URL`` points at PostgreSQL, on
PostgreSQL too. Every table is keyed by store, so PostgreSQL tests share one migrated database and
stay apart through a fresh ``store_id`` each.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlite_template import migrated_sqlite

from nps_engine.store.database import Database

POSTGRES_URL = os.environ.get("NPS_TEST_DATABASE_URL")
TESTS = Path(__file__).resolve().parent
# Rings that run the simulators, kill runs mid-way or drive Chromium: `pytest -m "not slow"` is
# the fast suite without them (CONTRIBUTING.md).
SLOW_RINGS = frozenset({"e2e", "browser"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.resolve().relative_to(TESTS).parts[0] in SLOW_RINGS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def _one_blas_thread() -> Iterator[None]:
    """numpy's BLAS on one thread, as the themes job runs it (``jobs.themes_job``): tests that
    group vectors directly would otherwise run OpenBLAS's threads, whose hand-offs on a shared
    2-core machine cost far more than the second core gives (``group`` on the 383-comment
    sample: 8.4 CPU-s and 28 s wall on the default threads, 0.6 CPU-s and 2.2 s on one)."""
    from jobs.themes_job import one_blas_thread

    with one_blas_thread():
        yield


@pytest.fixture(scope="session")
def _postgres() -> Iterator[Database]:
    """A fresh PostgreSQL database for this test run, dropped at the end.

    Its own database (not the shared one) so that two runs on one server never meet.
    """
    assert POSTGRES_URL
    server = make_url(POSTGRES_URL)
    name = f"nps_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    database = Database(server.set(database=name).render_as_string(hide_password=False))
    database.upgrade()
    yield database
    database.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("NPS_TEST_DATABASE_URL is not set")
        yield request.getfixturevalue("_postgres")
        return
    database = migrated_sqlite(tmp_path / "nps.db")
    yield database
    database.dispose()


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    database = migrated_sqlite(tmp_path / "nps.db")
    yield database
    database.dispose()


@pytest.fixture
def store_id() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def _loggers_reset() -> Iterator[None]:
    """``logs.configure`` (run by every CLI command, in tests and in fixtures alike) takes over our
    loggers process-wide; each test starts and ends with them as Python leaves them, so records
    reach ``caplog`` whatever ran before."""
    import logging

    from jobs.runtime.logs import LOGGERS

    def reset() -> None:
        for name in (*LOGGERS, "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
            logger = logging.getLogger(name)
            logger.handlers[:] = []
            logger.setLevel(logging.NOTSET)
            logger.propagate = True
            logger.disabled = False

    reset()
    yield
    reset()
