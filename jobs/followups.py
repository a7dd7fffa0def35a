"""Detractor follow-up tickets: one per detractor response, never two, even across crashes.

``responses.followup_state`` moves ``None -> creating -> created`` (or ``failed`` when Zendesk
refuses the ticket for good). ``creating`` is committed *before* the API call. A row found in
``creating`` later means the outcome is unknown (crash, timeout, 5xx after the POST): it is
reconciled by looking the ticket up by its ``external_id`` (``nps-response-<store>-<id>``) and
only created when Zendesk has no such ticket. Claiming a row is a conditional update, so two
workers never both create.

Only fresh answers get a ticket: imported history does not, nor answers older than
``max_age_days``; an answer is left ``settle_minutes`` to gain its comment (the score is recorded
on click, the comment a minute later).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from connectors.errors import PermanentError, TransientError
from nps_engine.config.settings import FollowUpSettings
from nps_engine.ports import FollowupDesk, FollowupTicket
from nps_engine.store import models
from nps_engine.store.database import Database
from nps_engine.store.followup_facts import FollowupFacts, followup_facts
from nps_engine.store.support import zendesk_user_id

DETRACTOR_MAX_SCORE = 6
CREATING, CREATED, FAILED = "creating", "created", "failed"


@dataclass
class FollowupSummary:
    created: int = 0
    recovered: int = 0  # found already created after an interrupted run
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    stopped: str | None = None

    def counts(self) -> dict[str, int]:
        return {
            "followups_created": self.created,
            "followups_recovered": self.recovered,
            "followups_failed": self.failed,
        }


def external_id(store_id: str, response_id: int) -> str:
    return f"nps-response-{store_id}-{response_id}"


def open_followups(
    database: Database,
    store_id: str,
    desk: FollowupDesk,
    now: datetime,
    settings: FollowUpSettings,
    *,
    max_age_days: int = 14,
    settle_minutes: int = 10,
    support_window_days: int = 90,
) -> FollowupSummary:
    """Reconcile interrupted follow-ups, then open one for each due detractor answer."""
    run = _FollowupRun(database, store_id, desk, settings, support_window_days)
    if not settings.enabled:
        return run.summary
    try:
        for response_id in run.stuck():
            run.reconcile(response_id)
        for response_id in run.due(now, max_age_days, settle_minutes):
            if run.claim(response_id):
                run.create(response_id)
    except TransientError as error:
        # Rows left in ``creating`` are reconciled by the next run; nothing is created twice.
        run.summary.stopped = str(error)
    return run.summary


@dataclass
class _FollowupRun:
    database: Database
    store_id: str
    desk: FollowupDesk
    settings: FollowUpSettings
    window_days: int
    summary: FollowupSummary = field(default_factory=FollowupSummary)

    def stuck(self) -> Sequence[int]:
        r = models.Response
        with self.database.session() as session:
            return session.scalars(
                select(r.id).where(r.store == self.store_id, r.followup_state == CREATING)
            ).all()

    def due(self, now: datetime, max_age_days: int, settle_minutes: int) -> Sequence[int]:
        r = models.Response
        with self.database.session() as session:
            return session.scalars(
                select(r.id)
                .where(r.store == self.store_id, r.score <= DETRACTOR_MAX_SCORE)
                .where(r.email.is_not(None), r.source != "import")
                .where(or_(r.followup_state.is_(None), r.followup_state == "pending"))
                .where(r.responded_at >= now - timedelta(days=max_age_days))
                .where(r.updated_at <= now - timedelta(minutes=settle_minutes))
                .order_by(r.id)
            ).all()

    def claim(self, response_id: int) -> bool:
        """Mark the row ``creating`` and commit, unless another worker got there first."""
        r = models.Response
        with self.database.session() as session:
            result = session.execute(
                update(r)
                .where(r.store == self.store_id, r.id == response_id)
                .where(or_(r.followup_state.is_(None), r.followup_state == "pending"))
                .values(followup_state=CREATING)
            )
            return bool(getattr(result, "rowcount", 0))

    def reconcile(self, response_id: int) -> None:
        """A row left ``creating``: adopt the ticket if Zendesk has it, else create it now."""
        ticket_id = self.desk.find_followup(external_id(self.store_id, response_id))
        if ticket_id is None:
            self.create(response_id)
            return
        self.finish(response_id, CREATED, ticket_id)
        self.summary.recovered += 1

    def create(self, response_id: int) -> None:
        ticket = self.ticket_for(response_id)
        try:
            ticket_id = self.desk.create_followup(ticket)
        except PermanentError as error:
            self.finish(response_id, FAILED, None)
            self.summary.failed += 1
            self.summary.errors.append(f"response {response_id}: {error}")
            return
        self.finish(response_id, CREATED, ticket_id)
        self.summary.created += 1

    def ticket_for(self, response_id: int) -> FollowupTicket:
        with self.database.session() as session:
            facts = followup_facts(
                session, self.store_id, response_id, self.window_days, self.settings.tags
            )
            requester = (
                zendesk_user_id(session, self.store_id, facts.customer_id)
                if facts.customer_id is not None
                else None
            )
        if requester is None:
            requester = self.desk.requester_id(facts.email)
        ext_id = external_id(self.store_id, response_id)
        return followup_ticket(ext_id, facts, requester, self.settings)

    def finish(self, response_id: int, state: str, ticket_id: int | None) -> None:
        r = models.Response
        with self.database.session() as session:
            session.execute(
                update(r)
                .where(r.store == self.store_id, r.id == response_id)
                .values(followup_state=state, followup_ticket_id=ticket_id)
            )


def followup_ticket(
    ext_id: str, facts: FollowupFacts, requester_id: int | None, settings: FollowUpSettings
) -> FollowupTicket:
    name = facts.customer_name or "A customer"
    return FollowupTicket(
        external_id=ext_id,
        requester_email=facts.email,
        requester_name=facts.customer_name,
        requester_id=requester_id,
        subject=followup_subject(settings.subject, name, facts),
        note=followup_note(facts),
        tags=settings.tags,
        group_id=settings.group_id,
        assignee_id=settings.assignee_id,
    )


def followup_subject(template: str, name: str, facts: FollowupFacts) -> str:
    """``zendesk.followup.subject`` with ``{name}``, ``{score}`` and ``{order}`` filled in; an
    unknown placeholder is left as written rather than failing the run."""
    values = {"name": name, "score": facts.score, "order": facts.order_name or ""}
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return template


def followup_note(facts: FollowupFacts) -> str:
    """The internal note agents read first: the answer and what we know around it.

    The customer's comment comes last, every line of it quoted with "> ": a comment holding
    "Returned or refunded: yes" on a line of its own cannot pass for one of our facts.
    """
    order = facts.order_name or "(not linked to an order)"
    returned = "yes" if facts.returned else "no"
    if facts.support_tickets:
        support = f"yes, {facts.support_tickets} ticket(s) in the {facts.window_days} days before"
    else:
        support = f"no ticket in the {facts.window_days} days before"
    return "\n".join(
        [
            "NPS detractor follow-up (internal note: the customer does not see this).",
            "",
            f"Score: {facts.score}/10 (detractor)",
            f"Answered: {facts.responded_at:%Y-%m-%d %H:%M} UTC",
            f"Order: {order}",
            f"Returned or refunded: {returned}",
            f"Contacted support: {support}",
            *_quoted_comment(facts.comment),
        ]
    )


def _quoted_comment(comment: str | None) -> list[str]:
    text = (comment or "").strip()
    if not text:
        return ["Comment: (none)"]
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return ["Comment (the customer's words):", *(f"> {line}".rstrip() for line in lines)]
