"""The ``alerts`` table: which answers (or days) were alerted to which channel, and how it went.

A row is the claim: its unique key (store, channel, subject) means one alert per answer and
channel, ever, whichever worker or restart gets there first. ``state``: due -> sending -> sent;
``failed`` when the channel refused for good; ``unknown`` when the message may or may not have
left (a connection lost mid-send); a ``sending`` row found later was interrupted the same way.
Neither ``unknown`` nor an interrupted ``sending`` is ever re-sent: a duplicate alert is worse
than a missing one, and ``nps status`` shows both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.exc import IntegrityError

from nps_engine.alert_messages import AlertedAnswer
from nps_engine.response_filters import SCORE_RANGES
from nps_engine.store.database import Database
from nps_engine.store.models import Alert, Customer, Order, Response

DUE, SENDING, SENT, FAILED, UNKNOWN = "due", "sending", "sent", "failed", "unknown"
STATES = (DUE, SENDING, SENT, FAILED, UNKNOWN)


def answer_subject(response_id: int) -> str:
    return f"response:{response_id}"


def queue_answers(
    database: Database,
    store: str,
    channels: Sequence[str],
    categories: Sequence[str],
    now: datetime,
    *,
    settle: timedelta,
    max_age: timedelta,
) -> int:
    """Add a ``due`` row per channel for each fresh answer of ``categories`` that has settled
    (its comment came, or it has been quiet for ``settle``). Returns how many were added."""
    r = Response
    in_categories = or_(*(r.score.between(*SCORE_RANGES[c]) for c in categories))
    settled = or_(r.updated_at <= now - settle, and_(r.comment.is_not(None), r.comment != ""))
    added = 0
    for channel in channels:
        already = exists().where(
            Alert.store == store, Alert.channel == channel, Alert.response_id == r.id
        )
        with database.session() as session:
            found = session.scalars(
                select(r.id)
                .where(r.store == store, r.source != "import", in_categories, settled)
                .where(r.responded_at >= now - max_age, ~already)
                .order_by(r.id)
            ).all()
        for response_id in found:
            added += _claim_row(
                database, store, channel, answer_subject(response_id), response_id, now
            )
    return added


def queue_digest(database: Database, store: str, channel: str, day: str, now: datetime) -> bool:
    return bool(_claim_row(database, store, channel, f"digest:{day}", None, now))


def _claim_row(
    database: Database,
    store: str,
    channel: str,
    subject: str,
    response_id: int | None,
    now: datetime,
) -> int:
    try:
        with database.session() as session:
            session.add(
                Alert(
                    store=store,
                    channel=channel,
                    subject=subject,
                    state=DUE,
                    response_id=response_id,
                    attempts=0,
                    created_at=now,
                )
            )
    except IntegrityError:  # another worker queued it first
        return 0
    return 1


def due_alerts(database: Database, store: str) -> list[Alert]:
    with database.session() as session:
        return list(
            session.scalars(
                select(Alert).where(Alert.store == store, Alert.state == DUE).order_by(Alert.id)
            )
        )


def start_sending(database: Database, alert_id: int, now: datetime) -> bool:
    """``due`` -> ``sending``, committed before the message leaves; False if another worker
    took it."""
    with database.session() as session:
        result = session.execute(
            update(Alert)
            .where(Alert.id == alert_id, Alert.state == DUE)
            .values(state=SENDING, sending_at=now, attempts=Alert.attempts + 1)
        )
        return bool(getattr(result, "rowcount", 0))


def finish(database: Database, alert_id: int, state: str, now: datetime, error: str | None) -> None:
    values: dict[str, object] = {"state": state, "error": error}
    if state == SENT:
        values["sent_at"] = now
    with database.session() as session:
        session.execute(update(Alert).where(Alert.id == alert_id).values(**values))


def answer_of(database: Database, store: str, response_id: int) -> AlertedAnswer | None:
    with database.session() as session:
        response = session.get(Response, response_id)
        if response is None or response.store != store:
            return None
        customer = (
            session.get(Customer, (store, response.customer_id)) if response.customer_id else None
        )
        order = session.get(Order, (store, response.order_id)) if response.order_id else None
        name = None
        if customer is not None and customer.redacted_at is None:
            name = " ".join(p for p in (customer.first_name, customer.last_name) if p) or None
        return AlertedAnswer(
            response.id,
            response.score,
            response.comment,
            response.responded_at,
            response.email,
            name,
            order.name if order else None,
        )


def answers_between(
    database: Database, store: str, categories: Sequence[str], start: datetime, end: datetime
) -> list[AlertedAnswer]:
    """The answers of a digest's day, oldest first."""
    r = Response
    in_categories = or_(*(r.score.between(*SCORE_RANGES[c]) for c in categories))
    with database.session() as session:
        ids = session.scalars(
            select(r.id)
            .where(r.store == store, r.source != "import", in_categories)
            .where(r.responded_at >= start, r.responded_at < end)
            .order_by(r.responded_at, r.id)
        ).all()
    return [a for a in (answer_of(database, store, i) for i in ids) if a is not None]
