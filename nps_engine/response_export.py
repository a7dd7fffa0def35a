"""Answers as CSV or JSON Lines, one line at a time (the dashboard's export, ``nps responses
list``). Pure: rows in, text out.

CSV is written for spreadsheets: a UTF-8 byte-order mark so Excel reads accents right, and a
``;`` delimiter on request (Excel in most of Europe splits on it). Cells that a spreadsheet would
run as a formula (``=``, ``+``, ``-``, ``@`` first) get a leading apostrophe: a comment is
customer-written text (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime

from nps_engine.response_filters import mask_email
from nps_engine.response_view import FeedRow

COLUMNS = (
    "id", "responded_at", "kind", "score", "category", "comment", "language", "customer_id",
    "customer_name", "email", "order", "segments", "shopify_tags", "zendesk_tags",
    "followup_ticket_id", "theme",
)  # fmt: skip
BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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


def csv_lines(
    rows: Iterable[FeedRow], *, delimiter: str = ",", masked: bool = False, bom: bool = True
) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield (BOM if bom else "") + _take(buffer)
    for row in rows:
        writer.writerow(_csv_cells(row, masked))
        yield _take(buffer)


def _csv_cells(row: FeedRow, masked: bool) -> list[object]:
    """The CSV cells of :func:`row_values`, built directly (once per exported answer): None is
    written empty by the csv module, numbers as ``str()`` would, lists space-separated, text
    defused by :func:`_text`."""
    tags = row.tags
    return [
        row.id,
        _iso(row.responded_at),
        _text(row.kind),
        row.score,
        row.category,
        _text(row.comment),
        _text(row.language),
        row.customer_id,
        None if masked else _text(row.customer_name),
        _text(mask_email(row.email) if masked else row.email),
        _text(row.order_name),
        " ".join(row.segments),
        " ".join(tags.get("shopify", ())) if tags else "",
        " ".join(tags.get("zendesk", ())) if tags else "",
        row.followup_ticket_id,
        _text(row.theme),
    ]


def jsonl_lines(rows: Iterable[FeedRow], *, masked: bool = False) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row_values(row, masked=masked), ensure_ascii=False) + "\n"


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _text(value: str | None) -> str | None:
    if value and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
