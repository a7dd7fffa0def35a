"""Tags onto one ticket, additively: ``PUT /api/v2/tickets/{id}/tags`` (``POST`` would replace
them). Used by the ``ticket.created`` webhook, which tags a brand-new ticket with its requester's
NPS tags; the Add Tags endpoint cannot change closed tickets, which new ones never are."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.zendesk.client import ZendeskClient


class ZendeskTicketTagger:
    def __init__(self, client: ZendeskClient) -> None:
        self._client = client

    def add_ticket_tags(self, ticket_id: int, tags: Sequence[str]) -> None:
        path, payload = f"tickets/{ticket_id}/tags.json", {"tags": list(tags)}
        self._client.call(
            "tag new ticket", lambda _z: self._client.send("PUT", path, payload=payload)
        )
