"""What the store owner's workspace keeps: dashboard users and their sessions, detractor alerts,
and comment themes. Part of the same schema as ``nps_engine.store.models`` (which re-exports
these classes), kept apart so each module stays readable."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from nps_engine.store.models import Base
from nps_engine.store.types import AutoId, StoreKey


class DashboardUser(Base):
    """Someone who may sign in to ``/admin``: ``owner`` sees everything, ``viewer`` sees answers
    with masked emails. ``password_hash`` is argon2id; ``sign_in_token_hash`` is the SHA-256 of a
    one-time sign-in link (the link itself is only ever printed)."""

    __tablename__ = "dashboard_users"
    __table_args__ = (UniqueConstraint("store", "email"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True)
    store: Mapped[str] = mapped_column(StoreKey)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    sign_in_token_hash: Mapped[str | None] = mapped_column(String(64))
    sign_in_token_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    last_sign_in_at: Mapped[datetime | None]


class DashboardSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so a
    copy of the database does not let anyone in. Signing out deletes the row."""

    __tablename__ = "dashboard_sessions"
    __table_args__ = (Index(None, "store", "user_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    store: Mapped[str] = mapped_column(StoreKey)
    user_id: Mapped[int] = mapped_column(BigInteger)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class Alert(Base):
    """One alert to one channel (``email`` or ``webhook``) about one answer (``subject``
    ``response:<id>``) or one day's digest (``digest:<YYYY-MM-DD>``).

    ``state``: due -> sending -> sent | failed (a lasting refusal). ``sending`` is committed
    before the message leaves; a row left ``sending`` by a crash is never re-sent blindly (see
    ``jobs/alerts.py``). The unique key makes the claim: one alert per subject and channel, ever.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("store", "channel", "subject"),
        Index(None, "store", "state"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True)
    store: Mapped[str] = mapped_column(StoreKey)
    channel: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(64))
    response_id: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sending_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]


class CommentTheme(Base):
    """One commented answer's cached embedding and its theme (docs/themes.md).

    ``text_hash`` tells a re-submitted comment from the cached one; ``assigned_at`` is None until
    the comment is assigned, and ``theme_id`` None after that means "other".
    """

    __tablename__ = "comment_themes"
    __table_args__ = (Index(None, "store", "theme_id"),)

    store: Mapped[str] = mapped_column(StoreKey, primary_key=True)
    response_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    embedder: Mapped[str] = mapped_column(String(64))
    text_hash: Mapped[str] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(8))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    theme_id: Mapped[int | None] = mapped_column(Integer)
    similarity: Mapped[float | None] = mapped_column(Float)
    assigned_at: Mapped[datetime | None]


class Theme(Base):
    """A theme with an id that outlives recomputes; ``position`` is its centroid's row in the
    current model (None once no recompute finds it again). The owner's ``renamed_to`` and
    ``merged_into`` ride on the id."""

    __tablename__ = "themes"

    store: Mapped[str] = mapped_column(StoreKey, primary_key=True)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    label: Mapped[str] = mapped_column(String(120))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int | None] = mapped_column(Integer)
    renamed_to: Mapped[str | None] = mapped_column(String(120))
    merged_into: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ThemeModel(Base):
    """The store's current theme model: centring means, centroids and cutoffs (numpy ``.npz``)."""

    __tablename__ = "theme_models"

    store: Mapped[str] = mapped_column(StoreKey, primary_key=True)
    embedder: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[bytes] = mapped_column(LargeBinary)
    comments: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime]
