"""Who may sign in to ``/admin``, and the browsers that are signed in.

Passwords are hashed with argon2id (argon2-cffi's defaults follow RFC 9106's second recommended
profile). A one-time sign-in link and a session cookie are random tokens of which only a SHA-256
is stored: they are long and random, so a fast hash is enough, and a stolen database copy holds
nothing that lets anyone in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select

from nps_engine.records import normalise_email
from nps_engine.store.database import Database
from nps_engine.store.models import DashboardSession, DashboardUser

ROLES = ("owner", "viewer")
_hasher = PasswordHasher()
# Compared against when the account does not exist, so a wrong email costs what a wrong password
# costs and timing does not tell which accounts exist.
_DUMMY_HASH = _hasher.hash("not a password")


@dataclass(frozen=True, slots=True)
class SignedIn:
    user_id: int
    email: str
    role: str
    csrf_token: str
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(
    database: Database,
    store: str,
    email: str,
    role: str,
    now: datetime,
    *,
    password: str | None = None,
    link_valid: timedelta | None = None,
) -> str | None:
    """Create (or update the role and password of) a user; returns a one-time sign-in token
    when ``link_valid`` is given."""
    address = normalise_email(email)
    if address is None or "@" not in address:
        raise ValueError(f"'{email}' is not an email address")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not '{role}'")
    token = secrets.token_urlsafe(32) if link_valid is not None else None
    with database.session() as session:
        user = session.scalars(
            select(DashboardUser).where(
                DashboardUser.store == store, DashboardUser.email == address
            )
        ).one_or_none()
        if user is None:
            user = DashboardUser(store=store, email=address, role=role, created_at=now)
            session.add(user)
        user.role = role
        if password is not None:
            user.password_hash = _hasher.hash(password)
        if token is not None and link_valid is not None:
            user.sign_in_token_hash = token_hash(token)
            user.sign_in_token_expires_at = now + link_valid
    return token


def check_password(database: Database, store: str, email: str, password: str) -> int | None:
    """The user's id when ``password`` is theirs, else None."""
    address = normalise_email(email) or ""
    with database.session() as session:
        user = session.scalars(
            select(DashboardUser).where(
                DashboardUser.store == store, DashboardUser.email == address
            )
        ).one_or_none()
        stored = user.password_hash if user is not None and user.password_hash else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None or not user.password_hash:
            return None
        if _hasher.check_needs_rehash(stored):
            user.password_hash = _hasher.hash(password)
        return user.id


def use_sign_in_link(database: Database, store: str, token: str, now: datetime) -> int | None:
    """The user of a one-time link (which stops working at once), or None."""
    with database.session() as session:
        user = session.scalars(
            select(DashboardUser).where(
                DashboardUser.store == store,
                DashboardUser.sign_in_token_hash == token_hash(token),
            )
        ).one_or_none()
        if user is None or user.sign_in_token_expires_at is None:
            return None
        valid = user.sign_in_token_expires_at > now
        user.sign_in_token_hash = None
        user.sign_in_token_expires_at = None
        return user.id if valid else None


def start_session(
    database: Database, store: str, user_id: int, now: datetime, lifetime: timedelta
) -> str:
    """A new session for ``user_id``; returns the cookie value."""
    token = secrets.token_urlsafe(32)
    with database.session() as session:
        session.execute(
            delete(DashboardSession).where(
                DashboardSession.store == store, DashboardSession.expires_at <= now
            )
        )
        session.add(
            DashboardSession(
                token_hash=token_hash(token), store=store, user_id=user_id,
                csrf_token=secrets.token_urlsafe(24), created_at=now, expires_at=now + lifetime,
            )
        )  # fmt: skip
        user = session.get_one(DashboardUser, user_id)
        user.last_sign_in_at = now
    return token


def session_user(database: Database, store: str, token: str, now: datetime) -> SignedIn | None:
    # Every dashboard request asks: one plain read (``Database.reads``), no ORM session and
    # no transaction to open and commit around it.
    query = (
        select(
            DashboardUser.id,
            DashboardUser.email,
            DashboardUser.role,
            DashboardSession.csrf_token,
            DashboardSession.expires_at,
        )
        .join(DashboardUser, DashboardUser.id == DashboardSession.user_id)
        .where(DashboardSession.token_hash == token_hash(token))
        .where(DashboardSession.store == store, DashboardSession.expires_at > now)
    )
    with database.reads.connect() as connection:
        row = connection.execute(query).one_or_none()
    return None if row is None else SignedIn(*row)


def store_role(database: Database, store: str, email: str) -> str | None:
    """The role of the account with this email in ``store`` (None: no account there). A person
    signed in to one store's dashboard opens another store's only with an account there, and
    with that account's role (``nps users add EMAIL --store ID``)."""
    address = normalise_email(email) or ""
    query = select(DashboardUser.role).where(
        DashboardUser.store == store, DashboardUser.email == address
    )
    with database.session() as session:
        return session.scalars(query).one_or_none()


def end_session(database: Database, token: str) -> None:
    with database.session() as session:
        session.execute(
            delete(DashboardSession).where(DashboardSession.token_hash == token_hash(token))
        )
