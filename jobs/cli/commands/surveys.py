"""``nps surveys send [--dry-run] [--limit N]``: mail the surveys that are due, for every store.

Prints the eligibility line ("42 due, skipped: 12 throttled, 3 unsubscribed, 5 no email") and what
happened ("40 sent, 1 failed, 1 bounced"). Exit 0 when everything went, 1 when something failed
or the run stopped (the rest is kept for the next run), 2 on a configuration problem.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer

from jobs.cli.console import (
    EXIT_FAILURE,
    fail_usage,
    open_database,
    state_of,
    stdout,
    store_option,
)
from jobs.runtime.progress import progress_reporter
from jobs.runtime.runner import JobContext, run_job
from nps_engine.config import Settings
from nps_engine.store.database import Database

if TYPE_CHECKING:
    from jobs.send_surveys import SendSummary


def register(app: typer.Typer) -> None:
    surveys = typer.Typer(help="Survey emails.", no_args_is_help=True)
    surveys.command("send")(send_command)
    app.add_typer(surveys, name="surveys")


def send_command(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would go; send nothing."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Send at most N this run."),
    store: list[str] | None = store_option(),
) -> None:
    """Send the post-delivery surveys that are due (and reminders/relationship surveys if on)."""
    failed = False
    for settings in state_of(ctx).selected(store):
        _check_sections(settings)
        database = open_database(settings)
        try:
            failed |= not _run_store(database, settings, dry_run=dry_run, limit=limit)
        finally:
            database.dispose()
    if failed:
        raise typer.Exit(EXIT_FAILURE)


def _run_store(database: Database, settings: Settings, *, dry_run: bool, limit: int | None) -> bool:
    from jobs import bootstrap  # the SMTP stack loads only when sending
    from jobs.send_surveys import send_surveys

    summaries: list[SendSummary] = []

    def work(context: JobContext) -> None:
        with bootstrap.mailer(settings) as mailer, progress_reporter() as progress:
            summary = send_surveys(
                database,
                settings,
                mailer,
                datetime.now(UTC),
                dry_run=dry_run,
                limit=limit,
                progress=progress,
            )
        summaries.append(summary)
        context.add_counts({k: v for k, v in summary.counts.items() if v})
        for error in summary.errors:
            context.error(error)

    prefix = f"{settings.store.id}: "
    if dry_run:
        work(JobContext(settings.store.id, "surveys send"))
        outcome_ok = True
    else:
        outcome = run_job(database, settings.store.id, "surveys send", work)
        outcome_ok = outcome.ok
        if outcome.status in {"locked", "failed"} and not summaries:
            for error in outcome.errors:
                stdout.print(prefix + error, markup=False)
            return False
    for line in summaries[0].lines() if summaries else []:
        stdout.print(prefix + line, markup=False)
    return outcome_ok


def _check_sections(settings: Settings) -> None:
    for section in ("email", "web"):
        if getattr(settings, section) is None:
            fail_usage(f"{section}: is required to send surveys (see config.example.yaml)")
