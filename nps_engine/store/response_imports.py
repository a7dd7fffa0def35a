"""Writing imported answers into ``responses``, linked to customers and orders, without duplicates.

Rows arrive as a stream and are written in batches of ``batch_size``, committed every
``COMMIT_ROWS`` rows: a million-row file needs one batch of memory, and an import stopped
half-way is finished by running it again (every row carries an ``import_key``; the unique
``(store, import_key)`` constraint turns a repeat into a no-op on SQLite and PostgreSQL alike).

Per batch, a fixed handful of statements, each taking the batch's values as one parameter (a
JSON array on SQLite, an array on PostgreSQL): the customers of the emails not met in an earlier
batch (remembered, found or not), the orders of its references, and, when the last batch was
mostly duplicates (a file imported again), the keys already stored. Then the insert, in import
key order, whose ``ON CONFLICT DO NOTHING`` is the duplicate check:

- a large load (at least ``LARGE_LOAD`` rows still to come, more than the table holds, decided
  on the first batch that writes) drops the table's plain secondary indexes, inserts, and
  builds them again at the end: building an index sorts once, where inserting walks a random
  page of every index for every row. The unique keys stay; an import that dies half-way leaves
  the indexes missing, and the next import builds them first;
- on SQLite, rows go to the driver's ``executemany`` as plain tuples, already in the stored form,
  one statement per batch; the import holds a larger page cache while inserting (the usual one
  again to build the indexes), in WAL with ``synchronous=NORMAL`` as every connection
  (database.py);
- on PostgreSQL, COPY into a staging table, then one ``INSERT ... SELECT``; a large load is one
  transaction instead, its unique constraints dropped too and its batches COPYed straight into
  the table (``import_postgres``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Index, Table, func, select, update
from sqlalchemy.orm import Session

from nps_engine.records import SurveyKind
from nps_engine.response_import import ImportedResponse
from nps_engine.store import import_postgres
from nps_engine.store.database import Database
from nps_engine.store.import_lookups import customers_by_email, orders_by_reference, stored_keys
from nps_engine.store.models import Customer, Response

# Rows per look-up and insert. Sorted by key, a batch of 20,000 walks the unique import key
# index in order (bench at 1M rows: insert 10.2 -> 7.3 s of CPU against batches of 5,000).
BATCH_SIZE = 20_000
# Rows per transaction: an interrupted import redoes at most this many. Each commit writes
# every page of the unique import key index that its rows touched (all of them, the keys being
# hashes), so small transactions rewrote that index over and over: 50,000 rows cost 3.2 s of
# CPU in commits at 1M rows (8 s wall), 250,000 1.4 s. Still short enough (a few seconds) for
# a survey answer to wait it out (the 30 s busy timeout of database.py).
COMMIT_ROWS = 250_000
# Emails whose customer (or lack of one) is remembered between batches: a file holds several
# answers per customer, and each is looked up once. Bounded, so a huge file stays in memory.
KNOWN_EMAILS = 500_000
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
    with database.engine.connect() as connection:
        build_missing_indexes(connection, _secondary_indexes())  # an earlier import that died
        deferred: list[Index] = []
        try:
            with _loading(connection):
                _load(connection, store, rows, counts, deferred, now=now, kind=kind,
                      dry_run=dry_run, batch_size=batch_size, expected_rows=expected_rows,
                      on_batch=on_batch)  # fmt: skip
        finally:
            connection.rollback()
            # With the usual page cache again: CREATE INDEX sorts in runs of the cache's size,
            # and many small runs merged sort faster than one of 128 MiB (bench at 1M rows:
            # 8.5 s of CPU for the six indexes with the import's cache, 6.5 s with the usual).
            build_missing_indexes(connection, deferred)
    return counts


def _load(
    connection: Connection,
    store: str,
    rows: Iterable[ImportedResponse],
    counts: ImportCounts,
    deferred: list[Index],
    *,
    now: datetime,
    kind: SurveyKind,
    dry_run: bool,
    batch_size: int,
    expected_rows: int,
    on_batch: Callable[[ImportCounts], None] | None,
) -> None:
    """The import itself, batch by batch, into ``counts``; the indexes it dropped go into
    ``deferred`` as soon as they are dropped, for the caller to build whatever happens."""
    stored = _stored_answers(connection) if expected_rows >= LARGE_LOAD else 0
    on_sqlite = connection.dialect.name == "sqlite"
    insert = _insert_sqlite if on_sqlite else _insert_postgresql
    loading: int | None = None  # PostgreSQL's large load: the largest id before it
    customers: dict[str, int | None] = {}
    read = pending = 0
    probe = True
    for batch in _batches(rows, batch_size):
        before, repeats = counts.imported, counts.duplicates
        values = _batch_rows(connection, store, batch, now=now, kind=kind, probe=probe,
                             customers=customers, ordered=loading is None)  # fmt: skip
        # PostgreSQL decides before inserting the first batch that is mostly new (the look-up
        # of stored keys says so): that batch goes in without the indexes too.
        left = expected_rows - read
        mostly_new = len(values) * 2 > len(batch)
        if not on_sqlite and loading is None and mostly_new and _large(left, stored, counts):
            # all in the import's transaction, so dry runs too
            loading, insert = import_postgres.start_load(connection), _load_postgresql
        _count(counts, len(batch), insert(connection, values) if values else ImportCounts())
        # A file imported again is all duplicates: reading which keys exist is cheaper than
        # trying to insert each row. A new file is all new rows: the insert's own conflict
        # check is enough. The last batch tells which kind this one is (PostgreSQL's large
        # load is new rows, its duplicates are only known at its end).
        probe = loading is None and (counts.duplicates - repeats) * 2 > len(batch)
        read, pending = read + len(batch), pending + len(batch)
        # Decided on the first batch that writes, not before: a file imported again (all
        # duplicates) writes nothing and must not rebuild the indexes for nothing.
        left = expected_rows - read
        wrote = counts.imported > before
        if on_sqlite and wrote and not (dry_run or deferred) and _large(left, stored, counts):
            deferred.extend(_defer_indexes(connection))
        if pending >= COMMIT_ROWS and not dry_run and loading is None:
            connection.commit()
            pending = 0
        if on_batch is not None:
            on_batch(counts)
    if loading is not None:
        imported, matched, orders = import_postgres.finish_load(connection, loading)
        # The load's rows were counted as duplicates as they went in: those kept are not.
        _count(counts, 0, ImportCounts(imported, 0, matched, imported - matched, orders))
    if not dry_run:
        connection.commit()


def _secondary_indexes() -> list[Index]:
    """The plain (not unique) indexes of ``responses``, as the models define them."""
    table: Table = Response.__table__  # type: ignore[assignment]
    return sorted((index for index in table.indexes if not index.unique), key=_index_name)


def _index_name(index: Index) -> str:
    return str(index.name)


def _stored_answers(connection: Connection) -> int:
    table: Table = Response.__table__  # type: ignore[assignment]
    return connection.scalar(select(func.count()).select_from(table)) or 0


def _large(rows_left: int, stored: int, counts: ImportCounts) -> bool:
    """Whether the rest of the load is large, and larger than the table (its indexes are
    then built after it, once, not kept up to date row by row)."""
    return rows_left >= LARGE_LOAD and rows_left > stored + counts.imported


def _defer_indexes(connection: Connection) -> list[Index]:
    """Drop the secondary indexes (the rows so far are committed with it); those dropped, to
    build again at the end."""
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
NAMES = ", ".join(COLUMNS)
KEY = 1
_EMAIL_OF, _ORDER_OF = itemgetter(2), itemgetter(6)  # ImportedResponse's email and order
NO_ORDER: tuple[int | None, int | None] = (None, None)
Row = tuple[Any, ...]


def _batch_rows(
    connection: Connection,
    store: str,
    batch: Sequence[ImportedResponse],
    *,
    now: datetime,
    kind: SurveyKind,
    probe: bool,
    customers: dict[str, int | None],
    ordered: bool = True,
) -> list[Row]:
    """The batch's rows to insert, with their customer and order: one per key not known stored."""
    on_sqlite = connection.dialect.name == "sqlite"
    if probe:
        known = stored_keys(connection, store, [row.import_key for row in batch])
        # A stored answer is skipped: its customer and order need no look-up.
        fresh = [row for row in batch if row.import_key not in known] if known else batch
    else:
        fresh = batch
    # Sets made by the C loops of map and itemgetter: these ran once a row.
    _look_up_customers(connection, store, set(map(_EMAIL_OF, fresh)), customers)
    references = set(map(_ORDER_OF, fresh)) - {None, ""}
    orders = orders_by_reference(connection, store, references)
    stamp = _sqlite_time if on_sqlite else _as_is  # SQLite: UtcDateTime's text, JSON's text
    document = _json_text if on_sqlite else _jsonb
    updated_at, kind_value = stamp(now), kind.value
    new: dict[str, Row] = {}
    customer_of = customers.get
    for _line, key, email, score, responded_at, comment, order, properties in fresh:
        if key in new:
            continue  # a key repeated in the batch: the first counts, the others are duplicates
        order_id, order_customer = orders.get(order, NO_ORDER) if order else NO_ORDER
        customer = customer_of(email)
        new[key] = (
            store,
            key,
            "import",
            kind_value,
            # The email decides who answered; the order's customer only fills a gap.
            order_customer if customer is None else customer,
            email,
            order_id,
            score,
            comment,
            document(properties) if properties else None,
            stamp(responded_at),
            updated_at,
        )
    # In key order, the batch walks the unique (store, import_key) index end to end, not a
    # random page per row (keys are hashes); a large PostgreSQL load has none (sorting: 0.46 s).
    return sorted(new.values(), key=itemgetter(KEY)) if ordered else list(new.values())


def _count(counts: ImportCounts, read: int, added: ImportCounts) -> None:
    counts.imported += added.imported
    counts.duplicates += read - added.imported
    counts.matched += added.matched
    counts.unmatched += added.unmatched
    counts.orders_matched += added.orders_matched


def _look_up_customers(
    connection: Connection, store: str, emails: set[str], customers: dict[str, int | None]
) -> None:
    """Add the customer of each email not yet in ``customers`` (None: no customer)."""
    # difference() with a dict looks each email up in it (`-= customers.keys()` walks them all)
    emails = emails.difference(customers)
    if not emails:
        return
    if len(customers) + len(emails) > KNOWN_EMAILS:
        customers.clear()
    found = customers_by_email(connection, store, emails)
    customers.update(dict.fromkeys(emails))
    customers.update(found)


def _sqlite_time(value: datetime) -> str:
    """SQLAlchemy's SQLite DATETIME text, in UTC (what ``UtcDateTime`` binds)."""
    if value.tzinfo is not UTC:  # the reader's values are UTC already
        value = value.astimezone(UTC)
    # Formatted from the fields: isoformat() of an aware value asks its time zone for the
    # offset and took twice as long (1.4 against 0.8 µs, once per imported row).
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031 - faster than an f-string
        value.year, value.month, value.day, value.hour, value.minute, value.second,
        value.microsecond,
    )  # fmt: skip


def _as_is(value: datetime) -> datetime:  # PostgreSQL's COPY takes the value itself
    return value


def _json_text(properties: Mapping[str, str]) -> str:
    return json.dumps(dict(properties))


def _jsonb(properties: Mapping[str, str]) -> Any:
    from psycopg.types.json import Jsonb  # only PostgreSQL stores need the driver

    return Jsonb(dict(properties))


def _insert_sqlite(connection: Connection, rows: list[Row]) -> ImportCounts:
    """Insert the rows whose key is new, and count them.

    ``ON CONFLICT DO NOTHING`` on the unique ``(store, import_key)`` is the duplicate check: one
    index probe per row, in the insert itself. executemany cannot say which rows went in
    (no RETURNING), but the table says it: ``id`` is the rowid without AUTOINCREMENT, so every
    row inserted gets an id above the largest before it, and no other writer inserts while this
    transaction holds SQLite's write lock. One statement for the whole batch, in its key order.
    """
    statement = (
        f"INSERT INTO responses ({', '.join(COLUMNS)}) "  # noqa: S608 - names are ours
        f"VALUES ({', '.join('?' * len(COLUMNS))}) "
        "ON CONFLICT (store, import_key) DO NOTHING"
    )
    last = connection.exec_driver_sql("SELECT max(id) FROM responses").scalar() or 0
    # The driver's executemany on plain tuples: no per-row parameter processing.
    inserted = connection.exec_driver_sql(statement, rows).rowcount
    if not inserted:
        return ImportCounts()
    imported, matched, orders_matched = connection.exec_driver_sql(
        "SELECT count(*), count(customer_id), count(order_id) FROM responses WHERE id > ?",
        (last,),
    ).one()
    return ImportCounts(imported, 0, matched, imported - matched, orders_matched)


def _insert_postgresql(connection: Connection, rows: list[Row]) -> ImportCounts:
    imported, matched, orders_matched = import_postgres.insert_batch(connection, NAMES, rows)
    return ImportCounts(imported, 0, matched, imported - matched, orders_matched)


def _load_postgresql(connection: Connection, rows: list[Row]) -> ImportCounts:
    """A batch of a large load: in the table, counted when the load ends."""
    import_postgres.load(connection, NAMES, rows)
    return ImportCounts()


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
