"""Whether the database driver a ``database.url`` needs is installed; kept apart from
``database`` so ``nps check`` can ask without loading SQLAlchemy."""

from __future__ import annotations

import importlib.util


def missing_driver(url: str) -> str | None:
    """What to install when ``url`` needs a database driver that is not installed, else None.

    PostgreSQL's driver is the optional ``postgres`` extra; without it SQLAlchemy fails deep in
    ``create_engine`` with a traceback that never says which package to install.
    """
    if not url.startswith("postgresql"):
        return None
    if importlib.util.find_spec("psycopg") is None:
        return (
            "PostgreSQL needs nps-loop's postgres extra: pip install '.[postgres]' in the "
            "nps-loop folder (or pip install 'psycopg[binary]')"
        )
    return None
