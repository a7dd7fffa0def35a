"""The privacy requests Shopify relays (mandatory for every app), applied to the store.

https://shopify.dev/docs/apps/build/compliance/privacy-law-compliance:

- ``customers/redact``: the customer's email and names are deleted everywhere we hold them
  (customer, orders, invites, answers, Zendesk users and tickets), their answers lose their
  comments and keep only the score and date, which the statistics still count anonymously. A
  hash of the address is kept in ``suppressions`` (reason ``redacted``), the one fact needed to
  never mail it again; ``customers.redacted_at`` stops a later Shopify sync, and the hash a later
  Zendesk sync (``store.support``), from bringing the PII back.
- ``shop/redact``: every row of the store, in every table, is deleted, except the record of what
  was erased (``erasures``) and the delivery ids already seen (no personal data in either; the
  ids keep a replayed delivery from being applied again).

Each redaction adds an ``erasures`` row: topic, whom (a Shopify id, never an address), how many
rows, when, and the delivery that asked.
- ``customers/data_request``: what we hold about the customer is written to a JSON file for the
  store owner to send on; the log names the file, never the address. The file is named after
  Shopify's ``data_request.id``: Shopify may deliver one request again under a new webhook id
  (its retries and the owner's "resend"), and the owner must find one file per request, not one
  per delivery.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, delete, false, or_, select, update
from sqlalchemy.orm import Session

from nps_engine.records import SuppressionReason, email_digest, normalise_email
from nps_engine.store import models
from nps_engine.store.suppressions import suppress

log = logging.getLogger(__name__)

PII_OF_CUSTOMER = ("email", "first_name", "last_name")


@dataclass(frozen=True, slots=True)
class Subject:
    """Whom a privacy request is about: the Shopify customer, their address, their orders."""

    customer_id: int
    email: str | None
    order_ids: tuple[int, ...] = ()

    def address(self, session: Session, store: str) -> str | None:
        if self.email:
            return normalise_email(self.email)
        return session.scalar(
            select(models.Customer.email).where(
                models.Customer.store == store, models.Customer.id == self.customer_id
            )
        )


# Kept by shop/redact: no personal data, and needed after it (see the module's docstring).
KEPT_BY_SHOP_REDACT = frozenset({"erasures", "webhook_events"})


def redact_customer(
    session: Session, store: str, subject: Subject, now: datetime, delivery_id: str | None = None
) -> int:
    """Blank the customer's personal data everywhere; the number of rows changed."""
    address = subject.address(session, store)
    changed = _redact_customer_row(session, store, subject.customer_id, now)
    # A comment's embedding is derived from the comment: it goes with it (comment themes).
    answers = select(models.Response.id).where(
        models.Response.store == store, _theirs(models.Response, subject, address)
    )
    session.execute(
        delete(models.CommentTheme).where(
            models.CommentTheme.store == store, models.CommentTheme.response_id.in_(answers)
        )
    )
    changed += _blank(
        session, models.Order, store, _theirs(models.Order, subject, address), email=None
    )
    changed += _blank(
        session, models.Response, store, _theirs(models.Response, subject, address),
        email=None, comment=None,
    )  # fmt: skip
    changed += _blank(
        session, models.Invite, store, _theirs(models.Invite, subject, address), email=""
    )
    ticket_match = or_(
        models.Ticket.customer_id == subject.customer_id,
        models.Ticket.requester_email == address if address else false(),
    )
    changed += _blank(
        session, models.Ticket, store, ticket_match, requester_email=None, subject=None
    )
    user_match = or_(
        models.ZendeskUser.customer_id == subject.customer_id,
        models.ZendeskUser.email == address if address else false(),
    )
    changed += _blank(session, models.ZendeskUser, store, user_match, email=None, name=None)
    if address:
        suppress(
            session, store, address, SuppressionReason.REDACTED, now, detail="customers/redact"
        )
    record_erasure(
        session, store, "customers/redact", f"customer {subject.customer_id}", changed, now,
        delivery_id,
    )  # fmt: skip
    log.info("redacted Shopify customer %d (%d rows)", subject.customer_id, changed)
    return changed


def record_erasure(
    session: Session,
    store: str,
    topic: str,
    subject: str,
    rows: int,
    now: datetime,
    delivery_id: str | None = None,
) -> None:
    session.add(
        models.Erasure(
            store=store, topic=topic, subject=subject, rows_erased=rows, erased_at=now,
            delivery_id=delivery_id,
        )
    )  # fmt: skip


def _redact_customer_row(session: Session, store: str, customer_id: int, now: datetime) -> int:
    row = session.get(models.Customer, (store, customer_id))
    if row is None:
        # Remember the redaction, so a later sync does not bring the address back.
        session.add(models.Customer(store=store, id=customer_id, redacted_at=now, tags=[]))
        return 0
    for column in PII_OF_CUSTOMER:
        setattr(row, column, None)
    row.redacted_at = now
    return 1


def _theirs(
    model: type[models.Order] | type[models.Response] | type[models.Invite],
    subject: Subject,
    address: str | None,
) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = [model.customer_id == subject.customer_id]
    if address:
        conditions.append(model.email == address)
    if model is models.Order and subject.order_ids:
        conditions.append(models.Order.id.in_(subject.order_ids))
    if model is not models.Order and subject.order_ids:
        conditions.append(model.order_id.in_(subject.order_ids))  # type: ignore[union-attr]
    return or_(*conditions)


def _blank(
    session: Session, model: type[Any], store: str, match: ColumnElement[bool], **values: Any
) -> int:
    result = session.execute(update(model).where(model.store == store, match).values(**values))
    return int(getattr(result, "rowcount", 0) or 0)


def redact_shop(
    session: Session,
    store: str,
    now: datetime,
    *,
    shop_id: int | None = None,
    delivery_id: str | None = None,
) -> int:
    """Delete every row of ``store`` (but the erasure records and delivery ids); the count."""
    deleted = 0
    for table in reversed(models.Base.metadata.sorted_tables):
        if "store" in table.columns and table.name not in KEPT_BY_SHOP_REDACT:
            result = session.execute(delete(table).where(table.c.store == store))
            deleted += int(getattr(result, "rowcount", 0) or 0)
    subject = f"shop {shop_id}" if shop_id is not None else "shop"
    record_erasure(session, store, "shop/redact", subject, deleted, now, delivery_id)
    log.warning("deleted all %d rows of store %s (shop/redact)", deleted, store)
    return deleted


def export_customer(
    session: Session,
    store: str,
    subject: Subject,
    folder: Path,
    now: datetime,
    request_id: int | None = None,
) -> Path:
    """Write what we hold about ``subject`` to a JSON file in ``folder``; its path.

    With Shopify's ``request_id``, a request already written is not written again (its file's
    path is returned); without one, each call writes a file stamped with ``now``.
    """
    if request_id is not None:
        path = folder / f"shopify-data-request-{store}-{subject.customer_id}-r{request_id}.json"
        if path.exists():
            log.info("data request %d already written to %s", request_id, path)
            return path
    else:
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        path = folder / f"shopify-data-request-{store}-{subject.customer_id}-{stamp}.json"
    address = subject.address(session, store)
    export = {
        "store": store,
        "customer_id": subject.customer_id,
        "requested_at": now.isoformat(),
        "shopify_data_request_id": request_id,
        "customer": _rows(
            session, models.Customer, store, models.Customer.id == subject.customer_id
        ),
        "orders": _rows(session, models.Order, store, _theirs(models.Order, subject, address)),
        "invites": _rows(session, models.Invite, store, _theirs(models.Invite, subject, address)),
        "responses": _rows(
            session, models.Response, store, _theirs(models.Response, subject, address)
        ),
        "tag_state": _rows(
            session, models.TagState, store, models.TagState.customer_id == subject.customer_id
        ),
        "zendesk_users": _rows(
            session,
            models.ZendeskUser,
            store,
            or_(
                models.ZendeskUser.customer_id == subject.customer_id,
                models.ZendeskUser.email == address if address else false(),
            ),
        ),
        "tickets": _rows(
            session, models.Ticket, store, models.Ticket.customer_id == subject.customer_id
        ),
        "suppressions": _rows(
            session,
            models.Suppression,
            store,
            models.Suppression.email_hash == email_digest(address) if address else false(),
        ),
    }
    folder.mkdir(parents=True, exist_ok=True)
    # Written beside and renamed: a crash mid-write leaves no half file that a retried delivery
    # would take for a finished one.
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(export, indent=2, default=_json_value), encoding="utf-8")
    partial.replace(path)
    log.info("data request for Shopify customer %d written to %s", subject.customer_id, path)
    return path


def _rows(
    session: Session, model: type[Any], store: str, match: ColumnElement[bool]
) -> list[dict[str, Any]]:
    columns = [c.name for c in model.__table__.columns]
    found = session.scalars(select(model).where(model.store == store, match))
    return [{name: getattr(row, name) for name in columns} for row in found]


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot export {type(value).__name__}")
