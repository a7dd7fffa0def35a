"""Opening the database, migrating it, and the one upsert every sync uses.

SQLite is the default (one file, WAL so the web app reads while a job writes); PostgreSQL is
selected by ``database.url``. Both pass the same tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, inspect

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


class Database:
    """An engine and its session factory for one ``database.url``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """The session factory, made on first use: SQLAlchemy's ORM is most of the start-up
        of a command that only needs the engine (``nps status`` reads through Core)."""
        from sqlalchemy.orm import Session, sessionmaker

        return sessionmaker(self.engine, class_=Session, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @cached_property
    def reads(self) -> Engine:
        """The engine for reads that need no transaction (a dashboard page's queries). On
        PostgreSQL its connections are in autocommit: no BEGIN before the first statement and no
        ROLLBACK when the connection goes back to the pool, two round trips fewer each time, and
        each statement still reads one snapshot (as it does in a READ COMMITTED transaction).
        On a busy server a round trip now and then waits for the CPU (p95 16 ms against a p50
        of 0.2 ms at load 10 on 2 cores), so a page of many short queries pays for each.
        SQLite opens no transaction for a read anyway: the same engine."""
        if self.dialect == "postgresql":
            return self.engine.execution_options(isolation_level="AUTOCOMMIT")
        return self.engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block ends normally and rolls back otherwise."""
        with self.sessions() as session, session.begin():
            yield session

    def upgrade(self) -> None:
        upgrade(self.engine)

    def is_current(self) -> bool:
        """True when the schema has been created (``nps db upgrade`` has run)."""
        return inspect(self.engine).has_table("alembic_version")

    def dispose(self) -> None:
        self.engine.dispose()


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        # Plain postgresql:// would pick psycopg2, which we do not install.
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # Errors must not carry the row being written (emails, names, comments) into logs, job_runs
    # or tracebacks: SQLAlchemy then prints "[SQL parameters hidden due to hide_parameters=True]".
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def _sqlite_pragmas(connection: Any, _record: object) -> None:
    cursor = connection.cursor()
    # WAL lets survey pages read and write while a sync job holds a long write transaction;
    # NORMAL sync is durable across application crashes, which is the failure we design for.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # only migrations need Alembic: keep `nps` quick to start

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def dialect_of(executor: Session | Connection) -> str:
    """The dialect's name of a session or a plain connection (the web's Core paths)."""
    if isinstance(executor, Connection):
        return executor.dialect.name
    return executor.get_bind().dialect.name


def upsert(
    session: Session | Connection,
    model: type[DeclarativeBase],
    rows: Sequence[Mapping[str, Any]],
    *,
    update: Sequence[str] | None = None,
) -> None:
    """Insert ``rows`` or update them in place when their primary key exists.

    ``update`` limits the columns overwritten on conflict (default: every non-key column given),
    so a sync never erases what another job wrote into the same row.
    """
    if not rows:
        return
    table: Table = model.__table__  # type: ignore[assignment]
    keys = [column.name for column in table.primary_key.columns]
    columns = list(update) if update is not None else [c for c in rows[0] if c not in keys]
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if dialect_of(session) == "postgresql" else sqlite.insert
    base = insert(table)
    if columns:
        statement = base.on_conflict_do_update(
            index_elements=keys,
            set_={name: base.excluded[name] for name in columns},
        )
    else:
        statement = base.on_conflict_do_nothing(index_elements=keys)
    # Rows as parameters (an executemany), not one giant VALUES list: the statement is compiled
    # once and cached, which is several times faster for a page of a thousand tickets.
    session.execute(statement, [dict(row) for row in rows])
