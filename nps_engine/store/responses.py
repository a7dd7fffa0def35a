"""Answers to survey invites: one response per invite, a later POST updates it.

The page's script POSTs the score as soon as the page opens, then the form POSTs score and comment;
both land on the same row (a unique key on ``(store, invite_id)`` and an insert-or-update), so a
double click, a back button or two tabs never make two answers. ``responded_at`` is the first
answer; ``updated_at`` the latest change.

This is the web app's hot path, so it is SQLAlchemy Core on a plain connection, never the ORM:
each statement is built once per dialect (building one costs more CPU than running it) and an
answer is ONE statement, an ``INSERT ... SELECT FROM invites ... ON CONFLICT DO UPDATE RETURNING``
that finds the invite, copies what the answer keeps of it and stores the score in one go; no row
back means no such invite.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, Text, and_, bindparam, cast, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.sql.selectable import Select
from sqlalchemy.types import TypeEngine

from nps_engine.records import Category
from nps_engine.scoring import category_of
from nps_engine.store.models import Invite, Response
from nps_engine.store.types import UtcDateTime

MAX_COMMENT_CHARS = 5000


@dataclass(frozen=True, slots=True)
class RecordedAnswer:
    response_id: int
    score: int
    category: Category
    comment: str | None


@dataclass(frozen=True, slots=True)
class InvitePage:
    """What the answer page needs of an invite: its language and the comment already given."""

    invite_id: int
    locale: str | None
    comment: str | None


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer to store: ``comment`` None keeps the stored comment (the script's score-only
    POST); an empty string clears it."""

    store: str
    invite_id: int
    score: int
    comment: str | None
    now: datetime

    def parameters(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "invite_id": self.invite_id,
            "score": self.score,
            "comment": self.comment or None,
            "now": self.now,
        }


def cleaned_comment(comment: str | None) -> str | None:
    return None if comment is None else (comment.strip()[:MAX_COMMENT_CHARS] or "")


def record_answers(
    connection: Connection, answers: Sequence[Answer]
) -> list[RecordedAnswer | None]:
    """Store or update each answer (in the caller's transaction); None for an unknown invite."""
    dialect = connection.dialect.name
    recorded: list[RecordedAnswer | None] = []
    for answer in answers:
        statement = _answer_upsert(dialect, keep_comment=answer.comment is None)
        row = connection.execute(statement, answer.parameters()).first()
        recorded.append(
            None
            if row is None
            else RecordedAnswer(row[0], answer.score, category_of(answer.score), row[1])
        )
    return recorded


def invite_page(connection: Connection, store: str, invite_id: int) -> InvitePage | None:
    """The invite's language and its answer's comment, in one read; None for no such invite."""
    row = connection.execute(_invite_page(), {"store": store, "invite_id": invite_id}).first()
    return None if row is None else InvitePage(row[0], row[1], row[2])


@functools.cache
def _invite_page() -> Select[tuple[int, str | None, str | None]]:
    answer = and_(Response.store == Invite.store, Response.invite_id == Invite.id)
    return (
        select(Invite.id, Invite.locale, Response.comment)
        .outerjoin(Response, answer)
        .where(Invite.store == bindparam("store"), Invite.id == bindparam("invite_id"))
    )


def _typed(dialect: str, name: str, type_: TypeEngine[Any]) -> ColumnElement[Any]:
    """A parameter in a SELECT list: PostgreSQL must be told its type; on SQLite a CAST would
    change the value (``CAST('2026-...' AS DATETIME)`` is the number 2026)."""
    parameter = bindparam(name, type_=type_)
    return cast(parameter, type_) if dialect == "postgresql" else parameter


@functools.cache
def _answer_upsert(dialect: str, *, keep_comment: bool) -> ReturningInsert[tuple[int, str | None]]:
    """Insert-or-update of one answer from its invite, built once per dialect and variant."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = _typed(dialect, "now", UtcDateTime())
    from_invite = select(
        Invite.store,
        Invite.id,
        literal("survey"),
        Invite.kind,
        Invite.customer_id,
        Invite.email,
        Invite.order_id,
        _typed(dialect, "score", Integer()),
        _typed(dialect, "comment", Text()),
        now,
        now,
    ).where(Invite.store == bindparam("store"), Invite.id == bindparam("invite_id"))
    columns = ["store", "invite_id", "source", "kind", "customer_id", "email", "order_id"]
    columns += ["score", "comment", "responded_at", "updated_at"]
    statement = insert(Response).from_select(columns, from_invite)
    changes: dict[str, object] = {
        "score": statement.excluded.score,
        "updated_at": statement.excluded.updated_at,
    }
    if not keep_comment:
        changes["comment"] = statement.excluded.comment
    return statement.on_conflict_do_update(
        index_elements=["store", "invite_id"], set_=changes
    ).returning(Response.id, Response.comment)


def count_answers(session: Session, store: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Response)
            .where(Response.store == store, Response.invite_id.is_not(None))
        )
        or 0
    )
