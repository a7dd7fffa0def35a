"""Answers to survey invites: one response per invite, a later POST updates it.

The page's script POSTs the score as soon as the page opens, then the form POSTs score and comment;
both land on the same row (a unique key on ``(store, invite_id)`` and an insert-or-update), so a
double click, a back button or two tabs never make two answers. ``responded_at`` is the first
answer; ``updated_at`` the latest change.

This is the web app's hot path, so it is SQLAlchemy Core compiled once (:mod:`prepared`) on the
driver's connection, never the ORM; an answer is ONE statement, an ``INSERT ... SELECT FROM
invites ... ON CONFLICT DO UPDATE RETURNING`` that finds the invite, copies what the answer keeps
of it and stores the score in one go; no row back means no such invite.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Text, and_, bindparam, cast, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.sql.selectable import Select
from sqlalchemy.types import TypeEngine

from nps_engine.records import Category
from nps_engine.scoring import category_of
from nps_engine.store.models import Invite, Response
from nps_engine.store.prepared import Prepared
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


class AnswerStatements:
    """The answer pages' statements, compiled once for one database's dialect."""

    def __init__(self, dialect: Dialect) -> None:
        name = dialect.name
        self.keep_comment = Prepared(_answer_upsert(name, keep_comment=True), dialect)
        self.new_comment = Prepared(_answer_upsert(name, keep_comment=False), dialect)
        self.page = Prepared(_invite_page(), dialect)

    def record(self, cursor: Any, answers: Sequence[Answer]) -> list[RecordedAnswer | None]:
        """Store or update each answer, in order (in the caller's transaction); None for an
        unknown invite. Consecutive answers of the same kind (with or without a comment) go
        together: one round trip on PostgreSQL."""
        recorded: list[RecordedAnswer | None] = []
        for upsert, run in self._runs(answers):
            rows = upsert.run_each(cursor, [a.parameters() for a in run])
            recorded += map(_recorded, run, rows)
        return recorded

    async def record_async(
        self, cursor: Any, answers: Sequence[Answer]
    ) -> list[RecordedAnswer | None]:
        """:meth:`record` on a psycopg ``AsyncCursor``."""
        recorded: list[RecordedAnswer | None] = []
        for upsert, run in self._runs(answers):
            rows = await upsert.run_each_async(cursor, [a.parameters() for a in run])
            recorded += map(_recorded, run, rows)
        return recorded

    def _runs(self, answers: Sequence[Answer]) -> Iterator[tuple[Prepared, Sequence[Answer]]]:
        """Consecutive answers of the same kind, with the statement that writes them."""
        start = 0
        while start < len(answers):
            keep = answers[start].comment is None
            end = start + 1
            while end < len(answers) and (answers[end].comment is None) is keep:
                end += 1
            yield (self.keep_comment if keep else self.new_comment), answers[start:end]
            start = end


def invite_page_of(rows: Sequence[tuple[Any, ...]]) -> InvitePage | None:
    """The invite's language and its answer's comment, from :attr:`AnswerStatements.page`'s
    rows; None: no such invite."""
    return InvitePage(*rows[0]) if rows else None


def _recorded(answer: Answer, rows: list[tuple[Any, ...]]) -> RecordedAnswer | None:
    score = answer.score
    return RecordedAnswer(rows[0][0], score, category_of(score), rows[0][1]) if rows else None


def _invite_page() -> Select[int, str | None, str | None]:
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


def _answer_upsert(dialect: str, *, keep_comment: bool) -> ReturningInsert[int, str | None]:
    """Insert-or-update of one answer from its invite."""
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
