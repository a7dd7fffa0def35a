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
    "followup_ticket_id",
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
    }


def csv_lines(
    rows: Iterable[FeedRow], *, delimiter: str = ",", masked: bool = False, bom: bool = True
) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield (BOM if bom else "") + _take(buffer)
    for row in rows:
        values = row_values(row, masked=masked)
        writer.writerow([_cell(values[column]) for column in COLUMNS])
        yield _take(buffer)


def jsonl_lines(rows: Iterable[FeedRow], *, masked: bool = False) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row_values(row, masked=masked), ensure_ascii=False) + "\n"


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
