"""``POST /webhooks/zendesk``: a ``ticket.created`` event tags the new ticket with the NPS of its
requester.

Why: a tag pushed onto a Zendesk user is not copied onto tickets that already exist, and the push
job only reaches tickets it has synced; the webhook tags a new ticket within seconds, so the agent
who opens it sees who they are talking to.

Order (https://developer.zendesk.com/documentation/webhooks/verifying/):
1. ``X-Zendesk-Webhook-Signature`` must equal base64(HMAC-SHA256(secret, timestamp + raw body)),
   compared in constant time, and ``X-Zendesk-Webhook-Signature-Timestamp`` must be within
   ``MAX_SKEW`` of our clock (a captured delivery cannot be replayed later): 401 otherwise.
2. The body must be an event envelope (``type``, ``id``, ``detail`` with string ids): 400 otherwise.
3. An event id already handled is acknowledged (200) and not applied again.
4. The requester's last pushed Zendesk tags (``tag_state``) go onto the ticket with the additive
   Add Tags endpoint; then the event id is recorded. A failed call answers 503 without recording,
   so Zendesk's retry applies it; two racing deliveries only add the same tags twice.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.sql.selectable import Select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from nps_engine.ports import TicketTagger
from nps_engine.store import models
from nps_engine.store.database import Database
from nps_engine.store.support import customer_of_user
from nps_engine.store.webhook_events import first_delivery
from nps_engine.web.context import WebContext

log = logging.getLogger(__name__)

PATH = "/webhooks/zendesk"
TICKET_CREATED = "zen:event-type:ticket.created"
MAX_SKEW = timedelta(minutes=10)
SIGNATURE = "X-Zendesk-Webhook-Signature"
TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"


@dataclass(frozen=True)
class Receiver:
    store_id: str
    secret: str | None
    database: Database
    # None when the store has no Zendesk section: the receiver then answers 404.
    tagger: Callable[[], TicketTagger] | None


@dataclass(frozen=True)
class TicketCreated:
    event_id: str
    ticket_id: int
    requester_id: int | None


class WebhookPayloadError(ValueError):
    pass


def signature_is_valid(secret: str, signed_at: str, body: bytes, signature: str) -> bool:
    mac = hmac.new(secret.encode("utf-8"), signed_at.encode("utf-8") + body, hashlib.sha256)
    expected = base64.b64encode(mac.digest()).decode("ascii")
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii", "replace"))


def is_fresh(signed_at: str, now: datetime, max_skew: timedelta = MAX_SKEW) -> bool:
    try:
        when = datetime.fromisoformat(signed_at)
    except ValueError:
        return False
    return when.tzinfo is not None and abs(now - when) <= max_skew


def ticket_created(body: bytes) -> TicketCreated | None:
    """The event, or None for another event type; :class:`WebhookPayloadError` when malformed."""
    try:
        event = json.loads(body)
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise WebhookPayloadError("not an event envelope (no 'type')")
        if event["type"] != TICKET_CREATED:
            return None
        detail = event["detail"]
        requester = detail.get("requester_id")
        event_id = str(event["id"])
        if len(event_id) > MAX_EVENT_ID:
            raise WebhookPayloadError("malformed ticket.created event (id too long)")
        return TicketCreated(
            event_id=event_id,
            ticket_id=_zendesk_id(detail["id"]),
            requester_id=_zendesk_id(requester) if requester not in (None, "") else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as error:
        if isinstance(error, WebhookPayloadError):
            raise
        reason = type(error).__name__ if isinstance(error, RecursionError) else repr(error)[:100]
        raise WebhookPayloadError(f"malformed ticket.created event ({reason})") from None


# webhook_events.delivery_id is 128 characters; Zendesk ids are 64-bit integers.
MAX_EVENT_ID = 128


def _zendesk_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or len(str(value)) > 20:
        raise ValueError("id")
    number = int(value)
    if not 0 < number < 2**63:
        raise ValueError("id out of range")
    return number


def routes(context: WebContext) -> list[BaseRoute]:
    zendesk = context.settings.zendesk
    secret = zendesk.webhook_secret if zendesk else None

    receiver = Receiver(
        store_id=context.store_id,
        secret=secret.get_secret_value() if secret else None,
        database=context.database,
        tagger=context.adapters.ticket_tagger,
    )
    return receiver_routes(receiver, context.clock)


def receiver_routes(receiver: Receiver, clock: Callable[[], datetime]) -> list[BaseRoute]:
    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        if not receiver.secret or receiver.tagger is None:
            return _answer(404, "Zendesk webhooks are not configured (zendesk.webhook_secret)")
        signed_at = request.headers.get(TIMESTAMP, "")
        signature = request.headers.get(SIGNATURE, "")
        if not signature_is_valid(receiver.secret, signed_at, body, signature):
            # No body in the log: only what tells an operator that the secret is wrong.
            log.warning("refused a Zendesk webhook with a wrong signature: "
                        "check zendesk.webhook_secret")  # fmt: skip
            return _answer(401, "invalid signature")
        if not is_fresh(signed_at, clock()):
            return _answer(401, "stale or missing signature timestamp")
        try:
            event = ticket_created(body)
        except WebhookPayloadError as error:
            return _answer(400, str(error))
        if event is None:
            return _answer(200, "ignored: not ticket.created")
        return await run_in_threadpool(apply, receiver, event, clock())

    return [Route(PATH, receive, methods=["POST"], name="zendesk_webhook")]


def apply(receiver: Receiver, event: TicketCreated, now: datetime) -> JSONResponse:
    """SQLAlchemy Core on plain connections, no ORM; the Zendesk call happens between the two
    short transactions, never inside one."""
    key = {"store": receiver.store_id, "source": "zendesk", "delivery_id": event.event_id}
    with receiver.database.engine.connect() as connection:
        if connection.execute(_handled(), key).first() is not None:
            return _answer(200, "duplicate")
        tags = _pushed_tags(connection, receiver.store_id, event.requester_id)
    if tags:
        try:
            assert receiver.tagger is not None  # checked before the body was read
            receiver.tagger().add_ticket_tags(event.ticket_id, tags)
        except Exception as error:  # noqa: BLE001 - any failure: let Zendesk retry the delivery
            log.warning("tagging Zendesk ticket %s failed: %s", event.ticket_id, error)
            return _answer(503, "could not tag the ticket; retry later")
    with receiver.database.engine.begin() as connection:
        first_delivery(
            connection, receiver.store_id, "zendesk", event.event_id, "ticket.created", now
        )
    return _answer(200, "tagged" if tags else "no NPS tags for this requester")


@functools.cache
def _handled() -> Select[str]:
    w = models.WebhookEvent
    return select(w.delivery_id).where(
        w.store == bindparam("store"),
        w.source == bindparam("source"),
        w.delivery_id == bindparam("delivery_id"),
    )


def _pushed_tags(connection: Connection, store: str, requester_id: int | None) -> list[str]:
    if requester_id is None:
        return []
    customer_id = customer_of_user(connection, store, requester_id)
    if customer_id is None:
        return []
    tags = connection.scalar(
        select(models.TagState.tags).where(
            models.TagState.store == store,
            models.TagState.system == "zendesk",
            models.TagState.customer_id == customer_id,
        )
    )
    return list(tags or [])


def _answer(status: int, message: str) -> JSONResponse:
    return JSONResponse({"status": status, "message": message}, status_code=status)
