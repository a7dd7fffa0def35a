"""Survey invites and their states: pending -> sending -> sent | failed | suppressed.

At most one email per invite, even if the process dies at any line:

- ``claim`` moves ``pending`` to ``sending`` and the caller COMMITS that before talking SMTP.
- After SMTP the caller records ``sent`` (or ``failed``/``suppressed``/back to ``pending`` when
  the server certainly refused the message) and commits.
- A crash between the SMTP conversation and that commit leaves the row in ``sending``: the
  message may or may not have gone. Such a row is never re-sent. ``settle_interrupted`` (run at
  the start of each send job) marks it ``failed`` with :data:`UNKNOWN_OUTCOME`, where
  ``nps status`` shows it to the operator; it still counts as mailed for throttling.

Transactional invites are unique per order (a database constraint), so one order gets one
survey however many workers race. Relationship invites have no order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from nps_engine.eligibility import DueSurvey, PastInvite, SentInvite
from nps_engine.records import InviteState, SurveyKind
from nps_engine.store.models import Invite, Response
from nps_engine.store.prepared import Prepared

UNKNOWN_OUTCOME = "unknown outcome: the process stopped while sending; not re-sent"
# Longer than one SMTP conversation with all its retries, so a live run is never settled.
SENDING_TIMEOUT = timedelta(minutes=15)
MAILED_STATES = (InviteState.SENDING.value, InviteState.SENT.value)
# Waiting to go out (the SMTP server was down): promised to the customer, so it throttles their
# next survey like a mailed one; withdrawn if it could not go while its order was still due.
PROMISED_STATES = (InviteState.PENDING.value, *MAILED_STATES)
WITHDRAWN = "withdrawn: could not be sent while the order was due"


def create_invites(
    session: Session, store: str, due: Sequence[DueSurvey], now: datetime
) -> list[Invite]:
    """Insert one pending invite per due survey; an order that already has one is skipped."""
    created: list[Invite] = []
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for survey in due:
        row = {
            "store": store,
            "kind": survey.kind.value,
            "order_id": survey.order.id if survey.order else None,
            "customer_id": survey.customer.id,
            "email": survey.email,
            "locale": survey.customer.locale,
            "state": InviteState.PENDING.value,
            "created_at": now,
        }
        # The new row comes back whole from the INSERT (no second SELECT per invite).
        statement = insert(Invite).values(row).on_conflict_do_nothing().returning(Invite)
        invite = session.scalars(statement).one_or_none()
        if invite is not None:
            created.append(invite)
    return created


def claim(session: Session, store: str, invite_id: int, now: datetime) -> bool:
    """``pending`` -> ``sending``; False when another worker got there first."""
    result = session.execute(
        update(Invite)
        .where(Invite.store == store, Invite.id == invite_id, Invite.state == InviteState.PENDING)
        .values(state=InviteState.SENDING.value, sending_at=now, error=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def finish(
    session: Session,
    store: str,
    invite_id: int,
    state: InviteState,
    now: datetime,
    *,
    message_id: str | None = None,
    error: str | None = None,
) -> None:
    """Record how a ``sending`` invite ended (``pending`` again when it certainly did not go)."""
    values: dict[str, object] = {"state": state.value, "error": error}
    if state is InviteState.SENT:
        values.update(sent_at=now, message_id=message_id)
    session.execute(
        update(Invite)
        .where(Invite.store == store, Invite.id == invite_id, Invite.state == InviteState.SENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def withdraw(session: Session, store: str, invite_id: int, reason: str) -> None:
    """``pending`` -> ``suppressed``: the address must not be mailed any more."""
    session.execute(
        update(Invite)
        .where(Invite.store == store, Invite.id == invite_id, Invite.state == InviteState.PENDING)
        .values(state=InviteState.SUPPRESSED.value, error=reason)
        .execution_options(synchronize_session=False)
    )


def settle_interrupted(session: Session, store: str, now: datetime) -> int:
    """Mark invites stuck in ``sending`` (a crash mid-send) failed, never to be re-sent."""
    result = session.execute(
        update(Invite)
        .where(
            Invite.store == store,
            Invite.state == InviteState.SENDING,
            Invite.sending_at < now - SENDING_TIMEOUT,
        )
        .values(state=InviteState.FAILED.value, error=UNKNOWN_OUTCOME)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def withdraw_stale(session: Session, store: str, created_before: datetime) -> int:
    """Pending invites created before ``created_before`` go ``failed`` unsent: a survey about a
    delivery weeks ago, after a long SMTP outage, is worse than none."""
    result = session.execute(
        update(Invite)
        .where(
            Invite.store == store,
            Invite.state == InviteState.PENDING,
            Invite.created_at < created_before,
        )
        .values(state=InviteState.FAILED.value, error=WITHDRAWN)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def pending_invites(session: Session, store: str, limit: int) -> list[Invite]:
    """Invites created but not sent yet (a crash before ``claim``, or a refused attempt)."""
    return list(
        session.scalars(
            select(Invite)
            .where(Invite.store == store, Invite.state == InviteState.PENDING)
            .order_by(Invite.created_at, Invite.id)
            .limit(limit)
        )
    )


def past_invites(
    session: Session, store: str, since: datetime, order_ids: Iterable[int] = ()
) -> list[PastInvite]:
    """Invites eligibility must know: created since ``since`` (throttle), or for these orders."""
    wanted = sorted(set(order_ids))
    rows: dict[int, Invite] = {}
    queries = [select(Invite).where(Invite.store == store, Invite.created_at >= since)]
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        queries.append(select(Invite).where(Invite.store == store, Invite.order_id.in_(chunk)))
    for query in queries:
        rows.update((invite.id, invite) for invite in session.scalars(query))
    return [_as_past(invite) for invite in rows.values()]


def _as_past(invite: Invite) -> PastInvite:
    mailed = invite.state in PROMISED_STATES or (
        invite.state == InviteState.FAILED and invite.error == UNKNOWN_OUTCOME
    )
    return PastInvite(
        kind=SurveyKind(invite.kind),
        order_id=invite.order_id,
        customer_id=invite.customer_id,
        email=invite.email,
        mailed_at=(invite.sent_at or invite.sending_at or invite.created_at) if mailed else None,
    )


def reminder_candidates(session: Session, store: str, sent_before: datetime) -> list[SentInvite]:
    """Sent, unanswered, not yet reminded invites sent before ``sent_before``."""
    answered = exists().where(Response.store == store, Response.invite_id == Invite.id)
    query = select(Invite).where(
        Invite.store == store,
        Invite.state == InviteState.SENT,
        Invite.reminder_sent_at.is_(None),
        Invite.sent_at <= sent_before,
        ~answered,
    )
    return [
        SentInvite(i.id, i.email, i.sent_at or i.created_at, answered=False, reminded=False)
        for i in session.scalars(query)
    ]


def claim_reminder(session: Session, store: str, invite_id: int, now: datetime) -> bool:
    """Record the reminder BEFORE sending it (committed by the caller): at most one, ever."""
    result = session.execute(
        update(Invite)
        .where(
            Invite.store == store,
            Invite.id == invite_id,
            Invite.reminder_sent_at.is_(None),
        )
        .values(reminder_sent_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def invite(session: Session, store: str, invite_id: int) -> Invite | None:
    found = session.get(Invite, invite_id)
    return found if found is not None and found.store == store else None


@dataclass(frozen=True, slots=True)
class InviteContact:
    """Who an invite went to, as the unsubscribe page needs it."""

    invite_id: int
    email: str
    locale: str | None


def contact_read(dialect: Dialect) -> Prepared:
    """One primary-key read, compiled once, for the unsubscribe page (no ORM): run it with
    ``store`` and ``invite_id`` and give the row to :func:`contact_of`."""
    statement = select(Invite.id, Invite.email, Invite.locale).where(
        Invite.store == bindparam("store"), Invite.id == bindparam("invite_id")
    )
    return Prepared(statement, dialect)


def contact_of(rows: Sequence[tuple[int, str, str | None]]) -> InviteContact | None:
    return InviteContact(*rows[0]) if rows else None
