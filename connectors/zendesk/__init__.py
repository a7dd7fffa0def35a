"""Zendesk Support: ticket export, NPS tags/fields on users and open tickets, follow-up tickets.

Build one :class:`ZendeskClient` per run and hand it to the adapters; nothing here reads the
configuration (``jobs/bootstrap.py`` maps settings to these plain arguments).
"""

from connectors.zendesk.client import ZendeskClient
from connectors.zendesk.followup import ZendeskFollowupDesk
from connectors.zendesk.tag_writer import ZendeskTagWriter
from connectors.zendesk.ticket_tags import ZendeskTicketTagger
from connectors.zendesk.tickets import ZendeskTicketSource
from connectors.zendesk.user_fields import SetupReport, ensure_user_fields

__all__ = [
    "SetupReport",
    "ZendeskClient",
    "ZendeskFollowupDesk",
    "ZendeskTagWriter",
    "ZendeskTicketSource",
    "ZendeskTicketTagger",
    "ensure_user_fields",
]
