"""SQLAlchemy Core statements compiled once, then run on the driver's own connection.

For the survey pages' hot path. ``Connection.execute`` spends about 100 microseconds of Python per
statement (cache key, execution context, result objects), five to eight times what SQLite takes to
run a primary-key read or a one-row upsert. A :class:`Prepared` statement is compiled once for a
dialect (its SQL text, the order of its parameters, the bind processors of their types, such as
UTC datetimes becoming SQLite's text format), and runs on a DBAPI cursor; the drivers then keep it
prepared per connection (sqlite3's statement cache, psycopg's automatic server-side prepare).

Only for statements whose result columns need no conversion from what the driver returns
(integers and strings): results are plain tuples.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class Prepared:
    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)  # a statement, not DDL
        self.sql = compiled.string
        # qmark (SQLite) wants a tuple in this order (a name may come twice); pyformat a mapping.
        self.order: tuple[str, ...] | None = (
            tuple(compiled.positiontup or ()) if compiled.positional else None
        )
        binds = compiled.binds
        # Values fixed in the statement itself (a literal such as source = 'survey').
        self.fixed = {
            name: bind.effective_value for name, bind in binds.items() if not bind.required
        }
        processors = {name: bind.type.bind_processor(dialect) for name, bind in binds.items()}
        self.processors: dict[str, Callable[[Any], Any]] = {
            name: processor for name, processor in processors.items() if processor is not None
        }

    def run(self, cursor: Any, parameters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Execute on a DBAPI ``cursor`` and return every row (none for a plain write)."""
        cursor.execute(self.sql, self._arguments(parameters))
        return list(cursor.fetchall()) if cursor.description is not None else []

    def run_each(
        self, cursor: Any, parameters: Sequence[Mapping[str, Any]]
    ) -> list[list[tuple[Any, ...]]]:
        """Execute once per mapping; the rows of each. psycopg sends them all in one round trip
        (pipeline mode) instead of one round trip per statement; SQLite runs in process."""
        if len(parameters) > 1 and hasattr(cursor, "results"):  # psycopg 3
            arguments = [self._arguments(values) for values in parameters]
            cursor.executemany(self.sql, arguments, returning=True)
            return [list(cursor.fetchall()) for _ in cursor.results()]
        return [self.run(cursor, values) for values in parameters]

    async def run_async(self, cursor: Any, parameters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """:meth:`run` on a psycopg ``AsyncCursor``."""
        await cursor.execute(self.sql, self._arguments(parameters))
        return list(await cursor.fetchall()) if cursor.description is not None else []

    async def run_each_async(
        self, cursor: Any, parameters: Sequence[Mapping[str, Any]]
    ) -> list[list[tuple[Any, ...]]]:
        """:meth:`run_each` on a psycopg ``AsyncCursor`` (one round trip, pipeline mode)."""
        if len(parameters) == 1:
            return [await self.run_async(cursor, parameters[0])]
        arguments = [self._arguments(values) for values in parameters]
        await cursor.executemany(self.sql, arguments, returning=True)
        return [list(await cursor.fetchall()) async for _ in cursor.results()]

    def _arguments(self, parameters: Mapping[str, Any]) -> Any:
        values = {**self.fixed, **parameters}
        for name, process in self.processors.items():
            values[name] = process(values[name])
        return values if self.order is None else tuple(values[n] for n in self.order)
