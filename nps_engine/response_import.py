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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from types import MappingProxyType
from typing import NamedTuple, TextIO
from zoneinfo import ZoneInfo

from nps_engine.import_dates import (
    is_ambiguous,
    iso_timestamp,
    starts_iso,
    unambiguous_order,
)
from nps_engine.import_dates import parse_timestamp as parse_timestamp  # part of this API
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
_DELIMITERS = (",", ";", "\t")
_ZERO_FRACTION = re.compile(r"(\d+)[.,]0+")
# In every text unambiguous_order reads: 14/07/2025 or 14-07-2025. Two patterns, each starting
# with its separator, searched for far faster than one starting with a class ([/-]): 0.26
# against 0.9 s over a 62 MB file, before anything else can start.
_DAY_MONTH_TEXTS = (re.compile(r"/\d{1,2}/\d{4}"), re.compile(r"-\d{1,2}-\d{4}"))
_NAIVE = partial(datetime.replace, tzinfo=None)  # a UTC value's wall clock
_SCORES = {str(score): score for score in range(11)}  # the usual cells, as parse_score reads them


class ImportFileError(ValueError):
    """The file cannot be imported at all (no header, columns missing); nothing was read."""


class ImportedResponse(NamedTuple):
    """One good row. ``email`` is normalised; ``responded_at`` is timezone-aware UTC.

    Immutable like a frozen dataclass, and built in a third of its time (the frozen
    dataclass's ``__init__`` sets each field through ``object.__setattr__``): an import makes
    one per row of the file."""

    line: int
    import_key: str
    email: str
    score: int
    responded_at: datetime
    comment: str | None = None
    order: str | None = None
    # The file's other columns with a value (Notes, Tags, Delighted properties), by header.
    properties: Mapping[str, str] = MappingProxyType({})


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
            if _may_hold_day_month_dates(stream):
                stream.seek(start)
                self._read_header(stream)
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
                order = unambiguous_order(raw)
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
        reader, quick = self._reader, self._quick_reader()
        last_line = reader.line_num
        while True:
            try:
                for cells in reader:
                    line, last_line = last_line + 1, reader.line_num
                    row: ImportedResponse | RowError | None = quick(line, cells)
                    if row is None and any(cell.strip() for cell in cells):
                        row = self._parse_or_refuse(line, cells)
                    if row is not None:
                        yield row
            except csv.Error as error:  # a NUL byte, a field over the csv module's size limit
                yield RowError(last_line + 1, "row", f"cannot be read as CSV ({error})")
                last_line = reader.line_num
            else:
                return

    def _parse_or_refuse(self, line: int, cells: list[str]) -> ImportedResponse | RowError:
        try:
            return self._parse(line, cells)
        except (ValueError, OverflowError, ArithmeticError) as error:
            # Whatever a cell holds, it costs that row only, never the rest of the file.
            return RowError(line, "row", f"cannot be read ({type(error).__name__})")

    def _quick_reader(self) -> Callable[[int, list[str]], ImportedResponse | None]:
        """The usual row read in few steps: a valid email, a score written 0 to 10, an ISO 8601
        date. Anything else gets None and goes to :meth:`_parse`, which reads the other forms
        and words the errors; for a row both take, both give the same answer. (A million-row
        file spends most of its parsing time here: the general path cost 25 µs a row.)"""
        at = self.columns
        email_at, score_at, date_at = at["email"], at["score"], at["responded_at"]
        comment_at, order_at, id_at = at.get("comment"), at.get("order"), at.get("response_id")
        width = max(at.values()) + 1
        extra, timezone, now = self.extra_columns, self.timezone, self.now
        new, sha256, naive = tuple.__new__, hashlib.sha256, _NAIVE

        def quick(line: int, cells: list[str]) -> ImportedResponse | None:
            if len(cells) < width:
                return None
            email, raw_score = cells[email_at].strip().lower(), cells[score_at].strip()
            score, raw_date = _SCORES.get(raw_score), cells[date_at].strip()
            iso = raw_date[4:5] == "-" and raw_date[:4].isdigit()  # starts_iso, inlined
            if score is None or not iso or not _EMAIL.fullmatch(email):
                return None
            # parse_timestamp's ISO 8601 branch (" UTC" suffixes take the long way)
            value = iso_timestamp(raw_date, timezone)
            if value is None or value > now or raw_date[-4:].upper() == " UTC":
                return None
            order = (cells[order_at].strip() or None) if order_at is not None else None
            comment = cells[comment_at].strip() if comment_at is not None else ""
            comment = comment.replace("\x00", "").replace("\r\n", "\n")
            response_id = cells[id_at].strip() if id_at is not None else ""
            if response_id:
                key = f"delighted:{response_id}"
            else:
                # generic_key's material; the score cell is already its canonical text. The
                # time as value.isoformat() writes it, less "+00:00": the cell's own text when
                # it is 2025-03-14T09:30:00Z (parsed, so digits), else from the naive value
                # (an aware value's isoformat() took 2.1 µs a row, the naive one a third).
                if raw_date[19:] == "Z" and raw_date[7:17:3] == "-T::" and raw_date[11:13] != "24":
                    when = raw_date[:19]
                else:
                    when = naive(value).isoformat()
                material = f"{email}|{when}+00:00|{raw_score}|{order or ''}"
                key = "csv:" + sha256(material.encode()).hexdigest()
            properties = (
                {
                    name: cells[index].strip().replace("\x00", "")
                    for index, name in extra.items()
                    if index < len(cells) and cells[index].strip()
                }
                if extra
                else {}
            )
            # tuple.__new__ in C, not the named tuple's __new__ (a Python function): once a row
            return new(
                ImportedResponse,
                (line, key, email, score, value, comment or None, order, properties),
            )

        return quick

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
        if not starts_iso(raw):
            if self.date_order is None and is_ambiguous(raw):
                return RowError(
                    line,
                    column,
                    f"'{raw}' may be day or month first and no date of the file says which: "
                    "import again with --date-format day-first (or month-first)",
                )
            order = self.date_order or unambiguous_order(raw) or "day-first"
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


def _short(cell: str) -> str:
    """A cell quoted in a message, cut so a 5,000-character cell does not flood the report."""
    return cell if len(cell) <= 40 else cell[:37] + "..."


def _may_hold_day_month_dates(stream: TextIO) -> bool:
    """False when no text of the rest of the file looks like 14/07/2025 or 14-07-2025, so that
    detecting the day/month order (a second CSV pass) can be skipped: a plain search of the
    text, several times faster, for the ISO 8601 files most large imports are."""
    tail = ""
    try:
        while block := stream.read(1 << 20):
            text = tail + block
            if any(pattern.search(text) for pattern in _DAY_MONTH_TEXTS):
                return True
            tail = block[-16:]  # a date cut by the block boundary
    except UnicodeDecodeError:
        return True  # the CSV pass reports it as before, from the line it reached
    return False


def generic_key(email: str, responded_at: datetime, score: int, order: str | None) -> str:
    """The de-duplication key of a row without a response id: the same answer, the same key."""
    material = "|".join((email, responded_at.astimezone(UTC).isoformat(), str(score), order or ""))
    return _hashed_key(material)


def _hashed_key(material: str) -> str:
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
