"""The store's themes as the owner sees them: each theme's label and keywords, its place in the
list, and the owner's renames and merges (``nps themes rename/merge``, the dashboard); and
whether the store has a comment to put in themes at all (the scheduled themes job asks first).

Apart from :mod:`nps_engine.store.comment_themes` (the cached vectors and the model, in numpy):
the report's "what they said", the dashboard's filters and ``nps themes`` read the names of
themes, and ``nps run`` whether to theme, without loading numpy (0.45 s of CPU, on the thread
that reads the comments while the report's queries run; at every start of a cron run)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, func, insert, select, update

from nps_engine.store.database import Database
from nps_engine.store.models import Response, Theme

_themes: Table = Theme.__table__  # type: ignore[assignment]
_responses: Table = Response.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class ThemeRow:
    id: int
    label: str
    keywords: list[str]
    pinned: bool
    position: int | None
    renamed_to: str | None
    merged_into: int | None

    @property
    def shown_label(self) -> str:
        return self.renamed_to or self.label


def theme_rows(database: Database, store: str) -> list[ThemeRow]:
    t = _themes.c
    query = select(
        t.id, t.label, t.keywords, t.pinned, t.position, t.renamed_to, t.merged_into
    ).where(t.store == store)
    with database.reads.connect() as connection:  # every dashboard page reads them
        return [
            ThemeRow(int(r[0]), r[1], list(r[2] or []), bool(r[3]), r[4], r[5], r[6])
            for r in connection.execute(query.order_by(t.id))
        ]


def save_themes(database: Database, store: str, rows: Sequence[ThemeRow], now: datetime) -> None:
    """Write ``rows`` (new ids inserted, known ids updated); rows not given lose their position."""
    t = _themes.c
    known = {row.id for row in theme_rows(database, store)}
    with database.engine.begin() as connection:
        connection.execute(update(_themes).where(t.store == store).values(position=None))
        for row in rows:
            values = {
                "label": row.label,
                "keywords": row.keywords,
                "pinned": row.pinned,
                "position": row.position,
                "updated_at": now,
            }
            if row.id in known:
                connection.execute(
                    update(_themes).where(t.store == store, t.id == row.id).values(**values)
                )
            else:
                connection.execute(
                    insert(_themes).values(store=store, id=row.id, created_at=now, **values)
                )


def set_owner_choice(
    database: Database,
    store: str,
    theme_id: int,
    *,
    renamed_to: str | None = None,
    merged_into: int | None = None,
) -> bool:
    t = _themes.c
    values: dict[str, object] = {}
    if renamed_to is not None:
        values["renamed_to"] = renamed_to
    if merged_into is not None:
        values["merged_into"] = merged_into
    with database.engine.begin() as connection:
        done = connection.execute(
            update(_themes).where(t.store == store, t.id == theme_id).values(**values)
        )
    return bool(done.rowcount)


def has_comments(database: Database, store: str) -> bool:
    """Whether any answer of ``store`` has a comment: the scheduled themes job stops here before
    loading the model (seconds and 300 MB) for a store whose customers write nothing."""
    r = _responses.c
    query = select(r.id).where(
        r.store == store, r.comment.is_not(None), func.length(func.trim(r.comment)) > 0
    )
    with database.engine.connect() as connection:
        return connection.execute(query.limit(1)).first() is not None
