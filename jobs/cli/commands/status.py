"""``nps status``: what the store holds and what is still waiting to be done.

Kept apart from the other commands so that ``nps status`` loads only what it needs: the config,
SQLAlchemy Core and the counts (no ORM mapper, no import machinery); bench/cli_start.py measures it.
"""

from __future__ import annotations

import enum
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from jobs.cli.console import open_database, state_of, stdout, store_option

if TYPE_CHECKING:
    from nps_engine.config import Settings
    from nps_engine.store.status import StoreStatus


# What the command imports as soon as it runs: imported before the garbage collector is turned
# back on, so that their objects are frozen with the rest of start-up (jobs/cli/start_up.py).
RUN_IMPORTS = ("nps_engine.config.loading", "nps_engine.store.database", "nps_engine.store.status")


class StatusFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


def register(app: typer.Typer) -> None:
    app.command("status")(status_command)


def status_command(
    ctx: typer.Context,
    output_format: StatusFormat = typer.Option(
        StatusFormat.TABLE, "--format", help="table or json"
    ),
    store: list[str] | None = store_option(),
) -> None:
    """Counts of customers, orders, tickets, invites, answers and pending tag pushes.

    With queue: also the workers alive, the jobs waiting per queue and each store's lag."""
    from nps_engine.store.status import read_status

    statuses = []
    selected = state_of(ctx).selected(store)
    for settings in selected:
        database = open_database(settings)
        try:
            with database.engine.connect() as connection:
                statuses.append(
                    read_status(connection, settings.store.id, tag_systems=_tag_systems(settings))
                )
        finally:
            database.dispose()
    distributed = None
    if any(settings.queue is not None for settings in selected):
        from jobs.cli.commands.distributed import queue_status

        distributed = queue_status(selected)
    if output_format is StatusFormat.JSON:
        now = datetime.now(UTC)
        objects = [status.as_json(now) for status in statuses]
        # One store: the contract object itself; several: {"stores": [...]}, as `nps report` does.
        document: dict[str, Any] = objects[0] if len(objects) == 1 else {"stores": objects}
        if distributed is not None:
            document["queue"] = distributed
        stdout.print_json(json.dumps(document))
        return
    for status in statuses:
        stdout.print(_status_table(status))
    if distributed is not None:
        from jobs.cli.commands.distributed import queue_table

        stdout.print(queue_table(distributed))


def _status_table(status: StoreStatus) -> Table:
    # Every text is escaped: rich reads "[...]" as markup, and an alert's problem is a remote
    # server's words ("[/x]" in it made the table raise MarkupError instead of printing).
    table = Table(title=escape(f"store {status.store}"), show_header=False, box=None)
    table.add_column(justify="left")
    table.add_column(justify="right")
    rows: list[tuple[str, object]] = [
        ("customers", status.customers),
        ("orders", status.orders),
        ("  delivered", status.orders_delivered),
        ("  returned or refunded", status.orders_returned),
        ("tickets", status.tickets),
        *((f"invites {state}", count) for state, count in status.invites.items()),
        ("responses", status.responses),
        ("tag pushes pending", status.tag_pushes_pending),
        *((f"  {system}", n) for system, n in status.tag_pushes_pending_by_system.items()),
        ("cannot push: no Zendesk user", status.tag_pushes_without_zendesk_user),
    ]
    for job, run in status.last_runs.items():
        finished = f", finished {run.finished_at:%Y-%m-%d %H:%M}" if run.finished_at else ""
        rows.append(
            (f"last {job}", f"{run.status} (started {run.started_at:%Y-%m-%d %H:%M}{finished} UTC)")
        )
    if any(status.alerts.values()):
        rows += [(f"alerts {state}", n) for state, n in status.alerts.items()]
        rows += [("  problem", problem) for problem in status.alert_problems]
    now = datetime.now(UTC)
    for name, cursor in status.cursors.items():
        rows.append((f"cursor {name}", f"{_age(cursor.lag_seconds(now))} behind"))
    for label, value in rows:
        table.add_row(escape(label), escape(str(value)))
    return table


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def _tag_systems(settings: Settings) -> tuple[str, ...]:
    if not settings.tags.enabled:
        return ()
    systems = (("shopify", settings.shopify), ("zendesk", settings.zendesk))
    return tuple(name for name, section in systems if section is not None)
