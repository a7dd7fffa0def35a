"""Reading a CSV of earlier NPS answers: a generic layout or Delighted's export.

Pure: a text stream, the store's time zone and ``now`` go in; typed rows and row errors come out,
one at a time, so a file of a million answers never sits in memory. Every bad row becomes a
:class:`RowError` naming its physical line (the header is line 1; a comment quoted over several
lines still counts each of them) and the column at fault; the good rows around it are kept.

Generic columns: ``email``, ``score``, ``responded_at`` (ISO 8601; naive values are read in the
store's time zone), optional ``comment`` and ``order`` (an order name such as ``#1001`` or a numeric
order id). Delighted's export is recognised by its ``Response ID`` column; it names the others
``Score``, ``Comment``, ``Email`` or ``Person Email``, ``Created At`` or ``Response Timestamp``.
Header names match whatever their case, spacing or underscores.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from nps_engine.records import normalise_email
from nps_engine.scoring import InvalidScore, parse_score

# canonical column -> accepted header names, after _header_key(); the first present wins.
COLUMNS: dict[str, tuple[str, ...]] = {
    "response_id": ("response id",),
    "email": ("email", "person email", "email address"),
    "score": ("score",),
    "comment": ("comment",),
    "responded_at": ("responded at", "response timestamp", "created at"),
    "order": ("order", "order name", "order id", "order number"),
}
REQUIRED = ("email", "score", "responded_at")

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_EPOCH = re.compile(r"\d{9,13}(\.\d+)?")
_DELIMITERS = (",", ";", "\t")
# NPS was published in 2003; an earlier date is a typo or a placeholder such as 0001-01-01.
EARLIEST_YEAR = 2000


class ImportFileError(ValueError):
    """The file cannot be imported at all (no header, columns missing); nothing was read."""


@dataclass(frozen=True, slots=True)
class ImportedResponse:
    """One good row. ``email`` is normalised; ``responded_at`` is timezone-aware UTC."""

    line: int
    import_key: str
    email: str
    score: int
    responded_at: datetime
    comment: str | None = None
    order: str | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that was skipped, and why."""

    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.column}: {self.reason}"


def mask_email(email: str) -> str:
    """``jane@example.com`` -> ``j***@example.com``: enough to find the row, not to leak it."""
    local, at, domain = email.strip().partition("@")
    return f"{local[:1]}***{at}{domain}" if at else f"{local[:1]}***"


class ResponseCsv:
    """An import file whose header has been read and understood.

    Building one reads the header (and raises :class:`ImportFileError` when it is unusable);
    :meth:`rows` then streams the answers.
    """

    def __init__(self, stream: TextIO, *, timezone: ZoneInfo, now: datetime) -> None:
        self.timezone = timezone
        self.now = now
        first = stream.readline()
        if not first.strip():
            raise ImportFileError("the file is empty: expected a header row such as email,score,…")
        first = first.removeprefix("\ufeff")
        self.delimiter = max(_DELIMITERS, key=first.count)
        self._reader = csv.reader(itertools.chain([first], stream), delimiter=self.delimiter)
        header = next(self._reader)
        self.columns = _map_columns(header)
        self.headers = {name: header[index].strip() for name, index in self.columns.items()}
        self.is_delighted = "response_id" in self.columns

    def rows(self) -> Iterator[ImportedResponse | RowError]:
        """Each data row in file order: an answer, or the reason it was skipped."""
        last_line = self._reader.line_num
        while True:
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except csv.Error as error:  # a NUL byte, a field over the csv module's size limit
                yield RowError(last_line + 1, "row", f"cannot be read as CSV ({error})")
                last_line = self._reader.line_num
                continue
            line, last_line = last_line + 1, self._reader.line_num
            if any(cell.strip() for cell in cells):
                try:
                    yield self._parse(line, cells)
                except (ValueError, OverflowError, ArithmeticError) as error:
                    # Whatever a cell holds, it costs that row only, never the rest of the file.
                    yield RowError(line, "row", f"cannot be read ({type(error).__name__})")

    def _cell(self, cells: list[str], name: str) -> str:
        index = self.columns.get(name)
        if index is None or index >= len(cells):
            return ""
        return cells[index].strip()

    def _parse(self, line: int, cells: list[str]) -> ImportedResponse | RowError:
        raw_email, raw_score = self._cell(cells, "email"), self._cell(cells, "score")
        email = normalise_email(raw_email)
        if email is None:
            return RowError(line, self.headers["email"], "missing email address")
        if not _EMAIL.fullmatch(email):
            return RowError(
                line, self.headers["email"], f"not a valid email address ('{mask_email(email)}')"
            )
        try:
            score = parse_score(raw_score)
        except InvalidScore:
            return RowError(
                line,
                self.headers["score"],
                f"must be an integer from 0 to 10, got '{_short(raw_score)}'",
            )
        responded_at = self._timestamp(line, self._cell(cells, "responded_at"))
        if isinstance(responded_at, RowError):
            return responded_at
        order = self._cell(cells, "order") or None
        # PostgreSQL text cannot hold NUL; Windows exports quote CRLF inside comments.
        comment = self._cell(cells, "comment").replace("\x00", "").replace("\r\n", "\n") or None
        response_id = self._cell(cells, "response_id")
        key = (
            f"delighted:{response_id}"
            if response_id
            else generic_key(email, responded_at, score, order)
        )
        return ImportedResponse(line, key, email, score, responded_at, comment, order)

    def _timestamp(self, line: int, raw: str) -> datetime | RowError:
        column = self.headers["responded_at"]
        if not raw:
            return RowError(line, column, "missing date")
        value = parse_timestamp(raw, self.timezone)
        if value is None:
            return RowError(
                line,
                column,
                f"not a date, got '{_short(raw)}' (use ISO 8601 such as 2025-03-14T09:30:00+01:00)",
            )
        if value > self.now:
            return RowError(line, column, f"is in the future ({value.isoformat()})")
        return value


def parse_timestamp(raw: str, timezone: ZoneInfo) -> datetime | None:
    """A UTC datetime from ISO 8601, ``YYYY-MM-DD HH:MM:SS`` or unix epoch seconds; else None.

    Delighted's API and some of its exports give ``created_at`` as epoch seconds; its CSV exports
    otherwise write a local date-time without offset, which we read in the store's time zone.
    """
    text = raw.strip()
    if _EPOCH.fullmatch(text):
        seconds = float(text)
        if seconds > 1e11:  # 13 digits: milliseconds, as JavaScript tools write them
            seconds /= 1000
        return datetime.fromtimestamp(seconds, UTC)
    if text.upper().endswith(" UTC"):
        text = text[:-4] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone)
        # Year 1 or 9999 with an offset overflows on conversion; no NPS answer is that old.
        value = value.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return value if value.year >= EARLIEST_YEAR else None


def _short(cell: str) -> str:
    """A cell quoted in a message, cut so a 5,000-character cell does not flood the report."""
    return cell if len(cell) <= 40 else cell[:37] + "..."


def generic_key(email: str, responded_at: datetime, score: int, order: str | None) -> str:
    """The de-duplication key of a row without a response id: the same answer, the same key."""
    material = "|".join((email, responded_at.astimezone(UTC).isoformat(), str(score), order or ""))
    return "csv:" + hashlib.sha256(material.encode()).hexdigest()


def _header_key(name: str) -> str:
    return " ".join(re.split(r"[\s_\-]+", name.strip().lower())).strip()


def _map_columns(header: list[str]) -> dict[str, int]:
    positions = {_header_key(name): index for index, name in reversed(list(enumerate(header)))}
    columns: dict[str, int] = {}
    for name, aliases in COLUMNS.items():
        for alias in aliases:
            if alias in positions:
                columns[name] = positions[alias]
                break
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        found = ", ".join(name.strip() for name in header if name.strip()) or "nothing"
        raise ImportFileError(
            f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)} "
            f"(found: {found}). Expected email, score, responded_at and optionally comment, "
            "order; or a Delighted export (Response ID, Score, Email, Created At)"
        )
    return columns
