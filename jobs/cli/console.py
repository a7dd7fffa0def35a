"""What every command shares: the CLI state, loading the config, and printing failures.

Imported by ``nps --help`` itself, so the config models, pydantic and SQLAlchemy load inside the
functions that need them, not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

from jobs.runtime import logs

if TYPE_CHECKING:
    from nps_engine.config import ConfigError, Settings
    from nps_engine.store.database import Database

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_FAILURE = 1
EXIT_USAGE = 2


@dataclass
class CliState:
    config_path: Path
    verbosity: int = 0
    json_logs: bool = False
    _stores: list[Settings] | None = field(default=None, repr=False)

    def stores(self) -> list[Settings]:
        """Every store in the config file, loaded and validated once."""
        if self._stores is None:
            from nps_engine.config import ConfigError, load_settings

            try:
                self._stores = load_settings(self.config_path)
            except ConfigError as error:
                fail_config(error)
            # Now that the secrets are known, make sure no log line can print them.
            logs.configure(
                self.verbosity,
                json_logs=self.json_logs,
                secrets=[s for store in self._stores for s in secrets_of(store)],
            )
        return self._stores

    def selected(self, wanted: list[str] | None) -> list[Settings]:
        """The stores named by ``--store`` (repeatable), in that order; every store without it.
        An id that is not in the config is a usage error (exit 2)."""
        stores = self.stores()
        if not wanted:
            return stores
        known = {settings.store.id: settings for settings in stores}
        unknown = [store for store in wanted if store not in known]
        if unknown:
            fail_usage(
                f"--store: no store with id '{unknown[0]}' in the config "
                f"(stores: {', '.join(known)})"
            )
        return [known[store] for store in dict.fromkeys(wanted)]


def store_option() -> list[str] | None:
    """``--store ID``, repeatable, for every command that works on stores."""
    value: list[str] | None = typer.Option(
        None, "--store", help="Only this store (repeat for several); default: every store."
    )
    return value


def state_of(ctx: typer.Context) -> CliState:
    state = ctx.find_root().obj
    assert isinstance(state, CliState)
    return state


def fail_config(error: ConfigError) -> NoReturn:
    stderr.print(f"error: {error}", markup=False)
    raise typer.Exit(EXIT_USAGE)


def fail_usage(message: str) -> NoReturn:
    stderr.print(f"error: {message}", markup=False)
    raise typer.Exit(EXIT_USAGE)


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value in one store's settings (to mask in logs)."""
    from pydantic import BaseModel, SecretStr

    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))

    walk(settings)
    return found


def fail(message: str) -> NoReturn:
    """A failure that is not about usage: one line on stderr, exit code 1."""
    stderr.print(f"error: {message}", markup=False)
    raise typer.Exit(EXIT_FAILURE)


def database_url_for_humans(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def open_database(settings: Settings, *, migrated: bool = True) -> Database:
    """The store's database, or exit 1 with one line saying why not.

    Every command opens the store through here, so "cannot reach the server" and "run
    `nps db upgrade` first" read the same (and exit the same) whichever command met them.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from nps_engine.store.database import Database
    from nps_engine.store.drivers import missing_driver

    driver = missing_driver(settings.database.url)
    if driver is not None:
        fail_usage(f"store {settings.store.id}: database.url: {driver}")
    database = Database(settings.database.url)
    try:
        current = database.is_current()
    except SQLAlchemyError as error:  # a missing folder, a server that does not answer
        database.dispose()
        first_line = str(getattr(error, "orig", None) or error).splitlines()[0]
        url = database_url_for_humans(settings.database.url)
        fail(f"store {settings.store.id}: cannot open the database {url}: {first_line}")
    if migrated and not current:
        database.dispose()
        # Exit 2 like any other setup mistake the user fixes with one command (README, exit codes).
        fail_usage(
            f"store {settings.store.id}: the database has no tables yet; run `nps db upgrade` first"
        )
    return database
