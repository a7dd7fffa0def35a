"""Answers as CSV or JSON Lines, streamed in chunks of whole lines (the dashboard's export,
``nps responses list``). Pure: rows in, text out.

CSV is written for spreadsheets: a UTF-8 byte-order mark so Excel reads accents right, and a
``;`` delimiter on request (Excel in most of Europe splits on it). Cells that a spreadsheet would
run as a formula (``=``, ``+``, ``-``, ``@`` first) get a leading apostrophe: a comment is
customer-written text (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring
from typing import Any, Literal

from nps_engine.response_filters import mask_email
from nps_engine.response_view import FeedRow

COLUMNS = (
    "id", "responded_at", "kind", "score", "category", "comment", "language", "customer_id",
    "customer_name", "email", "order", "segments", "shopify_tags", "zendesk_tags",
    "followup_ticket_id", "theme",
)  # fmt: skip
BOM = "\ufeff"
CHUNK = 65_536  # characters per piece of an export handed to the writer (a file, a response)
# json.dumps(..., ensure_ascii=False) builds an encoder per call; one is enough.
_JSON = json.JSONEncoder(ensure_ascii=False)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class ExportForm:
    """How an export is written: CSV (``delimiter``; ``bom`` first, for spreadsheets) or JSON
    Lines; ``masked``: as a viewer sees it (no name, the email masked)."""

    kind: Literal["csv", "jsonl"] = "csv"
    delimiter: str = ","
    masked: bool = False
    bom: bool = True

    def chunks(self, rows: Iterable[Sequence[Any]], *, first: bool = True) -> Iterator[str]:
        """``rows`` (of :func:`export_values`) written in this form; ``first``: the start of
        the export (the CSV header and byte-order mark), else a later part of it."""
        if self.kind == "jsonl":
            return jsonl_chunks(rows, masked=self.masked)
        return csv_chunks(
            rows, delimiter=self.delimiter, masked=self.masked, bom=self.bom, header=first
        )


def row_values(row: FeedRow, *, masked: bool = False) -> dict[str, object]:
    """One answer as plain values, in :data:`COLUMNS` order."""
    return {
        "id": row.id,
        "responded_at": _iso(row.responded_at),
        "kind": row.kind,
        "score": row.score,
        "category": row.category,
        "comment": row.comment,
        "language": row.language,
        "customer_id": row.customer_id,
        "customer_name": None if masked else row.customer_name,
        "email": mask_email(row.email) if masked else row.email,
        "order": row.order_name,
        "segments": list(row.segments),
        "shopify_tags": list(row.tags.get("shopify", ())),
        "zendesk_tags": list(row.tags.get("zendesk", ())),
        "followup_ticket_id": row.followup_ticket_id,
        "theme": row.theme,
    }


def export_values(row: FeedRow) -> tuple[Any, ...]:
    """One answer as the plain values of :data:`COLUMNS` (lists as tuples), the rows
    :func:`csv_chunks` and :func:`jsonl_chunks` write (``Feed.export_rows`` reads them so)."""
    tags = row.tags
    return (
        row.id, _iso(row.responded_at), row.kind, row.score, row.category, row.comment,
        row.language, row.customer_id, row.customer_name, row.email, row.order_name,
        row.segments, tuple(tags.get("shopify", ())), tuple(tags.get("zendesk", ())),
        row.followup_ticket_id, row.theme,
    )  # fmt: skip


def csv_lines(
    rows: Iterable[FeedRow], *, delimiter: str = ",", masked: bool = False, bom: bool = True
) -> Iterator[str]:
    return csv_chunks(map(export_values, rows), delimiter=delimiter, masked=masked, bom=bom)


def jsonl_lines(rows: Iterable[FeedRow], *, masked: bool = False) -> Iterator[str]:
    """One JSON line per answer."""
    return jsonl_chunks(map(export_values, rows), masked=masked, size=0)


def csv_chunks(
    rows: Iterable[Sequence[Any]],
    *,
    delimiter: str = ",",
    masked: bool = False,
    bom: bool = True,
    size: int = CHUNK,
    header: bool = True,
) -> Iterator[str]:
    """Rows of :func:`export_values` as CSV text, in chunks of about ``size`` characters:
    the header first (unless ``header`` is false: a later part of an export), then whole
    lines.

    Each line is what ``csv.writer`` (minimal quoting, CRLF line ends) writes for the cells of
    :func:`_csv_cells`, put together from its pieces: a cell is quoted when it holds the
    delimiter, a quote or a line break, None is empty, numbers are ``str()``, and the few
    distinct runs of kind, score, language, segments, tags and theme are written once each.
    A list of cells per answer handed to the csv module took 7 us an answer; a test compares
    the lines with ``csv.writer``."""
    if header:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerow(COLUMNS)
        yield (BOM if bom else "") + buffer.getvalue()
    special = re.compile(f'[{re.escape(delimiter)}"\r\n]').search

    def cell(value: str | None) -> str:
        if value is None:
            return ""
        if special(value):
            return '"' + value.replace('"', '""') + '"'
        return value

    def number(value: object) -> str:
        if value is None:
            return ""
        return str(value) if type(value) is int else cell(str(value))

    d = delimiter

    def run_of(*cells: Any) -> _Run:
        kind, score, category, language, segments, shopify, zendesk, theme = cells
        return (
            f"{d}{cell(_text(kind))}{d}{number(score)}{d}{cell(category)}",
            f"{d}{cell(_text(language))}",
            f"{d}{cell(' '.join(segments))}{d}{cell(' '.join(shopify))}"
            f"{d}{cell(' '.join(zendesk))}",
            f"{d}{cell(_text(theme))}\r\n",
        )

    def line_of(
        answer_id: Any, at: Any, comment: Any, customer_id: Any, name: Any, email: Any,
        order: Any, ticket: Any, run: _Run,
    ) -> str:  # fmt: skip
        return (
            f"{number(answer_id)}{d}{cell(at)}{run[0]}{d}{cell(_text(comment))}{run[1]}"
            f"{d}{number(customer_id)}{d}{cell(_text(name))}{d}{cell(_text(email))}"
            f"{d}{cell(_text(order))}{run[2]}{d}{number(ticket)}{run[3]}"
        )

    yield from _written(rows, masked, size, run_of, line_of)


def _csv_cells(row: Sequence[Any]) -> list[object]:
    """The CSV cells of one row, as ``csv.writer`` takes them (what :func:`csv_chunks`
    writes): None is written empty, numbers as ``str()``, lists space-separated, text defused
    by :func:`_text`."""
    (answer_id, at, kind, score, category, comment, language, customer_id, name, email, order,
     segments, shopify, zendesk, ticket, theme) = row  # fmt: skip
    return [
        answer_id, at, _text(kind), score, category, _text(comment), _text(language), customer_id,
        _text(name), _text(email), _text(order), " ".join(segments), " ".join(shopify),
        " ".join(zendesk), ticket, _text(theme),
    ]  # fmt: skip


def jsonl_chunks(
    rows: Iterable[Sequence[Any]], *, masked: bool = False, size: int = CHUNK
) -> Iterator[str]:
    """Rows of :func:`export_values` as JSON Lines, in chunks of about ``size`` characters.

    Each line is what ``json.dumps(dict(zip(COLUMNS, row)), ensure_ascii=False)`` writes, put
    together from its pieces: the text cells escaped by the encoder's own C function, the
    numbers as ``str()``, and the few distinct runs of kind, score, language, segments, tags and
    theme encoded once each. Building a dict and encoding it took 11 us an answer, four times
    this (200,000 rows: 2.18 -> 0.62 s of CPU); a test compares the lines with ``json.dumps``."""
    return _written(rows, masked, size, _json_run, _json_line)


def _json_run(*cells: Any) -> _Run:
    kind, score, category, language, segments, shopify, zendesk, theme = cells
    return (
        f', "kind": {_string(kind)}, "score": {_number(score)}, "category": {_string(category)}',
        f', "language": {_string(language)}',
        f', "segments": {_ENCODE(segments)}, "shopify_tags": {_ENCODE(shopify)}, '
        f'"zendesk_tags": {_ENCODE(zendesk)}',
        f', "theme": {_string(theme)}}}\n',
    )


def _json_line(
    answer_id: Any, at: Any, comment: Any, customer_id: Any, name: Any, email: Any, order: Any,
    ticket: Any, run: _Run,
) -> str:  # fmt: skip
    return (
        f'{{"id": {_number(answer_id)}, "responded_at": {_string(at)}{run[0]}, '
        f'"comment": {_string(comment)}{run[1]}, "customer_id": {_number(customer_id)}, '
        f'"customer_name": {_string(name)}, "email": {_string(email)}, '
        f'"order": {_string(order)}{run[2]}, "followup_ticket_id": {_number(ticket)}{run[3]}'
    )


# The pieces of a line that repeat from answer to answer: after the id and time, after the
# comment, after the order, and the end of the line.
_Run = tuple[str, str, str, str]


def _written(
    rows: Iterable[Sequence[Any]],
    masked: bool,
    size: int,
    run_of: Callable[..., _Run],
    line_of: Callable[..., str],
) -> Iterator[str]:
    """Rows of :func:`export_values` as lines (``line_of`` each answer's own cells and the
    run of its repeated ones, ``run_of`` the run, made once per distinct run), in chunks of
    about ``size`` characters. ``masked``: as a viewer sees them (no name, the email masked)."""
    lines: list[str] = []
    length = 0
    runs: dict[tuple[Any, ...], _Run] = {}
    for row in rows:
        (answer_id, at, kind, score, category, comment, language, customer_id, name, email,
         order, segments, shopify, zendesk, ticket, theme) = row  # fmt: skip
        if masked:
            name, email = None, mask_email(email)
        key = (kind, score, category, language, segments, shopify, zendesk, theme)
        run = runs.get(key)
        if run is None:
            if len(runs) >= _RUNS_KEPT:
                runs.clear()
            run = runs[key] = run_of(*key)
        line = line_of(answer_id, at, comment, customer_id, name, email, order, ticket, run)
        lines.append(line)
        length += len(line)
        if length >= size:
            yield "".join(lines)
            lines, length = [], 0
    if lines:
        yield "".join(lines)


_ENCODE = _JSON.encode
_RUNS_KEPT = 10_000  # distinct runs of the low-cardinality cells remembered


def _string(value: object) -> str:
    """A text cell as JSON (anything but text or None as the encoder writes it)."""
    if value is None:
        return "null"
    return encode_basestring(value) if type(value) is str else _ENCODE(value)


def _number(value: object) -> str:
    """An id or score as JSON: ``str()`` of an int is what the encoder writes."""
    if value is None:
        return "null"
    return str(value) if type(value) is int else _ENCODE(value)


def _text(value: str | None) -> str | None:
    if value and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
