"""Writing imported answers into ``responses``, linked to customers and orders, without duplicates.

Rows arrive as a stream and are written in batches of ``batch_size`` (the size of the customer
and order look-ups), committed every ``COMMIT_ROWS`` rows: a million-row file needs one batch of
memory, and an import stopped half-way is finished by running it again (every row carries an
``import_key``; the unique ``(store, import_key)`` constraint turns a repeat into a no-op on
SQLite and PostgreSQL alike).

Where the time goes is the store's write path, not the CSV: each row lands in the table and in
its indexes, several of them keyed by values that arrive in random order (the email, the customer,
the time of the answer in a file that is not sorted). So:

- a large load (at least ``LARGE_LOAD`` rows, and more than the table already holds) drops the
  table's plain secondary indexes, inserts, and builds them again at the end: building an index
  sorts once, where inserting walks a random page of every index for every row. The two unique
  keys stay (the duplicate check needs the import key's); an import that dies half-way leaves
  the indexes missing, and the next import builds them first;
- on SQLite, rows go to the driver's ``executemany`` as plain tuples, already in the stored form
  (SQLAlchemy's per-row parameter processing cost more than SQLite's insert); the import holds a
  larger page cache (released when it ends) and commits every few tens of thousands of rows
  (WAL with ``synchronous=NORMAL``, as every connection: database.py);
- on PostgreSQL, COPY into a staging table, then one ``INSERT ... SELECT``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Index, Table, func, or_, select, update
from sqlalchemy.orm import Session

from nps_engine.records import SurveyKind
from nps_engine.response_import import ImportedResponse
from nps_engine.store.database import Database
from nps_engine.store.models import Customer, Order, Response

BATCH_SIZE = 2000  # rows per look-up; the IN lists stay far below SQLite's 32766 parameters
COMMIT_ROWS = 50_000  # rows per transaction: an interrupted import redoes at most this many
STAGING = "nps_import_staging"  # PostgreSQL: a temporary table, dropped at each commit
LOAD_CACHE_KIB = 131_072  # SQLite page cache while importing (128 MiB), back to the default after
# Rows from which a load builds the secondary indexes after inserting rather than during.
LARGE_LOAD = 50_000


@dataclass
class ImportCounts:
    """What an import did. ``unmatched`` answers have no Shopify customer with that email yet."""

    imported: int = 0
    duplicates: int = 0
    matched: int = 0
    unmatched: int = 0
    orders_matched: int = 0


def import_responses(
    database: Database,
    store: str,
    rows: Iterable[ImportedResponse],
    *,
    now: datetime,
    kind: SurveyKind = SurveyKind.TRANSACTIONAL,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    expected_rows: int = 0,
    on_batch: Callable[[ImportCounts], None] | None = None,
) -> ImportCounts:
    """Insert ``rows`` as ``source="import"`` answers; a dry run does it all and rolls back.

    ``expected_rows`` (about how many rows the file holds) decides whether this is a large load;
    ``on_batch`` hears the counts after each batch (a progress bar)."""
    counts = ImportCounts()
    with database.engine.connect() as connection, _loading(connection):
        deferred = [] if dry_run else _defer_indexes(connection, expected_rows)
        try:
            session = Session(bind=connection, expire_on_commit=False)
            pending = 0
            for batch in _batches(rows, batch_size):
                _import_batch(session, store, batch, now=now, kind=kind, counts=counts)
                pending += len(batch)
                if pending >= COMMIT_ROWS and not dry_run:
                    session.commit()
                    pending = 0
                if on_batch is not None:
                    on_batch(counts)
            if dry_run:
                session.rollback()
            else:
                session.commit()
            session.close()
        finally:
            connection.rollback()
            build_missing_indexes(connection, deferred)
    return counts


def _secondary_indexes() -> list[Index]:
    """The plain (not unique) indexes of ``responses``, as the models define them."""
    table: Table = Response.__table__  # type: ignore[assignment]
    return sorted((index for index in table.indexes if not index.unique), key=_index_name)


def _index_name(index: Index) -> str:
    return str(index.name)


def _defer_indexes(connection: Connection, expected_rows: int) -> list[Index]:
    """Drop the secondary indexes when a load is large against the table; those dropped."""
    build_missing_indexes(connection, _secondary_indexes())  # an earlier import that died
    if expected_rows < LARGE_LOAD:
        return []
    table: Table = Response.__table__  # type: ignore[assignment]
    stored = connection.scalar(select(func.count()).select_from(table)) or 0
    if expected_rows <= stored:
        return []
    indexes = _secondary_indexes()
    for index in indexes:
        index.drop(connection)
    connection.commit()
    return indexes


def build_missing_indexes(connection: Connection, indexes: Sequence[Index]) -> None:
    """Create those of ``indexes`` the database lacks (after a large load, or one that died)."""
    for index in indexes:
        index.create(connection, checkfirst=True)
    connection.commit()


@contextmanager
def _loading(connection: Connection) -> Iterator[None]:
    """A larger SQLite page cache on this connection for the length of the import."""
    if connection.dialect.name != "sqlite":
        yield
        return
    default = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size=-{LOAD_CACHE_KIB}")
    connection.commit()
    try:
        yield
    finally:
        # The connection goes back to the pool: its next user gets the usual cache.
        connection.rollback()
        connection.exec_driver_sql(f"PRAGMA cache_size={int(default or -2000)}")
        connection.commit()


def _batches(rows: Iterable[ImportedResponse], size: int) -> Iterator[list[ImportedResponse]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


# The columns an import writes, in the order of each row's tuple.
COLUMNS = (
    "store", "import_key", "source", "kind", "customer_id", "email", "order_id", "score",
    "comment", "properties", "responded_at", "updated_at",
)  # fmt: skip
KEY, CUSTOMER, ORDER = 1, 4, 6
Row = tuple[Any, ...]


def _import_batch(
    session: Session,
    store: str,
    batch: Sequence[ImportedResponse],
    *,
    now: datetime,
    kind: SurveyKind,
    counts: ImportCounts,
) -> None:
    customers = _customers_by_email(session, store, {row.email for row in batch})
    orders = _orders_by_reference(session, store, {row.order for row in batch if row.order})
    on_sqlite = session.get_bind().dialect.name == "sqlite"
    # SQLite gets the stored form (UtcDateTime's text, JSON's text); PostgreSQL's COPY the values.
    stamp = _sqlite_time if on_sqlite else _as_is
    document = _json_text if on_sqlite else _jsonb
    updated_at = stamp(now)
    rows: list[Row] = []
    for row in batch:
        order_id, order_customer = orders.get(row.order or "", (None, None))
        rows.append(
            (
                store,
                row.import_key,
                "import",
                kind.value,
                # The email decides who answered; the order's customer only fills a gap.
                customers.get(row.email, order_customer),
                row.email,
                order_id,
                row.score,
                row.comment,
                document(row.properties) if row.properties else None,
                stamp(row.responded_at),
                updated_at,
            )
        )
    inserted = _insert_new(session, store, rows)
    counts.imported += len(inserted)
    counts.duplicates += len(rows) - len(inserted)
    for value in rows:
        if value[KEY] in inserted:
            inserted.discard(value[KEY])  # a key repeated in the batch counts once
            counts.matched += value[CUSTOMER] is not None
            counts.unmatched += value[CUSTOMER] is None
            counts.orders_matched += value[ORDER] is not None


def _sqlite_time(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text, in UTC (what ``UtcDateTime`` binds)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _as_is(value: datetime) -> datetime:
    return value


def _json_text(properties: Mapping[str, str]) -> str:
    return json.dumps(dict(properties))


def _jsonb(properties: Mapping[str, str]) -> Any:
    from psycopg.types.json import Jsonb  # only PostgreSQL stores need the driver

    return Jsonb(dict(properties))


def _insert_new(session: Session, store: str, rows: list[Row]) -> set[str]:
    """Insert the rows whose key is new; return those keys.

    The keys already stored are read first (one index look-up per batch), so the insert is a
    plain executemany without RETURNING, the driver's fastest path. ``ON CONFLICT DO NOTHING``
    stays: should another import of the same file run at the same time, the database still
    keeps one row per key (only this run's counts could then be off).
    """
    table: Table = Response.__table__  # type: ignore[assignment]
    existing = set(
        session.scalars(
            select(table.c.import_key).where(
                table.c.store == store, table.c.import_key.in_({row[KEY] for row in rows})
            )
        )
    )
    new: dict[str, Row] = {}
    for row in rows:
        if row[KEY] not in existing:
            new.setdefault(row[KEY], row)  # a key repeated in the batch: the first
    if not new:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        _copy_in(session, list(new.values()))
    else:
        statement = (
            f"INSERT INTO responses ({', '.join(COLUMNS)}) "  # noqa: S608 - names are ours
            f"VALUES ({', '.join('?' * len(COLUMNS))}) "
            "ON CONFLICT (store, import_key) DO NOTHING"
        )
        # The driver's executemany on plain tuples: no per-row parameter processing.
        session.connection().exec_driver_sql(statement, list(new.values()))
    return set(new)


def _copy_in(session: Session, rows: list[Row]) -> None:
    """PostgreSQL: COPY the rows into a session-local staging table, then move them over with
    ``ON CONFLICT DO NOTHING`` (COPY itself cannot skip a conflicting row). COPY streams the rows
    without a statement per row, several times faster than an INSERT executemany."""
    names = ", ".join(COLUMNS)
    raw = session.connection().connection.driver_connection
    assert raw is not None  # a live session always holds a driver connection
    with raw.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {STAGING} ON COMMIT DROP AS "  # noqa: S608 - names are ours
            f"SELECT {names} FROM responses WITH NO DATA"
        )
        with cursor.copy(f"COPY {STAGING} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO responses ({names}) SELECT {names} FROM {STAGING} "  # noqa: S608
            "ON CONFLICT (store, import_key) DO NOTHING"
        )
        cursor.execute(f"TRUNCATE {STAGING}")


def _customers_by_email(session: Session, store: str, emails: set[str]) -> dict[str, int]:
    """Customer id per normalised email; when two customers share one, the oldest id wins."""
    statement = (
        select(Customer.email, func.min(Customer.id))
        .where(Customer.store == store, Customer.email.in_(emails))
        .group_by(Customer.email)
    )
    return {email: customer_id for email, customer_id in session.execute(statement) if email}


def _orders_by_reference(
    session: Session, store: str, references: set[str]
) -> dict[str, tuple[int, int | None]]:
    """(order id, customer id) per reference as written in the file: ``#1001``, ``1001`` (a name
    typed without its ``#``) or a numeric Shopify order id."""
    if not references:
        return {}
    names = {ref if ref.startswith("#") else f"#{ref}" for ref in references} | references
    ids = {int(ref) for ref in references if ref.isdigit() and len(ref) < 19}
    statement = select(Order.id, Order.name, Order.customer_id).where(
        Order.store == store, or_(Order.name.in_(names), Order.id.in_(ids))
    )
    by_name: dict[str, tuple[int, int | None]] = {}
    by_id: dict[int, tuple[int, int | None]] = {}
    for order_id, name, customer_id in session.execute(statement):
        by_name[name] = (order_id, customer_id)
        by_id[order_id] = (order_id, customer_id)
    found: dict[str, tuple[int, int | None]] = {}
    for ref in references:
        match = (
            by_name.get(ref)
            or by_name.get(f"#{ref}")
            or (by_id.get(int(ref)) if ref.isdigit() and len(ref) < 19 else None)
        )
        if match:
            found[ref] = match
    return found


def link_answers_to_customers(session: Session, store: str) -> int:
    """Give imported answers that had no Shopify customer the customer with the same email.

    An import usually runs before the first sync; once customers arrive, their earlier answers
    join their history (segments, churn risk and tags then see them). How many answers changed.
    """
    same_email = select(Customer.id).where(
        Customer.store == store, Customer.email == Response.email
    )
    result = session.execute(
        update(Response)
        .where(Response.store == store, Response.customer_id.is_(None), same_email.exists())
        .values(customer_id=same_email.order_by(Customer.id).limit(1).scalar_subquery())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
