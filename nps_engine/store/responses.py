"""Answers to survey invites: one response per invite, a later POST updates it.

The page's script POSTs the score as soon as the page opens, then the form POSTs score and comment;
both land on the same row (a unique key on ``(store, invite_id)`` and an insert-or-update), so a
double click, a back button or two tabs never make two answers. ``responded_at`` is the first
answer; ``updated_at`` the latest change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from nps_engine.records import Category
from nps_engine.scoring import category_of, parse_score
from nps_engine.store.models import Invite, Response

MAX_COMMENT_CHARS = 5000


@dataclass(frozen=True, slots=True)
class RecordedAnswer:
    response_id: int
    score: int
    category: Category
    comment: str | None


def record_answer(
    session: Session,
    invite: Invite,
    score: object,
    comment: str | None,
    now: datetime,
) -> RecordedAnswer:
    """Store or update the answer to ``invite``.

    ``comment`` None keeps the comment already stored (the script's score-only POST); an empty
    string clears it. Raises :class:`~nps_engine.scoring.InvalidScore` for anything but 0-10.
    """
    value = parse_score(score)
    cleaned = None if comment is None else (comment.strip()[:MAX_COMMENT_CHARS] or "")
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(Response).values(
        store=invite.store,
        invite_id=invite.id,
        source="survey",
        kind=invite.kind,
        customer_id=invite.customer_id,
        email=invite.email,
        order_id=invite.order_id,
        score=value,
        comment=cleaned or None,
        responded_at=now,
        updated_at=now,
    )
    changes: dict[str, object] = {"score": statement.excluded.score, "updated_at": now}
    if cleaned is not None:
        changes["comment"] = statement.excluded.comment
    upsert = statement.on_conflict_do_update(
        index_elements=["store", "invite_id"], set_=changes
    ).returning(Response.id, Response.comment)
    response_id, stored_comment = session.execute(upsert).one()
    return RecordedAnswer(response_id, value, category_of(value), stored_comment)


def answer_to(session: Session, invite: Invite) -> Response | None:
    return session.scalars(
        select(Response).where(Response.store == invite.store, Response.invite_id == invite.id)
    ).one_or_none()


def count_answers(session: Session, store: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Response)
            .where(Response.store == store, Response.invite_id.is_not(None))
        )
        or 0
    )
