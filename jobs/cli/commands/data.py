"""``nps import responses``: bring earlier answers in (``nps status`` is in ``status``).

``nps import responses FILE.csv`` exits 0 when the good rows were imported (bad ones are listed and
skipped), 1 when the file cannot be read at all or holds no usable row, 2 on a usage error such as a
missing file.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from jobs.cli.console import (
    EXIT_FAILURE,
    fail,
    fail_usage,
    open_database,
    state_of,
    stderr,
    stdout,
)
from nps_engine.collections_paused import collections_paused
from nps_engine.config import Settings
from nps_engine.read_ahead import can_read_ahead, read_ahead
from nps_engine.records import SurveyKind
from nps_engine.response_import import ImportedResponse, ImportFileError, ResponseCsv, RowError
from nps_engine.store.response_imports import ImportCounts, import_responses

BAD_ROWS_SHOWN = 50
# From this many rows a second process reads the file while this one writes (read_ahead).
READ_AHEAD_ROWS = 20_000


class DateFormat(enum.StrEnum):
    AUTO = "auto"
    DAY_FIRST = "day-first"
    MONTH_FIRST = "month-first"


def register(app: typer.Typer) -> None:
    imports = typer.Typer(help="Bring data from other tools in.", no_args_is_help=True)
    imports.command("responses")(import_responses_command)
    app.add_typer(imports, name="import")


def import_responses_command(
    ctx: typer.Context,
    file: Path = typer.Argument(..., metavar="FILE.csv", help="Generic or Delighted export CSV."),
    kind: SurveyKind = typer.Option(
        SurveyKind.TRANSACTIONAL, "--kind", help="Post-delivery or relationship answers."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and count; write nothing."),
    store: str | None = typer.Option(
        None, "--store", help="Store id, when the config has several."
    ),
    date_format: DateFormat = typer.Option(
        DateFormat.AUTO,
        "--date-format",
        help="How to read dates like 03/04/2025: day-first, month-first, or auto (detected).",
    ),
) -> None:
    """Import earlier NPS answers (columns email, score, responded_at[, comment, order])."""
    settings = _one_store(state_of(ctx).stores(), store)
    if not file.is_file():
        fail_usage(f"no such file: {file}")
    database = open_database(settings)
    now = datetime.now(UTC)
    bad = _BadRows()
    expected = _lines_in(file) - 1  # the header; a comment over several lines counts more
    started = time.monotonic()
    try:
        with (
            open(file, encoding="utf-8-sig", newline="") as stream,
            _row_progress(expected) as progress,
            collections_paused(),
        ):
            reader = ResponseCsv(
                stream, timezone=settings.store.tz, now=now, date_order=date_format.value
            )
            counts = import_responses(
                database,
                settings.store.id,
                bad.filter(_rows_of(reader, expected)),
                now=now,
                kind=kind,
                dry_run=dry_run,
                expected_rows=expected,
                on_batch=lambda _counts: progress(bad.read),
            )
    except ImportFileError as error:
        fail(f"{file}: {error}; nothing was imported")
    except UnicodeDecodeError:
        if _starts_with(file, b"PK\x03\x04"):  # the zip signature every .xlsx starts with
            fail(f"{file} is an Excel workbook, not a CSV: save it as 'CSV UTF-8' first")
        fail(
            f"{file} is not UTF-8 text after line {bad.last_line}: save it as UTF-8 (CSV UTF-8) "
            "and import it again (rows already imported are not duplicated)"
        )
    finally:
        database.dispose()
    _print_import_summary(file, settings.store.id, reader, counts, bad, dry_run=dry_run)
    seconds = time.monotonic() - started
    stdout.print(
        f"  {bad.read:,} rows in {seconds:.1f} s ({bad.read / max(seconds, 1e-3):,.0f} rows/s)"
    )
    if bad.count and counts.imported + counts.duplicates == 0:
        raise typer.Exit(EXIT_FAILURE)


def _rows_of(reader: ResponseCsv, expected: int) -> Iterator[ImportedResponse | RowError]:
    """A large file is read by a second process while this one writes (``read_ahead``)."""
    if expected >= READ_AHEAD_ROWS and can_read_ahead():
        return read_ahead(reader)
    return reader.rows()


@dataclass
class _BadRows:
    """Rows the import skipped: counted all, the first few kept to show."""

    read: int = 0
    count: int = 0
    last_line: int = 1
    shown: list[RowError] = field(default_factory=list)

    def filter(self, rows: Iterable[ImportedResponse | RowError]) -> Iterator[ImportedResponse]:
        for row in rows:
            self.read += 1
            self.last_line = row.line
            if isinstance(row, RowError):
                self.count += 1
                if len(self.shown) < BAD_ROWS_SHOWN:
                    self.shown.append(row)
            else:
                yield row


def _print_import_summary(
    file: Path,
    store: str,
    reader: ResponseCsv,
    counts: ImportCounts,
    bad: _BadRows,
    *,
    dry_run: bool,
) -> None:
    layout = "Delighted export" if reader.is_delighted else "generic columns"
    stdout.print(f"{store}: {bad.read} rows read from {file} ({layout})", markup=False)
    verb = "would be imported" if dry_run else "imported"
    lines = [
        (verb, counts.imported),
        ("duplicates skipped (already imported)", counts.duplicates),
        ("matched to a customer", counts.matched),
        ("unmatched emails (no Shopify customer yet)", counts.unmatched),
        ("linked to an order", counts.orders_matched),
        ("bad rows skipped", bad.count),
    ]
    for label, value in lines:
        stdout.print(f"  {label:<44}{value:>9}", markup=False)
    if reader.date_order is not None:
        example = "14/07/2025" if reader.date_order == "day-first" else "07/14/2025"
        stdout.print(
            f"  dates read {reader.date_order} ({example}), {reader.date_order_reason}",
            markup=False,
        )
    if reader.extra_columns:
        kept = ", ".join(reader.extra_columns.values())
        stdout.print(f"  also kept with each answer (for custom segments): {kept}", markup=False)
    for error in bad.shown:
        stdout.print(f"  {error}", markup=False)
    if bad.count > len(bad.shown):
        stdout.print(f"  ... and {bad.count - len(bad.shown)} more bad rows", markup=False)
    if dry_run:
        stdout.print("dry run: nothing was written", markup=False)


def _one_store(stores: list[Settings], store: str | None) -> Settings:
    if store is None:
        if len(stores) > 1:
            ids = ", ".join(s.store.id for s in stores)
            fail_usage(f"the config has several stores ({ids}): choose one with --store")
        return stores[0]
    chosen = [settings for settings in stores if settings.store.id == store]
    if not chosen:
        fail_usage(f"--store: no store with id '{store}' in the config")
    return chosen[0]


def _lines_in(file: Path) -> int:
    """Lines of the file, counted in 1 MiB blocks (a few milliseconds for a million rows)."""
    lines = 0
    with open(file, "rb") as stream:
        while block := stream.read(1 << 20):
            lines += block.count(b"\n")
    return lines


@contextmanager
def _row_progress(expected: int) -> Iterator[Callable[[int], None]]:
    """A bar of the rows read, with rows/s, on a terminal; nothing otherwise (the summary
    gives rows/s at the end)."""
    if not stderr.is_terminal:
        yield lambda _rows: None
        return
    columns = (
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        _RowsPerSecond(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as bars:
        task = bars.add_task("importing", total=max(expected, 1))
        yield lambda rows: bars.update(task, completed=rows)


class _RowsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} rows/s" if speed else "")


def _starts_with(file: Path, signature: bytes) -> bool:
    with open(file, "rb") as stream:
        return stream.read(len(signature)) == signature
