"""The cursor-based incremental ticket export, ``GET /api/v2/incremental/tickets/cursor.json``.

As Zendesk serves it (zendesk-notes 2.1 and samples/incremental_tickets_cursor_*.json):

- the first request names ``start_time`` (unix seconds), later ones the ``cursor`` of the previous
  page (``start_time`` and ``cursor`` together: 400); ``per_page`` up to 1000, default 1000;
- tickets come in ``generated_timestamp`` then id order, from ``start_time`` included; data of the
  last minute is held back (it may still change), so a ``start_time`` newer than a minute is
  refused;
- a page is ``{"tickets", "after_url", "before_url", "after_cursor", "before_cursor",
  "end_of_stream"}``; ``before_*`` are null; ``after_cursor`` is never null, even at the end of the
  stream, so a client can always resume; ``after_url`` is absolute and keeps ``per_page``;
- cursors are opaque base64 of ``"<generated_timestamp>.0||<ticket id>|"``, the format observed
  (``MTY5NTA1MjY2My4wfHwyOHw=`` is ``1695052663.0||28|``). The ``=`` padding is percent-encoded in
  ``after_url``; zenpy sends a cursor back unencoded, so both forms are accepted.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from sandbox.world import Ticket
from sandbox.zendesk.render import generated_timestamp

MAX_PER_PAGE = 1000
_CURSOR = re.compile(r"(-?\d+)\.0\|\|(\d+)\|")


class ExportRequestError(ValueError):
    """A bad export request; the message is the ``description`` Zendesk would send."""


@dataclass(frozen=True, order=True)
class Position:
    """Strictly after this (generated_timestamp, ticket id)."""

    timestamp: int
    ticket_id: int

    def encode(self) -> str:
        return base64.b64encode(f"{self.timestamp}.0||{self.ticket_id}|".encode()).decode()

    @classmethod
    def decode(cls, cursor: str) -> Position:
        # zenpy puts the cursor in the URL unencoded: "+" arrives as a space (zendesk-notes 1.7).
        text = cursor.replace(" ", "+")
        try:
            found = _CURSOR.fullmatch(base64.b64decode(text, validate=True).decode())
        except (binascii.Error, UnicodeDecodeError):
            found = None
        if found is None:
            raise ExportRequestError("Invalid cursor")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def at_start_time(cls, start_time: int) -> Position:
        return cls(start_time - 1, 2**63 - 1)  # start_time itself is included


@dataclass(frozen=True)
class ExportPage:
    tickets: list[Ticket]
    after: Position
    end_of_stream: bool

    def links(self, base_url: str, per_page: int | None) -> dict[str, object]:
        cursor = self.after.encode()
        url = f"{base_url}/api/v2/incremental/tickets/cursor.json?cursor={quote(cursor, safe='')}"
        if per_page is not None:
            url += f"&per_page={per_page}"
        return {
            "after_url": url,
            "before_url": None,
            "after_cursor": cursor,
            "before_cursor": None,
            "end_of_stream": self.end_of_stream,
        }


def parse_per_page(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PER_PAGE:
        raise ExportRequestError(f"per_page must be between 1 and {MAX_PER_PAGE}")
    return int(raw)


def start_position(start_time: str | None, cursor: str | None, now: int) -> Position:
    if (start_time is None) == (cursor is None):
        raise ExportRequestError("Provide either start_time or cursor, but not both")
    if cursor is not None:
        return Position.decode(cursor)
    assert start_time is not None
    if not start_time.lstrip("-").isdigit():
        raise ExportRequestError("start_time must be a unix timestamp")
    if int(start_time) > now - 60:
        raise ExportRequestError("Too recent start_time. Use a start_time older than 1 minute")
    return Position.at_start_time(int(start_time))


def page(
    tickets: Iterable[Ticket], after: Position, per_page: int, now: int, hold_back: int = 60
) -> ExportPage:
    """The next ``per_page`` tickets after ``after``, leaving out the last ``hold_back`` seconds."""
    horizon = now - hold_back
    ordered = sorted(
        (Position(generated_timestamp(t), t.id), t)
        for t in tickets
        if after < Position(generated_timestamp(t), t.id) and generated_timestamp(t) <= horizon
    )
    chosen = ordered[:per_page]
    last = chosen[-1][0] if chosen else after
    return ExportPage([t for _, t in chosen], last, end_of_stream=len(ordered) <= per_page)
