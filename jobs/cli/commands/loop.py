"""``nps sync``, ``nps tags push`` and ``nps run`` (sync, send, push in order, for cron).

Every store in the config is handled in turn, each under its own job locks; a failure in one job
or store does not stop the others. A summary table ends the run; the exit code is 0 only when
every job succeeded (docs/architecture.md, section 5).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import typer
from rich.table import Table
from rich.text import Text

from jobs.cli.console import (
    EXIT_FAILURE,
    fail_usage,
    open_database,
    state_of,
    stdout,
    store_option,
)
from jobs.cli.counter_words import describe_counts
from jobs.runtime.logs import mask_emails

if TYPE_CHECKING:
    from datetime import datetime

    from jobs.runtime.progress import ProgressFn
    from jobs.runtime.runner import JobOutcome
    from jobs.steps import Work
    from nps_engine.config import Settings
    from nps_engine.ports import TagChange
    from nps_engine.store.database import Database

# The job runner, the store and the connectors load only when a command runs, so `nps --help`
# and `nps run --help` start quickly (bench/cli_start.py).
StepFactory = Callable[["Settings", "Database", "ProgressFn"], "list[tuple[str, Work]]"]
SOURCES = ("all", "shopify", "zendesk")
DRY_RUN_SHOWN = 50


def register(app: typer.Typer) -> None:
    app.command("sync")(sync_command)
    app.command("run")(run_command)
    tags = typer.Typer(help="Write NPS tags back to Shopify and Zendesk.", no_args_is_help=True)
    tags.command("push")(push_command)
    app.add_typer(tags, name="tags")
    alerts = typer.Typer(help="Alerts about fresh answers (alerts: in the config).",
                         no_args_is_help=True)  # fmt: skip
    alerts.command("send")(alerts_command)
    app.add_typer(alerts, name="alerts")


def sync_command(
    ctx: typer.Context,
    source: str = typer.Option("all", "--source", help="shopify, zendesk or all."),
    full: bool = typer.Option(False, "--full", help="Re-read the whole backfill window."),
    store: list[str] | None = store_option(),
) -> None:
    """Pull orders and customers from Shopify and tickets from Zendesk (incremental)."""
    if source not in SOURCES:
        fail_usage(f"--source must be one of {', '.join(SOURCES)}, not '{source}'")
    from jobs.steps import sync_step

    def steps(
        settings: Settings, database: Database, progress: ProgressFn
    ) -> list[tuple[str, Work]]:
        now = utc_now()
        return [("sync", sync_step(settings, database, now, source=source, full=full,
                                   progress=progress))]  # fmt: skip

    _run_for_each_store(ctx, steps, store)


def push_command(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="List the changes; write nothing."),
    store: list[str] | None = store_option(),
) -> None:
    """Write NPS tags (and Zendesk user fields) for customers whose answer changed, and open
    follow-up tickets for detractors."""
    from jobs.steps import push_step

    def show(
        system: str, changes: Sequence[TagChange], unwritable: Sequence[tuple[TagChange, str]]
    ) -> None:
        for change in changes[:DRY_RUN_SHOWN]:
            stdout.print(f"{system}: would write {describe_change(change)}", markup=False)
        if len(changes) > DRY_RUN_SHOWN:
            stdout.print(f"{system}: ... and {len(changes) - DRY_RUN_SHOWN} more", markup=False)
        for change, why in unwritable[:DRY_RUN_SHOWN]:
            who = describe_change(change).split(":")[0]
            stdout.print(f"{system}: would skip {who}: {why}", markup=False)
        if len(unwritable) > DRY_RUN_SHOWN:
            more = len(unwritable) - DRY_RUN_SHOWN
            stdout.print(f"{system}: ... and {more} more skipped", markup=False)

    def steps(
        settings: Settings, database: Database, progress: ProgressFn
    ) -> list[tuple[str, Work]]:
        plan = show if dry_run else None
        return [
            ("tags push", push_step(settings, database, utc_now(), dry_run=dry_run, on_plan=plan))
        ]

    _run_for_each_store(ctx, steps, store)


def describe_change(change: TagChange) -> str:
    """``customer 42 (a***@example.com): +nps:promoter +nps-score:9 -nps:passive``."""
    who = f"customer {change.customer_id}"
    if change.email:
        who += f" ({mask_emails(change.email)})"
    edits = [f"+{tag}" for tag in change.add] + [f"-{tag}" for tag in change.remove]
    if change.fields:
        edits.append("fields " + ", ".join(f"{k}={v}" for k, v in change.fields.items()))
    return f"{who}: {' '.join(edits)}"


def alerts_command(ctx: typer.Context) -> None:
    """Queue and send the alerts that are due now (`nps run` and `nps serve` do it too)."""
    from jobs.steps import alerts_step

    def steps(
        settings: Settings, database: Database, progress: ProgressFn
    ) -> list[tuple[str, Work]]:
        if not settings.alerts.enabled:
            return []
        return [("alerts", alerts_step(settings, database, utc_now()))]

    _run_for_each_store(ctx, steps, None)


def run_command(
    ctx: typer.Context,
    store: list[str] | None = store_option(),
    enqueue: bool = typer.Option(
        False, "--enqueue", help="Put the jobs in the queue for `nps worker` (queue:) and return."
    ),
) -> None:
    """Sync, send the surveys that are due, push tags, themes when due: the loop once (cron)."""
    if enqueue:
        from jobs.cli.commands.distributed import enqueue_run

        enqueue_run(ctx, store)
        return
    from jobs.steps import alerts_step, push_step, send_step, sync_step, themes_due, themes_step

    def steps(
        settings: Settings, database: Database, progress: ProgressFn
    ) -> list[tuple[str, Work]]:
        # Each step reads the clock when it starts: a long sync must not make send use a stale now.
        planned: list[tuple[str, Work]] = [("sync", lambda c: sync_step(
            settings, database, utc_now(), progress=progress)(c))]  # fmt: skip
        if settings.email is not None and settings.web is not None:
            planned.append(("surveys send", lambda c: send_step(
                settings, database, utc_now(), progress=progress)(c)))  # fmt: skip
        planned.append(("tags push", lambda c: push_step(settings, database, utc_now())(c)))
        if settings.alerts.enabled:
            planned.append(("alerts", lambda c: alerts_step(settings, database, utc_now())(c)))
        if themes_due(settings, database, utc_now()):  # every schedule.themes_hours, not each run
            planned.append(("themes", lambda c: themes_step(settings, database, utc_now())(c)))
        return planned

    _run_for_each_store(ctx, steps, store)


def utc_now() -> datetime:
    """The commands' clock (the end-to-end tests move it)."""
    from jobs.runtime.runner import utc_now as now

    return now()


def _run_for_each_store(ctx: typer.Context, steps: StepFactory, wanted: list[str] | None) -> None:
    from jobs.runtime.progress import progress_reporter

    outcomes: list[JobOutcome] = []
    with progress_reporter() as progress:
        for settings in state_of(ctx).selected(wanted):
            outcomes += _run_store(settings, steps, progress)
    print_outcomes(outcomes)
    if not all(outcome.ok for outcome in outcomes):
        raise typer.Exit(EXIT_FAILURE)


def _run_store(settings: Settings, steps: StepFactory, progress: ProgressFn) -> list[JobOutcome]:
    from jobs.runtime.runner import run_job

    database = open_database(settings)
    try:
        return [
            run_job(database, settings.store.id, job, work)
            for job, work in steps(settings, database, progress)
        ]
    finally:
        database.dispose()


def print_outcomes(outcomes: Sequence[JobOutcome]) -> None:
    """A table of what each job did (in words), then each job's problems on their own lines:
    error text is long and is data, not Rich markup ("[/]" in a vendor's message prints as is)."""
    table = Table(title="run summary", show_lines=False)
    for column in ("store", "job", "status", "done"):
        table.add_column(column)
    styles = {"succeeded": "green", "partial": "yellow", "failed": "red", "locked": "yellow"}
    for outcome in outcomes:
        done = describe_counts(outcome.counters)
        table.add_row(Text(outcome.store), Text(outcome.job),
                      Text(outcome.status, style=styles.get(outcome.status, "white")),
                      Text(done or "-"))  # fmt: skip
    stdout.print(table)
    for outcome in outcomes:
        for error in outcome.errors[:3]:
            stdout.print(f"{outcome.store} {outcome.job}: {error}", markup=False)
        if len(outcome.errors) > 3:
            more = len(outcome.errors) - 3
            stdout.print(
                f"{outcome.store} {outcome.job}: and {more} more (see `nps status`)", markup=False
            )
