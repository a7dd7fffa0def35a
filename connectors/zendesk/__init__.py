"""Zendesk Support: ticket export, NPS tags/fields on users and open tickets, follow-up tickets.

Build one :class:`ZendeskClient` per run and hand it to the adapters; nothing here reads the
configuration (``jobs/bootstrap.py`` maps settings to these plain arguments).
"""

from connectors.zendesk.client import ZendeskClient
from connectors.zendesk.followup import FollowupTicket, ZendeskFollowupDesk
from connectors.zendesk.setup import SetupReport, ensure_user_fields
from connectors.zendesk.ticket_tags import ZendeskTicketTagger
from connectors.zendesk.tickets import ZendeskTicketSource
from connectors.zendesk.users import UserDirectory, ZendeskTagWriter

__all__ = [
    "FollowupTicket",
    "SetupReport",
    "UserDirectory",
    "ZendeskClient",
    "ZendeskFollowupDesk",
    "ZendeskTagWriter",
    "ZendeskTicketSource",
    "ZendeskTicketTagger",
    "ensure_user_fields",
]
