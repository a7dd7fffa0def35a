"""What each survey email says to whom: the invite's address and language, the customer's first
name, the order's number (``nps_engine.survey_email`` turns a :class:`Letter` into the email)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from nps_engine.store.database import Database
from nps_engine.store.models import Customer, Invite, Order
from nps_engine.survey_email import Letter


def letter_of(session: Session, invite: Invite, *, reminder: bool = False) -> Letter:
    customer = (
        session.get(Customer, (invite.store, invite.customer_id)) if invite.customer_id else None
    )
    order = session.get(Order, (invite.store, invite.order_id)) if invite.order_id else None
    return Letter(
        invite_id=invite.id,
        email=invite.email,
        locale=invite.locale,
        first_name=customer.first_name if customer else None,
        order_name=order.name if order else None,
        reminder=reminder,
    )


def letters_for(database: Database, store: str, batch: list[Invite]) -> dict[int, Letter]:
    """Every invite's letter, with the customers' first names and the order numbers read for
    the whole batch in a few queries instead of two per email (a name does not need to be
    fresher than the batch)."""
    first_names: dict[int, str | None] = {}
    order_names: dict[int, str] = {}
    with database.session() as session:
        for chunk in _chunks(sorted({i.customer_id for i in batch if i.customer_id})):
            rows = session.execute(
                select(Customer.id, Customer.first_name).where(
                    Customer.store == store, Customer.id.in_(chunk)
                )
            )
            first_names.update({row.id: row.first_name for row in rows})
        for chunk in _chunks(sorted({i.order_id for i in batch if i.order_id})):
            rows = session.execute(
                select(Order.id, Order.name).where(Order.store == store, Order.id.in_(chunk))
            )
            order_names.update({row.id: row.name for row in rows})
    return {
        invite.id: Letter(
            invite_id=invite.id,
            email=invite.email,
            locale=invite.locale,
            first_name=first_names.get(invite.customer_id) if invite.customer_id else None,
            order_name=order_names.get(invite.order_id) if invite.order_id else None,
        )
        for invite in batch
    }


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    # Bounded IN lists: SQLite limits the parameters of one statement.
    return [ids[i : i + size] for i in range(0, len(ids), size)]
