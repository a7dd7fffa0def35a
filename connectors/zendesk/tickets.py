"""Tickets through the cursor-based Incremental Ticket Export, page by page.

https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/

* Cursor mode, not time-based: time-based pages can loop forever when more than a page of tickets
  shares one ``generated_timestamp`` (zenpy #451).
* ``include=users`` sideloads the requesters, so their email comes with the page: no call per user.
* Each page is requested with our own URL-encoded ``cursor``: zenpy puts the cursor in the URL
  as-is, so a ``+`` in it would reach Zendesk as a space. ``per_page`` is passed on every page
  (zenpy drops it on cursor requests).
* ``end_of_stream: true`` still carries an ``after_cursor``: the place the next run starts.
* The endpoint allows 10 requests a minute (admins only): zenpy waits out the 429s within the
  client's budget, then :class:`ZendeskRateLimited` ends the run with the saved cursor intact.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from connectors.zendesk.client import ZendeskClient
from connectors.zendesk.errors import ZendeskRequestRejected
from nps_engine.ports import TicketPage
from nps_engine.records import Ticket, ZendeskUser, normalise_email

EXPORT_PATH = "incremental/tickets/cursor.json"
MAX_PER_PAGE = 1000


class ZendeskTicketSource:
    """``TicketSource`` over a :class:`ZendeskClient`."""

    def __init__(self, client: ZendeskClient, *, per_page: int = MAX_PER_PAGE) -> None:
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be 1..{MAX_PER_PAGE}, not {per_page}")
        self._client = client
        self._per_page = per_page

    def ticket_pages(self, cursor: str | None, start_time: datetime) -> Iterator[TicketPage]:
        """Pages from ``cursor`` (or ``start_time`` when there is none) to the end of the stream.

        Pages are fetched lazily: the caller commits one before the next is requested.
        """
        params = self._first_params(cursor, start_time)
        while True:
            page = page_from_json(self._fetch(params))
            yield page
            if page.end_of_stream or not page.after_cursor:
                return
            params = self._params(cursor=page.after_cursor)

    def _fetch(self, params: Mapping[str, str]) -> Any:
        return self._client.call(
            "export tickets", lambda _z: self._client.send("GET", EXPORT_PATH, params=params)
        )

    def _first_params(self, cursor: str | None, start_time: datetime) -> dict[str, str]:
        if cursor:
            return self._params(cursor=cursor)
        if start_time.tzinfo is None:
            raise ValueError("start_time must be timezone-aware")
        return self._params(start_time=str(int(start_time.timestamp())))

    def _params(self, **position: str) -> dict[str, str]:
        return {**position, "include": "users", "per_page": str(self._per_page)}


def page_from_json(body: Any) -> TicketPage:
    """One export page as records. A page that is not the documented shape is refused whole,
    naming what is missing, so its cursor is never saved past tickets we did not read."""
    if not isinstance(body, Mapping) or not isinstance(body.get("tickets"), list):
        raise ZendeskRequestRejected("export tickets: the page has no 'tickets' list")
    users = [user_from_json(raw) for raw in body.get("users") or []]
    emails = {user.id: user.email for user in users}
    tickets = [ticket_from_json(raw, emails) for raw in body["tickets"]]
    cursor = body.get("after_cursor")
    return TicketPage(
        tickets=tickets,
        users=users,
        after_cursor=str(cursor) if cursor else None,
        end_of_stream=bool(body.get("end_of_stream")),
    )


def ticket_from_json(raw: Mapping[str, Any], emails: Mapping[int, str | None]) -> Ticket:
    try:
        requester_id = _optional_int(raw.get("requester_id"))
        via = raw.get("via") or {}
        return Ticket(
            id=int(raw["id"]),
            requester_id=requester_id,
            requester_email=emails.get(requester_id) if requester_id is not None else None,
            status=str(raw.get("status") or "new"),
            created_at=parse_time(raw["created_at"]),
            updated_at=parse_time(raw.get("updated_at") or raw["created_at"]),
            subject=raw.get("subject") or raw.get("raw_subject"),
            channel=via.get("channel") if isinstance(via, Mapping) else None,
            tags=tuple(str(tag) for tag in raw.get("tags") or ()),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ZendeskRequestRejected(
            f"export tickets: ticket {raw.get('id')!r} is malformed ({error!r})"
        ) from None


def user_from_json(raw: Mapping[str, Any]) -> ZendeskUser:
    try:
        return ZendeskUser(
            id=int(raw["id"]),
            email=normalise_email(raw.get("email")),
            name=raw.get("name"),
            tags=tuple(str(tag) for tag in raw.get("tags") or ()),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ZendeskRequestRejected(
            f"Zendesk user {raw.get('id')!r} is malformed ({error!r})"
        ) from None


def users_from_json(raws: Sequence[Mapping[str, Any]]) -> list[ZendeskUser]:
    return [user_from_json(raw) for raw in raws]


def parse_time(value: Any) -> datetime:
    """Zendesk's ISO 8601 ``...Z`` timestamps as aware datetimes; naive ones are refused."""
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no time zone")
    return parsed


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
