"""The detractor follow-up ticket: one per response, findable again by its ``external_id``.

Created with ``POST /api/v2/tickets.json``; the first comment is an internal note
(``public: false``), so the customer is not emailed what we think of their score
(https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_comments/). The requester
is the customer's Zendesk user, or ``requester: {email, name}``, which makes Zendesk create the
user when there is none yet.

Creation is never retried blindly: a timeout or 5xx after the POST leaves the outcome unknown.
The caller marks the response ``creating`` first and, after any doubt, asks
:meth:`ZendeskFollowupDesk.find_followup` (List Tickets by ``external_id``, read from the
database, not the search index, so a ticket created a second ago is found) before creating again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.zendesk.client import ZendeskClient
from connectors.zendesk.errors import ZendeskRequestRejected
from connectors.zendesk.tag_writer import find_user_by_email
from nps_engine.ports import FollowupTicket


class ZendeskFollowupDesk:
    def __init__(self, client: ZendeskClient) -> None:
        self._client = client

    def requester_id(self, email: str) -> int | None:
        user = find_user_by_email(self._client, email)
        return user.id if user else None

    def find_followup(self, external_id: str) -> int | None:
        """The id of a ticket we already created with this ``external_id``, if any."""
        params = {"external_id": external_id}
        body = self._client.call(
            "find follow-up ticket",
            lambda _z: self._client.send("GET", "tickets.json", params=params),
        )
        for ticket in (body or {}).get("tickets") or ():
            if isinstance(ticket, Mapping) and ticket.get("external_id") == external_id:
                return int(ticket["id"])
        return None

    def create_followup(self, ticket: FollowupTicket) -> int:
        """Create the ticket once (no retry: see the module docstring); its new id."""
        payload = {"ticket": ticket_payload(ticket)}
        body = self._client.call(
            "create follow-up ticket",
            lambda _z: self._client.send("POST", "tickets.json", payload=payload),
            retry=False,
        )
        created = body.get("ticket") if isinstance(body, Mapping) else None
        if not isinstance(created, Mapping) or "id" not in created:
            raise ZendeskRequestRejected("create follow-up ticket: the answer has no ticket id")
        return int(created["id"])

    def add_note(self, ticket_id: int, note: str) -> None:
        """``PUT /api/v2/tickets/{id}.json`` with an internal comment (``public: false``); safe to
        retry: at worst the agent reads the same note twice."""
        payload = {"ticket": {"comment": {"body": note, "public": False}}}
        self._client.call(
            "add a note to the follow-up ticket",
            lambda _z: self._client.send("PUT", f"tickets/{ticket_id}.json", payload=payload),
        )


def ticket_payload(ticket: FollowupTicket) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "subject": ticket.subject,
        "external_id": ticket.external_id,
        "comment": {"body": ticket.note, "public": False},
        "tags": list(ticket.tags),
    }
    if ticket.requester_id is not None:
        payload["requester_id"] = ticket.requester_id
    else:
        requester = {"email": ticket.requester_email}
        if ticket.requester_name:
            requester["name"] = ticket.requester_name
        payload["requester"] = requester
    if ticket.group_id is not None:
        payload["group_id"] = ticket.group_id
    if ticket.assignee_id is not None:
        payload["assignee_id"] = ticket.assignee_id
    return payload
