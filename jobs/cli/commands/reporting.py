"""``nps report``: the segmented NPS of each store in the configuration."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from jobs.cli.console import (
    fail,
    fail_usage,
    open_database,
    state_of,
    stderr,
    stdout,
    store_option,
)
from nps_engine.records import SurveyKind

# The report's engine, its renderers and SQLAlchemy load when a report is made, not for
# `nps report --help` (bench/cli_start.py).
if TYPE_CHECKING:
    from jobs.theme_listing import ThemeListing
    from nps_engine.config import Settings
    from nps_engine.report import Basis, Method, Report

# What the command imports as soon as it runs: imported before the garbage collector is turned
# back on, so that their objects are frozen with the rest of start-up (jobs/cli/start_up.py).
# Not the comment themes (``jobs.theme_listing``, numpy): the report's thread that reads "what
# they said" imports them while the database counts, rather than before the first query.
RUN_IMPORTS = (
    "nps_engine.config.loading",
    "nps_engine.store.database",
    "jobs.report_job",
    "jobs.cli.report_output",
)


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    HTML = "html"


class MethodOption(enum.StrEnum):
    ADJUSTED_WALD = "adjusted-wald"
    BAYES = "bayes"


class BasisOption(enum.StrEnum):
    CUSTOMERS = "customers"
    RESPONSES = "responses"


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    ctx: typer.Context,
    output_format: OutputFormat = typer.Option(
        OutputFormat.TABLE, "--format", "-f", help="table, json, csv or html."
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
    since: str | None = typer.Option(None, help="First day, YYYY-MM-DD (store time zone)."),
    until: str | None = typer.Option(None, help="Last day, YYYY-MM-DD (default: today)."),
    basis: BasisOption | None = typer.Option(
        None, help="customers (latest answer per customer) or responses (every answer)."
    ),
    kind: SurveyKind = typer.Option(
        SurveyKind.TRANSACTIONAL,
        help="transactional (post-delivery) or relationship survey; never mixed.",
    ),
    method: MethodOption = typer.Option(
        MethodOption.ADJUSTED_WALD,
        help="adjusted-wald, or bayes to add a Bayesian 95% credible interval beside each "
        "figure in the JSON.",
    ),
    store: list[str] | None = store_option(),
) -> None:
    """Segmented NPS with 95% intervals: overall, each segment against the rest, month by month."""
    since_day, until_day = _date_option("--since", since), _date_option("--until", until)
    if since_day and until_day and until_day < since_day:
        fail_usage(f"--until {until_day} is before --since {since_day}")
    now = datetime.now(UTC)
    chosen_method: Method = "bayes" if method is MethodOption.BAYES else "adjusted-wald"
    reports: list[Report] = []
    listings: list[ThemeListing] = []
    for settings in state_of(ctx).selected(store):
        report, listing = _store_report(
            settings, now, since_day, until_day, basis, kind, chosen_method
        )
        reports.append(report)
        if listing is not None:
            listings.append(listing)
    _emit(reports, output_format, output, listings)


def _date_option(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail_usage(f"{name}: '{value}' is not a date (use YYYY-MM-DD, e.g. 2026-01-31)")


def _store_report(
    settings: Settings,
    now: datetime,
    since: date | None,
    until: date | None,
    basis_option: BasisOption | None,
    kind: SurveyKind,
    method: Method,
) -> tuple[Report, ThemeListing | None]:
    """One store's report and, when its comment themes are on and the period has answers, its
    themes part, both read from one opening of its database."""
    from sqlalchemy.exc import SQLAlchemyError

    from jobs.report_job import report_options, report_period, store_report

    try:
        period = report_period(settings, now, since, until)
    except ValueError as error:  # e.g. --since after today
        fail_usage(f"store {settings.store.id}: {error}")
    basis: Basis | None = None
    if basis_option is not None:
        basis = "responses" if basis_option is BasisOption.RESPONSES else "customers"
    store = settings.store.id
    database = open_database(settings)
    try:
        options = report_options(settings, method)
        report = store_report(
            database, settings, period, now=now, kind=kind, basis=basis, options=options, said=True
        )
        listing = None
        if settings.themes.enabled and not report.empty:
            from jobs.theme_listing import theme_listing

            listing = theme_listing(
                settings, database, now, report.period, kind=kind, habits=report.habits
            )
    except SQLAlchemyError as error:
        # The driver's first line says what is wrong (unreachable server, locked file...);
        # the rest is SQL and connection details a store owner does not need.
        first_line = str(getattr(error, "orig", None) or error).splitlines()[0]
        fail(f"store {store}: cannot read the database: {first_line}")
    finally:
        database.dispose()
    return report, listing


def _rendered(
    reports: list[Report], output_format: OutputFormat, listings: list[ThemeListing]
) -> str:
    from jobs.cli.report_output import RENDERERS, themes_part

    text = RENDERERS[output_format.value](reports)
    if output_format is OutputFormat.JSON:
        return themes_part.add_to_json(text, listings)
    if output_format is OutputFormat.HTML:
        return themes_part.add_to_html(text, listings)
    if output_format is OutputFormat.TABLE:
        return text + themes_part.table_text(listings, 80)
    return text


def _emit(
    reports: list[Report],
    output_format: OutputFormat,
    output: Path | None,
    listings: list[ThemeListing] | None = None,
) -> None:
    from jobs.cli.report_output import themes_part
    from jobs.cli.report_output.rich_table import report_renderable

    listings = listings or []
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(_rendered(reports, output_format, listings), encoding="utf-8")
        stderr.print(f"report written to {output}", markup=False)
    elif output_format is OutputFormat.TABLE:
        for report in reports:
            # Wrapped at the width (80 when piped), so cron mail and files read well.
            stdout.print(report_renderable(report), soft_wrap=False)
        if listings:
            width = stdout.width if stdout.is_terminal else 80
            typer.echo(themes_part.table_text(listings, width), nl=False)
        return  # the table itself says when a store has no answers
    else:
        typer.echo(_rendered(reports, output_format, listings), nl=False)
    for report in reports:
        if report.empty:
            stderr.print(
                f"store {report.store}: no answers in this period "
                f"({report.period.since} to {report.period.until})",
                markup=False,
            )
