"""``nps themes``: what customers talk about, grouped into themes, with share and NPS of each;
``nps themes rename`` and ``nps themes merge`` keep the owner's choices across recomputes."""

from __future__ import annotations

import enum
import json
from datetime import UTC, datetime

import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from jobs.cli.commands.reporting import _date_option
from jobs.cli.console import fail, fail_usage, open_database, state_of, stderr, stdout
from jobs.report_job import report_period
from jobs.theme_listing import ThemeListing, listing_json, segment_names, theme_listing
from jobs.themes_job import update_themes
from nps_engine.config import Settings
from nps_engine.report_text import figure_text
from nps_engine.store.theme_rows import set_owner_choice, theme_rows
from nps_engine.theme_clusters import MIN_COMMENTS

themes_app = typer.Typer(
    help="Comment themes: what customers talk about, with the share and NPS of each theme.",
    no_args_is_help=False,
)


class ThemesFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


def register(app: typer.Typer) -> None:
    app.add_typer(themes_app, name="themes")


def _stores(ctx: typer.Context, store: str | None) -> list[Settings]:
    stores = state_of(ctx).stores()
    if store is None:
        return stores
    chosen = [s for s in stores if s.store.id == store]
    if not chosen:
        known = ", ".join(s.store.id for s in stores)
        fail_usage(f"--store: no store '{store}' in the configuration (store.id: {known})")
    return chosen


@themes_app.callback(invoke_without_command=True)
def themes(
    ctx: typer.Context,
    since: str | None = typer.Option(None, help="First day, YYYY-MM-DD (store time zone)."),
    until: str | None = typer.Option(None, help="Last day, YYYY-MM-DD (default: today)."),
    segment: str | None = typer.Option(
        None, help="Only this segment: detractors, passives, promoters, or a report segment."
    ),
    output_format: ThemesFormat = typer.Option(ThemesFormat.TABLE, "--format", "-f"),
    rebuild: bool = typer.Option(False, "--rebuild", help="Recompute the themes from scratch."),
    store: str | None = typer.Option(None, "--store", help="Only this store (store.id)."),
) -> None:
    """Group the comments into themes (new comments only, unless --rebuild) and list them."""
    if ctx.invoked_subcommand is not None:
        return
    since_day, until_day = _date_option("--since", since), _date_option("--until", until)
    now = datetime.now(UTC)
    documents = []
    for settings in _stores(ctx, store):
        if segment is not None and segment not in segment_names(settings, now):
            known = ", ".join(segment_names(settings, now))
            fail_usage(f"--segment: unknown segment '{segment}' (known: {known})")
        if not settings.themes.enabled:
            fail_usage(f"store {settings.store.id}: themes.enabled is false")
        try:
            period = report_period(settings, now, since_day, until_day)
        except ValueError as error:
            fail_usage(f"store {settings.store.id}: {error}")
        database = open_database(settings)
        try:
            run = update_themes(settings, database, _embedder(settings), now, rebuild=rebuild)
            listing = theme_listing(settings, database, now, period, segment=segment)
        except SQLAlchemyError as error:
            # The driver's first line says what is wrong; the rest is SQL (and comments).
            first_line = str(getattr(error, "orig", None) or error).splitlines()[0]
            fail(f"store {settings.store.id}: cannot read or write the database: {first_line}")
        finally:
            database.dispose()
        what = f"recomputed ({run.reason})" if run.rebuilt else f"{run.assigned} new assigned"
        stderr.print(
            f"store {settings.store.id}: {run.comments} comments, {run.embedded} embedded, "
            f"themes {what}",
            markup=False,
        )
        if output_format is ThemesFormat.JSON:
            documents.append(listing_json(listing))
        else:
            _print_table(listing, run.comments)
    if output_format is ThemesFormat.JSON:
        document = documents[0] if len(documents) == 1 else {"stores": documents}
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


@themes_app.command("rename")
def rename(
    ctx: typer.Context,
    theme_id: int = typer.Argument(..., help="Theme id (first column of `nps themes`)."),
    label: str = typer.Argument(..., help="The new label."),
    store: str | None = typer.Option(None, "--store", help="Only this store (store.id)."),
) -> None:
    """Give a theme your own label; it keeps it when the themes are recomputed."""
    if not label.strip() or len(label) > 120:
        fail_usage("label: give 1 to 120 characters")
    _choose(ctx, store, theme_id, renamed_to=label.strip())


@themes_app.command("merge")
def merge(
    ctx: typer.Context,
    source: int = typer.Argument(..., help="Theme id to fold in."),
    target: int = typer.Argument(..., help="Theme id it joins."),
    store: str | None = typer.Option(None, "--store", help="Only this store (store.id)."),
) -> None:
    """Count one theme's comments under another, now and after every recompute."""
    if source == target:
        fail_usage("merge: a theme cannot be merged into itself")
    _choose(ctx, store, source, merged_into=target, must_exist=target)


def _choose(
    ctx: typer.Context,
    store: str | None,
    theme_id: int,
    *,
    renamed_to: str | None = None,
    merged_into: int | None = None,
    must_exist: int | None = None,
) -> None:
    for settings in _stores(ctx, store):
        database = open_database(settings)
        try:
            known = {row.id for row in theme_rows(database, settings.store.id)}
            for wanted in (theme_id, must_exist):
                if wanted is not None and wanted not in known:
                    fail(f"store {settings.store.id}: no theme {wanted} (see `nps themes`)")
            set_owner_choice(
                database, settings.store.id, theme_id, renamed_to=renamed_to,
                merged_into=merged_into,
            )  # fmt: skip
        finally:
            database.dispose()
        stdout.print(f"store {settings.store.id}: theme {theme_id} updated", markup=False)


def _embedder(settings: Settings):  # type: ignore[no-untyped-def]
    from connectors.comment_embedder import LocalCommentEmbedder, ThemesNotInstalled

    try:
        return LocalCommentEmbedder(settings.store.language, model=settings.themes.model)
    except ThemesNotInstalled as error:
        fail(str(error))


def _print_table(listing: ThemeListing, all_comments: int) -> None:
    title = f"Comment themes · {listing.store}  {listing.period.since} to {listing.period.until}"
    if listing.segment:
        title += f" · segment {listing.segment}"
    stdout.print(title, style="bold", markup=False)
    if all_comments == 0:
        stdout.print(
            "No comments yet: themes appear once customers write comments with their answers.",
            markup=False,
        )
        return
    if all_comments < MIN_COMMENTS:
        stdout.print(
            f"Only {all_comments} comment{'s' if all_comments > 1 else ''} so far: too few to "
            f"find themes (at least {MIN_COMMENTS} needed); pinned themes (themes.pinned) "
            "still apply, the rest is listed under Other.",
            markup=False,
        )
    if listing.comments == 0:
        stdout.print("No comments in this period (or segment).", markup=False)
        return
    table = Table(show_edge=False)
    for column in ("id", "theme", "keywords", "size", "share (95% CI)", "NPS (95% CI)", "answers"):
        table.add_column(column)
    for f in listing.figures:
        ids = ", ".join(str(i) for i in f.response_ids[:3]) + (" …" if f.size > 3 else "")
        low, high = f.share_ci95
        table.add_row(
            "" if f.theme_id is None else str(f.theme_id),
            f.label + (" (pinned)" if f.pinned else ""),
            ", ".join(f.keywords[:3]),
            str(f.size),
            f"{f.share:.0%} ({low:.0%}-{high:.0%})",
            figure_text(f.nps),
            ids,
        )
    stdout.print(table)
    stdout.print("All members' answer ids: --format json.", markup=False)
    if listing.unthemed:
        stdout.print(f"{listing.unthemed} comments not assigned yet.", markup=False)
