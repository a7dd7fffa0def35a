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

Spreadsheet formats: dates also as ``14/07/2025 09:30`` (slashes or dashes) and ``14.07.2025``
(dots are always day first), scores as ``10.0`` or ``10,0``. Whether ``03/04/2025`` is the 3rd
of April or March 4th is decided once per file: by ``date_order`` when given (``day-first`` or
``month-first``), else by the first date of the file that can only be read one way (a day over
12); a file where every date could be both refuses them, asking for ``--date-format``.

Every other column with a value (Delighted's ``Notes``, ``Tags`` and its property columns) is
kept with the answer as ``properties``, by header name, for custom segments; names and person
ids are personal or meaningless here and are not kept.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
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
# Columns never kept as properties (after _header_key()): personal or internal to Delighted.
NOT_PROPERTIES = frozenset({"name", "person name", "person id", "updated at", "first name",
                            "last name"})  # fmt: skip
DATE_ORDERS = ("auto", "day-first", "month-first")

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_EPOCH = re.compile(r"\d{9,13}(\.\d+)?")
_DELIMITERS = (",", ";", "\t")
_ZERO_FRACTION = re.compile(r"(\d+)[.,]0+")
# 14/07/2025, 14-07-2025 or 14.07.2025, then an optional time 09:30 or 09:30:15.
_SPREADSHEET_DATE = re.compile(
    r"(\d{1,2})([./-])(\d{1,2})\2(\d{4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?"
)
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
    # The file's other columns with a value (Notes, Tags, Delighted properties), by header.
    properties: Mapping[str, str] = field(default_factory=dict)


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

    def __init__(
        self, stream: TextIO, *, timezone: ZoneInfo, now: datetime, date_order: str = "auto"
    ) -> None:
        if date_order not in DATE_ORDERS:
            raise ImportFileError(
                f"unknown date format '{date_order}': use day-first or month-first"
            )
        self.timezone = timezone
        self.now = now
        # "day-first" / "month-first" once known; how it was decided, for the summary.
        self.date_order: str | None = None if date_order == "auto" else date_order
        self.date_order_reason = "as asked (--date-format)" if self.date_order else ""
        start = stream.tell() if stream.seekable() else None
        self._read_header(stream)
        if self.date_order is None and start is not None:
            self._detect_date_order()
            stream.seek(start)
            self._read_header(stream)

    def _read_header(self, stream: TextIO) -> None:
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
        mapped = set(self.columns.values())
        self.extra_columns = {
            index: name.strip()
            for index, name in enumerate(header)
            if index not in mapped and name.strip() and _header_key(name) not in NOT_PROPERTIES
        }

    def _detect_date_order(self) -> None:
        """The first date that can only be read one way decides for the whole file."""
        index = self.columns["responded_at"]
        try:
            for cells in self._reader:
                raw = cells[index].strip() if index < len(cells) else ""
                order = _unambiguous_order(raw)
                if order is not None:
                    self.date_order = order
                    self.date_order_reason = (
                        f"detected from '{raw}' on line {self._reader.line_num}"
                    )
                    return
        except csv.Error:
            return  # the rows themselves report it

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
            # Spreadsheets write whole numbers as 10.0 (or 10,0 in Europe).
            whole = _ZERO_FRACTION.fullmatch(raw_score)
            score = parse_score(whole.group(1) if whole else raw_score)
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
        properties = {
            name: cells[index].strip().replace("\x00", "")
            for index, name in self.extra_columns.items()
            if index < len(cells) and cells[index].strip()
        }
        return ImportedResponse(line, key, email, score, responded_at, comment, order, properties)

    def _timestamp(self, line: int, raw: str) -> datetime | RowError:
        column = self.headers["responded_at"]
        if not raw:
            return RowError(line, column, "missing date")
        order = "day-first"  # unused for ISO 8601, which never needs the question
        if not _starts_iso(raw):
            if self.date_order is None and _is_ambiguous(raw):
                return RowError(
                    line,
                    column,
                    f"'{raw}' may be day or month first and no date of the file says which: "
                    "import again with --date-format day-first (or month-first)",
                )
            order = self.date_order or _unambiguous_order(raw) or "day-first"
        value = parse_timestamp(raw, self.timezone, order)
        if value is None:
            return RowError(
                line,
                column,
                f"not a date, got '{_short(raw)}' (use ISO 8601 such as "
                "2025-03-14T09:30:00+01:00, or 14/03/2025 09:30)",
            )
        if value > self.now:
            return RowError(line, column, f"is in the future ({value.isoformat()})")
        return value


def parse_timestamp(raw: str, timezone: ZoneInfo, date_order: str = "day-first") -> datetime | None:
    """A UTC datetime from ISO 8601, ``YYYY-MM-DD HH:MM:SS``, a spreadsheet date
    (``14/07/2025 09:30``, ``14.07.2025``; ``date_order`` decides ``03/04/2025``) or unix epoch
    seconds; else None.

    Delighted's API and some of its exports give ``created_at`` as epoch seconds; its CSV exports
    otherwise write a local date-time without offset, which we read in the store's time zone.
    """
    text = raw.strip()
    if not _starts_iso(text):
        spreadsheet = _SPREADSHEET_DATE.fullmatch(text)
        if spreadsheet is not None:
            return _spreadsheet_timestamp(spreadsheet, timezone, date_order)
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


def _starts_iso(text: str) -> bool:
    """``2025-03-14...``: neither a spreadsheet date (one or two digits before the first
    separator) nor epoch seconds (digits only), so the importer skips those two readings (a
    million-row file is nearly always ISO 8601, and the regular expressions cost as much as the
    rest of the row)."""
    return text[4:5] == "-" and text[:4].isdigit()


def _short(cell: str) -> str:
    """A cell quoted in a message, cut so a 5,000-character cell does not flood the report."""
    return cell if len(cell) <= 40 else cell[:37] + "..."


def _spreadsheet_timestamp(
    match: re.Match[str], timezone: ZoneInfo, date_order: str
) -> datetime | None:
    first, separator, second, year, hour, minute, second_of_minute = match.groups()
    day_first = separator == "." or date_order != "month-first"
    day, month = (first, second) if day_first else (second, first)
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0),
            int(second_of_minute or 0), tzinfo=timezone,
        )  # fmt: skip
        value = value.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return value if value.year >= EARLIEST_YEAR else None


def _unambiguous_order(raw: str) -> str | None:
    """``day-first`` for 14/07/2025, ``month-first`` for 07/14/2025, None when both would do."""
    match = _SPREADSHEET_DATE.fullmatch(raw.strip())
    if match is None or match.group(2) == ".":
        return None
    first, second = int(match.group(1)), int(match.group(3))
    if first > 12 >= second:
        return "day-first"
    if second > 12 >= first:
        return "month-first"
    return None


def _is_ambiguous(raw: str) -> bool:
    match = _SPREADSHEET_DATE.fullmatch(raw.strip())
    return (
        match is not None
        and match.group(2) != "."
        and match.group(1) != match.group(3)
        and int(match.group(1)) <= 12
        and int(match.group(3)) <= 12
    )


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
