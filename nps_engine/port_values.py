"""The small values the ports of ``nps_engine.ports`` speak in, besides the records.

Kept apart from the Protocols so each module stays one noun; ``nps_engine.ports`` re-exports them,
so ``from nps_engine.ports import TagChange`` is how callers name them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from nps_engine.records import Ticket, ZendeskUser

# Defined with the other fixed words (nps status reads it without building these dataclasses).
from nps_engine.vocabulary import NO_ZENDESK_USER as NO_ZENDESK_USER


@dataclass(frozen=True, slots=True)
class TicketPage:
    tickets: Sequence[Ticket]
    users: Sequence[ZendeskUser]
    # Where the next export starts; saved only once this page is committed.
    after_cursor: str | None
    end_of_stream: bool


@dataclass(frozen=True, slots=True)
class TagChange:
    """What one customer's tags (and, in Zendesk, user fields) must become in one system."""

    customer_id: int
    email: str | None
    add: tuple[str, ...]
    remove: tuple[str, ...]
    desired: tuple[str, ...]
    fields: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PushOutcome:
    customer_id: int
    ok: bool
    error: str | None = None
    # False when the error will not go away by itself (e.g. "Customer does not exist").
    retryable: bool = True
    # Nothing to write to in this system (a customer who never contacted support has no Zendesk
    # user): not a failure, and not worth asking again until something changes.
    skipped: bool = False


@dataclass(frozen=True, slots=True)
class SurveyEmail:
    invite_id: int
    to: str
    subject: str
    text: str
    html: str
    headers: Mapping[str, str]
    message_id: str


@dataclass(frozen=True, slots=True)
class SendResult:
    ok: bool
    # True for a permanent refusal of this address (5xx on RCPT): suppress it.
    bounced: bool = False
    error: str | None = None


@dataclass(frozen=True, slots=True)
class FollowupTicket:
    """A detractor follow-up ticket, findable again by its ``external_id``."""

    external_id: str
    requester_email: str
    requester_name: str | None
    subject: str
    note: str
    tags: tuple[str, ...] = ()
    requester_id: int | None = None
    group_id: int | None = None
    assignee_id: int | None = None


@dataclass(frozen=True, slots=True)
class PromoterCode:
    """A single-use discount code thanking one promoter, findable again by its ``code``."""

    code: str
    customer_id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    percentage: Decimal | None = None  # exactly one of percentage and fixed_amount
    fixed_amount: Decimal | None = None
    minimum_order: Decimal | None = None
