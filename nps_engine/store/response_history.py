"""One answer with everything around it: the customer's other answers, their orders (delivered,
returned), their Zendesk tickets, and what was written back where (tags per system, the
follow-up ticket). Read for the dashboard's response page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from nps_engine.store.database import Database
from nps_engine.store.models import Customer, Invite, Order, Response, TagState, Ticket

HISTORY_ROWS = 50


@dataclass(frozen=True)
class ResponseHistory:
    response: Response
    customer: Customer | None
    order: Order | None
    invite: Invite | None
    answers: list[Response]  # the customer's other answers, newest first
    orders: list[Order]
    tickets: list[Ticket]
    written: list[TagState]  # one per system the customer's tags were pushed to


def response_history(database: Database, store: str, response_id: int) -> ResponseHistory | None:
    with database.session() as session:
        response = session.get(Response, response_id)
        if response is None or response.store != store:
            return None
        customer = _get(session, Customer, store, response.customer_id)
        return ResponseHistory(
            response=response,
            customer=customer,
            order=_get(session, Order, store, response.order_id),
            invite=session.get(Invite, response.invite_id) if response.invite_id else None,
            answers=_answers(session, store, response),
            orders=_orders(session, store, response.customer_id),
            tickets=_tickets(session, store, response),
            written=_written(session, store, response.customer_id),
        )


def _get(session: Session, model: Any, store: str, key: int | None) -> Any:
    return session.get(model, (store, key)) if key is not None else None


def _same_person(model: Any, response: Response, email_column: Any) -> Any:
    if response.customer_id is not None:
        return model.customer_id == response.customer_id
    if response.email:
        return email_column == response.email
    return model.id == -1


def _answers(session: Session, store: str, response: Response) -> list[Response]:
    query = (
        select(Response)
        .where(Response.store == store, Response.id != response.id)
        .where(_same_person(Response, response, Response.email))
        .order_by(Response.responded_at.desc())
        .limit(HISTORY_ROWS)
    )
    return list(session.scalars(query))


def _orders(session: Session, store: str, customer_id: int | None) -> list[Order]:
    if customer_id is None:
        return []
    query = (
        select(Order)
        .where(Order.store == store, Order.customer_id == customer_id)
        .order_by(Order.created_at.desc())
        .limit(HISTORY_ROWS)
    )
    return list(session.scalars(query))


def _tickets(session: Session, store: str, response: Response) -> list[Ticket]:
    person = _same_person(Ticket, response, Ticket.requester_email)
    if response.customer_id is not None and response.email:
        person = or_(person, Ticket.requester_email == response.email)
    query = (
        select(Ticket)
        .where(Ticket.store == store, person)
        .order_by(Ticket.created_at.desc())
        .limit(HISTORY_ROWS)
    )
    return list(session.scalars(query))


def _written(session: Session, store: str, customer_id: int | None) -> list[TagState]:
    if customer_id is None:
        return []
    query = select(TagState).where(TagState.store == store, TagState.customer_id == customer_id)
    return list(session.scalars(query.order_by(TagState.system)))
