"""PostgreSQL: how imported rows reach ``responses``, batch by batch or as a large load.

A batch is COPYed into a staging table and moved over with ``ON CONFLICT DO NOTHING``.

A large load (``response_imports`` decides) is one transaction. It drops the table's secondary
indexes and its unique constraints, COPYs every later batch straight into ``responses``, and at
the end builds them all again, each in one sort. The rows so far stay where they are.

Why: keeping the random-keyed unique ``(store, import_key)`` index up to date was most of the
cost. Inserting a million rows into ``responses`` took 46 s with it (sorted by key) and 4.5 s
without it, plus 3.3 s to build it after (in psql on this machine, at load 3.5). The secondary
indexes cost the same way: with them, 149 s. Straight into the table, the server writes the
rows while this process still reads the file, instead of once more from a staging table.

Without the unique index, COPY cannot skip a stored key or a key repeated in the file. Building
the constraint again finds them: when it fails, the load deletes each row whose key an older
row of the store already holds (stored answers and earlier lines are older: ids grow) and
builds it again. That is safe because the first ``DROP INDEX`` locks the table against every
other reader and writer until the import commits. The dashboard waits too, which suits a load
larger than everything stored (a first import, before going live). A failed import rolls all of
it back: the answers, the indexes and the constraints are as they were before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Index, Table, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import AddConstraint, DropConstraint

from nps_engine.store.models import Response

STAGING = "nps_import_staging"  # one batch: a temporary table, dropped at each commit
# The index builds after a large load sort a million rows: in memory with 256 MiB instead of
# the server's default (64 MiB, several sorted runs merged from disk).
BUILD_MEMORY = "256MB"
BUILD_WORKERS = 2  # parallel workers per index build, at least (32 MB of BUILD_MEMORY each)
# The PostgreSQL type of each column an import writes, for binary COPY (models.Response).
TYPES = {
    "store": "varchar", "import_key": "varchar", "source": "varchar", "kind": "varchar",
    "customer_id": "int8", "email": "varchar", "order_id": "int8", "score": "int4",
    "comment": "text", "properties": "json", "responded_at": "timestamptz",
    "updated_at": "timestamptz",
}  # fmt: skip


def insert_batch(
    connection: Connection, columns: str, rows: Sequence[Sequence[Any]]
) -> tuple[int, int, int]:
    """COPY the rows into a transaction-local staging table, then move them over with
    ``ON CONFLICT DO NOTHING`` (COPY itself cannot skip a conflicting row): (imported, with a
    customer, with an order). COPY streams the rows without a statement per row, several times
    faster than an INSERT executemany."""
    connection.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {STAGING} ON COMMIT DROP AS "  # noqa: S608 - names are ours
        f"SELECT {columns} FROM responses WITH NO DATA"
    )
    _copy(connection, STAGING, columns, rows)
    added = connection.exec_driver_sql(
        f"WITH added AS (INSERT INTO responses ({columns}) SELECT {columns} FROM {STAGING} "  # noqa: S608
        "ON CONFLICT (store, import_key) DO NOTHING RETURNING customer_id, order_id) "
        "SELECT count(*), count(customer_id), count(order_id) FROM added"
    ).one()
    connection.exec_driver_sql(f"TRUNCATE {STAGING}")
    imported, matched, orders_matched = (int(value) for value in added)
    return imported, matched, orders_matched


def start_load(connection: Connection) -> int:
    """Drop the indexes and unique constraints of ``responses`` for a large load, in the
    import's transaction; the largest id stored, which the loaded rows exceed."""
    indexes, uniques = _indexes()
    for index in indexes:
        index.drop(connection)  # the first drop takes the table's lock
    for constraint in uniques:
        connection.execute(DropConstraint(constraint))
    return int(
        connection.exec_driver_sql("SELECT coalesce(max(id), 0) FROM responses").scalar_one()
    )


def load(connection: Connection, columns: str, rows: Sequence[Sequence[Any]]) -> None:
    """A batch of a large load, straight into ``responses`` (after :func:`start_load`)."""
    _copy(connection, "responses", columns, rows)


def finish_load(connection: Connection, last: int) -> tuple[int, int, int]:
    """Build the constraints and indexes again, first deleting the rows loaded since ``last``
    whose key was already stored or came earlier: (imported, with a customer, with an order)."""
    indexes, uniques = _indexes()
    connection.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'")
    # Each build sorts in parallel workers while this process waits for it: at least two, even
    # on a server whose default is fewer (the reading is over, its cores are free).
    connection.exec_driver_sql(
        "SELECT set_config('max_parallel_maintenance_workers', greatest(current_setting("
        f"'max_parallel_maintenance_workers')::int, {BUILD_WORKERS})::text, true)"
    )
    try:
        with connection.begin_nested():  # a savepoint: a failed build undoes only itself
            _add(connection, uniques)
    except IntegrityError:
        # Rare (a file with repeated or already stored answers): only then the self-join.
        connection.exec_driver_sql(
            "DELETE FROM responses r WHERE r.id > %s AND EXISTS (SELECT 1 FROM responses o "
            "WHERE o.store = r.store AND o.import_key = r.import_key AND o.id < r.id)",
            (last,),
        )
        _add(connection, uniques)
    for index in indexes:
        index.create(connection)
    added = connection.exec_driver_sql(
        "SELECT count(*), count(customer_id), count(order_id) FROM responses WHERE id > %s",
        (last,),
    ).one()
    # The planner's statistics still describe the table before the load: the next import's
    # look-ups and the first report would be planned for a far smaller table.
    connection.exec_driver_sql("ANALYZE responses")
    imported, matched, orders_matched = (int(value) for value in added)
    return imported, matched, orders_matched


def _add(connection: Connection, uniques: Sequence[UniqueConstraint]) -> None:
    for constraint in uniques:
        connection.execute(AddConstraint(constraint))


def _copy(connection: Connection, table: str, columns: str, rows: Sequence[Sequence[Any]]) -> None:
    """COPY in binary: the driver writes each value as the server stores it, with no text to
    format here and none to parse there (200,000 rows: 0.2 s of this process's CPU against
    1.0 s as text, and 0.6 s wall against 2.0)."""
    raw = connection.connection.driver_connection
    assert raw is not None  # a live connection always holds a driver connection
    statement = f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types([TYPES[name.strip()] for name in columns.split(",")])
        for row in rows:
            copy.write_row(row)


def _indexes() -> tuple[list[Index], list[UniqueConstraint]]:
    """The plain indexes and the unique constraints of ``responses``, as the models define them
    (the primary key stays: its ids come in order and cost little)."""
    table: Table = Response.__table__  # type: ignore[assignment]
    indexes = sorted((index for index in table.indexes if not index.unique), key=_name)
    uniques = [c for c in table.constraints if isinstance(c, UniqueConstraint)]
    return indexes, sorted(uniques, key=_name)


def _name(item: Index | UniqueConstraint) -> str:
    return str(item.name)
