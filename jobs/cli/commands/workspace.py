"""``nps users add`` (who may sign in to the dashboard) and ``nps responses list`` (the answers,
with comments, filtered like the dashboard's feed, streamed as a table, CSV or JSON Lines)."""

from __future__ import annotations

import enum
import shutil
import sys
import textwrap
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Generic, TextIO, TypeVar

import typer

from jobs.cli.console import fail_usage, open_database, state_of, stderr, stdout
from nps_engine.config import Settings
from nps_engine.response_export import ExportForm
from nps_engine.response_filters import FilterError, ResponseFilters
from nps_engine.response_view import FeedRow
from nps_engine.segments import enabled_segments
from nps_engine.store.dashboard_users import ROLES, add_user
from nps_engine.store.response_feed import Feed

MIN_PASSWORD = 10


class ListFormat(enum.StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSONL = "jsonl"


def register(app: typer.Typer) -> None:
    users = typer.Typer(help="Who may sign in to the dashboard (/admin).", no_args_is_help=True)
    users.command("add")(users_add)
    app.add_typer(users, name="users")
    responses = typer.Typer(help="Read the answers customers gave.", no_args_is_help=True)
    responses.command("list")(responses_list)
    app.add_typer(responses, name="responses")


def users_add(
    ctx: typer.Context,
    email: str = typer.Argument(..., help="The person's email (their sign-in name)."),
    role: str = typer.Option(
        "owner", "--role", help="owner (sees everything) or viewer (emails masked)."
    ),
    link: bool = typer.Option(
        False, "--link", help="Print a one-time sign-in link instead of asking for a password."
    ),
    store: str | None = typer.Option(
        None, "--store", help="Store id, when the config has several."
    ),
) -> None:
    """Add a dashboard user (or change their role or password)."""
    if role not in ROLES:
        fail_usage(f"--role must be one of {', '.join(ROLES)}, not '{role}'")
    settings = one_store(state_of(ctx).stores(), store)
    if link and settings.web is None:
        fail_usage("web.public_url is needed to print a sign-in link (web: section)")
    password = None if link else _ask_password()
    database = open_database(settings)
    now = datetime.now(UTC)
    try:
        lifetime = timedelta(minutes=settings.dashboard.link_minutes) if link else None
        token = add_user(database, settings.store.id, email, role, now,
                         password=password, link_valid=lifetime)  # fmt: skip
    except ValueError as error:
        fail_usage(str(error))
    finally:
        database.dispose()
    stdout.print(f"{role} {email.strip().lower()} can sign in to the dashboard", markup=False)
    if token is not None and settings.web is not None:
        url = str(settings.web.public_url).rstrip("/")
        minutes = settings.dashboard.link_minutes
        stdout.print(f"one-time sign-in link (works once, for {minutes} minutes):", markup=False)
        stdout.print(f"{url}/admin/link/{token}", markup=False, soft_wrap=True)


def _ask_password() -> str:
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        fail_usage(f"the password must have at least {MIN_PASSWORD} characters")
    return password


def responses_list(
    ctx: typer.Context,
    since: str | None = typer.Option(None, help="First day, YYYY-MM-DD (store time zone)."),
    until: str | None = typer.Option(None, help="Last day, YYYY-MM-DD."),
    category: str | None = typer.Option(None, help="promoter, passive or detractor."),
    score: int | None = typer.Option(None, min=0, max=10, help="Only this score."),
    segment: str | None = typer.Option(None, help="A segment name (built-in or custom)."),
    language: str | None = typer.Option(None, help="Two-letter language, e.g. fr."),
    with_comment: bool | None = typer.Option(
        None, "--with-comment/--without-comment", help="Only answers with (or without) a comment."
    ),
    search: str | None = typer.Option(None, help="Words in the comment."),
    kind: str | None = typer.Option(None, help="transactional or relationship."),
    theme: str | None = typer.Option(
        None, help="A comment theme, by label or id (see `nps themes`), or 'other'."
    ),
    output_format: ListFormat = typer.Option(
        ListFormat.TABLE, "--format", "-f", help="table, csv or jsonl."
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
    semicolon: bool = typer.Option(
        False, "--semicolon", help="CSV split by ';' (Excel in most of Europe)."
    ),
    store: str | None = typer.Option(
        None, "--store", help="Store id, when the config has several."
    ),
) -> None:
    """The answers, newest first, with their comments (streamed: safe on a million rows)."""
    settings = one_store(state_of(ctx).stores(), store)
    try:
        filters = ResponseFilters(
            since=_day("--since", since), until=_day("--until", until), category=category,
            score=score, segment=segment, language=language.lower() if language else None,
            with_comment=with_comment, search=search, kind=kind,
        )  # fmt: skip
    except FilterError as error:
        fail_usage(f"--{error}")
    now = datetime.now(UTC)
    segments = enabled_segments(settings.segments, now)
    if segment is not None and segment not in {s.name for s in segments}:
        names = ", ".join(s.name for s in segments) or "none configured"
        fail_usage(f"--segment {segment}: no such segment (segments: {names})")
    if kind is not None and kind not in ("transactional", "relationship"):
        fail_usage(f"--kind must be transactional or relationship, not '{kind}'")
    database = open_database(settings)
    try:
        feed = Feed.of_store(
            database, settings.store.id, settings.store.timezone, settings.segments, now
        )
        if theme is not None:
            filters = filters.with_changes(theme=_theme_value(feed, theme))
        with _target(output) as out:
            count = _write(out, feed, filters, output_format, semicolon, settings, output is None)
    finally:
        database.dispose()
    if output is not None or output_format is ListFormat.TABLE:
        stderr.print(f"{count} answer{'s' if count != 1 else ''}", markup=False)


def _theme_value(feed: Feed, wanted: str) -> str:
    value = feed.themes.value_of(wanted)
    if value is None:
        labels = ", ".join(label for _, label in feed.themes.choices())
        hint = f"themes: {labels}" if labels else "themes were never computed: run `nps themes`"
        fail_usage(f"--theme {wanted}: no such theme ({hint})")
    return value


def _write(
    out: TextIO,
    feed: Feed,
    filters: ResponseFilters,
    form: ListFormat,
    semicolon: bool,
    settings: Settings,
    terminal: bool,
) -> int:
    if form is ListFormat.TABLE:
        shown = _Counter(feed.rows(filters))
        lines = table_lines(shown, settings.store.timezone, _width(out))
    else:
        # The byte-order mark is for spreadsheets opening a file, not for a pipe.
        csv_form = ExportForm("csv", delimiter=";" if semicolon else ",", bom=not terminal)
        export = feed.export(filters, csv_form if form is ListFormat.CSV else ExportForm("jsonl"))
        for text in export:
            out.write(text)
        out.flush()
        return export.rows
    for line in lines:
        out.write(line)
    out.flush()
    return shown.count


_T = TypeVar("_T")


class _Counter(Generic[_T]):
    def __init__(self, rows: Iterable[_T]) -> None:
        self.rows, self.count = rows, 0

    def __iter__(self) -> Iterator[_T]:
        for row in self.rows:
            self.count += 1
            yield row


def table_lines(rows: Iterable[FeedRow], timezone: str, width: int) -> Iterator[str]:
    """Two lines per answer (who and when, then the comment wrapped to the width): readable at
    80 columns and in a pipe, and printed as the rows arrive."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)
    for row in rows:
        head = (
            f"{row.responded_at.astimezone(zone):%Y-%m-%d %H:%M}  {row.score:>2} "
            f"{row.category:<9}  {row.email or '-'}  {row.order_name or '-'}"
        )
        if row.segments:
            head += f"  [{', '.join(row.segments)}]"
        for line in textwrap.wrap(head, width=width, subsequent_indent="  "):
            yield line + "\n"
        comment = " ".join((row.comment or "").split())
        if comment:
            for line in textwrap.wrap(comment, width=max(20, width - 4)):
                yield f"    {line}\n"


def _width(out: TextIO) -> int:
    if out is sys.stdout and sys.stdout.isatty():
        return shutil.get_terminal_size((80, 24)).columns
    return 80


@contextmanager
def _target(output: Path | None) -> Iterator[TextIO]:
    if output is None:
        yield sys.stdout
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", encoding="utf-8", newline="") as handle:
        yield handle


def _day(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail_usage(f"{name}: '{value}' is not a date (use YYYY-MM-DD, e.g. 2026-01-31)")


def one_store(stores: list[Settings], wanted: str | None) -> Settings:
    if wanted is not None:
        for settings in stores:
            if settings.store.id == wanted:
                return settings
        fail_usage(f"--store {wanted}: no such store in the config")
    if len(stores) > 1:
        fail_usage("the config has several stores: choose one with --store")
    return stores[0]
