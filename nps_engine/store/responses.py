"""Answers to survey invites: one response per invite, a later POST updates it.

The page's script POSTs the score as soon as the page opens, then the form POSTs score and comment;
both land on the same row (a unique key on ``(store, invite_id)`` and an insert-or-update), so a
double click, a back button or two tabs never make two answers. ``responded_at`` is the first
answer; ``updated_at`` the latest change.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

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
    statement = _answer_upsert(session.get_bind().dialect.name, keep_comment=cleaned is None)
    parameters = {
        "store": invite.store,
        "invite_id": invite.id,
        "kind": invite.kind,
        "customer_id": invite.customer_id,
        "email": invite.email,
        "order_id": invite.order_id,
        "score": value,
        "comment": cleaned or None,
        "now": now,
    }
    response_id, stored_comment = session.execute(statement, parameters).one()
    return RecordedAnswer(response_id, value, category_of(value), stored_comment)


@functools.cache
def _answer_upsert(dialect: str, *, keep_comment: bool) -> ReturningInsert[int, str | None]:
    """Insert-or-update of one answer, built once per dialect: building the statement costs more
    CPU than running it, and the answer POST is the web app's hot path."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = bindparam("now", type_=Response.__table__.c.updated_at.type)
    statement = insert(Response).values(
        store=bindparam("store"),
        invite_id=bindparam("invite_id"),
        source="survey",
        kind=bindparam("kind"),
        customer_id=bindparam("customer_id"),
        email=bindparam("email"),
        order_id=bindparam("order_id"),
        score=bindparam("score"),
        comment=bindparam("comment"),
        responded_at=now,
        updated_at=now,
    )
    changes: dict[str, object] = {"score": statement.excluded.score, "updated_at": now}
    if not keep_comment:
        changes["comment"] = statement.excluded.comment
    return statement.on_conflict_do_update(
        index_elements=["store", "invite_id"], set_=changes
    ).returning(Response.id, Response.comment)


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
