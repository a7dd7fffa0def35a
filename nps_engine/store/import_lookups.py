"""What an import looks up for each batch of rows: the customers of its emails, its orders by the
reference the file gives, and the import keys already stored (``response_imports``).

One statement per look-up and batch, the batch's values passed as one parameter (a JSON array
on SQLite, an array on PostgreSQL): no statement to build per batch and no limit on how many.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection


def customers_by_email(connection: Connection, store: str, emails: set[str]) -> dict[str, int]:
    """Customer id per normalised email; when two customers share one, the oldest id wins.

    One statement per batch with the emails as one parameter (a JSON array on SQLite, an array
    on PostgreSQL): no statement to build per batch and no limit on how many."""
    if connection.dialect.name == "sqlite":
        statement = (
            "SELECT email, min(id) FROM customers WHERE store = ? "
            "AND email IN (SELECT value FROM json_each(?)) GROUP BY email"
        )
        found = connection.exec_driver_sql(statement, (store, json.dumps(list(emails))))
    else:
        # One text of lines, split by the server: the driver dumped an array element by element
        # in Python. An address never holds a line break (the import refuses any blank).
        text = "\n".join(emails)
        values: str | list[str] = text
        split = "string_to_array(%s, E'\\n')"
        if text.count("\n") != len(emails) - 1:
            values, split = list(emails), "%s"
        statement = (
            "SELECT email, min(id) FROM customers WHERE store = %s "  # noqa: S608 - ours
            f"AND email = ANY({split}) GROUP BY email"
        )
        found = connection.exec_driver_sql(statement, (store, values))
    return {email: customer_id for email, customer_id in found.all() if email}


def stored_keys(connection: Connection, store: str, keys: list[str]) -> set[str]:
    """Those of ``keys`` already stored for ``store``."""
    if connection.dialect.name == "sqlite":
        statement = (
            "SELECT import_key FROM responses WHERE store = ? "
            "AND import_key IN (SELECT value FROM json_each(?))"
        )
        found = connection.exec_driver_sql(statement, (store, json.dumps(keys)))
    else:
        statement = "SELECT import_key FROM responses WHERE store = %s AND import_key = ANY(%s)"
        found = connection.exec_driver_sql(statement, (store, keys))
    return set(found.scalars().all())


def orders_by_reference(
    connection: Connection, store: str, references: set[str]
) -> dict[str, tuple[int, int | None]]:
    """(order id, customer id) per reference as written in the file: ``#1001``, ``1001`` (a name
    typed without its ``#``) or a numeric Shopify order id."""
    has_orders = "SELECT 1 FROM orders WHERE store = ? LIMIT 1"
    if connection.dialect.name != "sqlite":
        has_orders = has_orders.replace("?", "%s")
    # A file imported before the first order sync: nothing to look up for any of its rows.
    if not references or connection.exec_driver_sql(has_orders, (store,)).first() is None:
        return {}
    names = {ref if ref.startswith("#") else f"#{ref}" for ref in references} | references
    ids = {int(ref) for ref in references if ref.isdigit() and len(ref) < 19}
    # Two look-ups, not one with OR: SQLite's plan for the OR read every order of the store.
    if connection.dialect.name == "sqlite":
        statement = (
            "SELECT id, name, customer_id FROM orders WHERE store = ? "
            "AND name IN (SELECT value FROM json_each(?)) UNION ALL "
            "SELECT id, name, customer_id FROM orders WHERE store = ? "
            "AND id IN (SELECT value FROM json_each(?))"
        )
        parameters: tuple[Any, ...] = (store, json.dumps(list(names)), store, json.dumps(list(ids)))
    else:
        statement = (
            "SELECT id, name, customer_id FROM orders WHERE store = %s AND name = ANY(%s) "
            "UNION ALL SELECT id, name, customer_id FROM orders WHERE store = %s AND id = ANY(%s)"
        )
        parameters = (store, list(names), store, list(ids))
    by_name: dict[str, tuple[int, int | None]] = {}
    by_id: dict[int, tuple[int, int | None]] = {}
    for order_id, name, customer_id in connection.exec_driver_sql(statement, parameters):
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
