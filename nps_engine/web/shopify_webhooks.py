"""``POST /webhooks/shopify``: Shopify's deliveries, verified, de-duplicated and applied at once.

Order: verify ``X-Shopify-Hmac-Sha256`` over the raw body (401 otherwise, as Shopify requires of
the privacy topics), parse (400 for a body that is not the topic's JSON, nothing stored), then in
one transaction record the delivery id and apply the topic, so a retried delivery (Shopify retries
8 times over 4 hours) is acknowledged without being applied twice, and a crash mid-way leaves it
unrecorded for the retry. Shopify waits about 5 seconds for the answer; everything here is a few
row updates. Deduplication uses ``X-Shopify-Webhook-Id`` (the current docs' idempotency key) and
records ``X-Shopify-Event-Id`` beside it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from nps_engine.ports import ShopifyWebhookReader
from nps_engine.shop_events import (
    CustomerDataRequest,
    CustomerRedact,
    Intent,
    OrderDelivered,
    OrderFulfilled,
    OrderRefunded,
    OrderReturned,
    ShopRedact,
    WebhookPayloadError,
)
from nps_engine.store.database import Database
from nps_engine.store.shop_data import (
    record_delivery,
    record_fulfilled_order,
    record_refund,
    record_return,
)
from nps_engine.store.shop_privacy import Subject, export_customer, redact_customer, redact_shop
from nps_engine.store.webhook_events import first_delivery
from nps_engine.web.context import WebContext

log = logging.getLogger(__name__)

PATH = "/webhooks/shopify"


@dataclass(frozen=True)
class Receiver:
    """One store's receiver: whose deliveries we accept and where their effects go."""

    store_id: str
    shop_domain: str | None
    secret: str | None
    data_request_dir: Path
    database: Database
    # The adapter that checks signatures and reads the topics' bodies; None: not configured.
    reader: ShopifyWebhookReader | None


def routes(context: WebContext) -> list[BaseRoute]:
    shopify = context.settings.shopify
    receiver = Receiver(
        store_id=context.store_id,
        shop_domain=shopify.shop_domain if shopify else None,
        secret=shopify.signing_secret if shopify else None,
        data_request_dir=Path(shopify.data_request_dir if shopify else "data_requests"),
        database=context.database,
        reader=context.adapters.shopify_webhooks,
    )
    return receiver_routes(receiver, context.clock)


def receiver_routes(receiver: Receiver, clock: Callable[[], datetime]) -> list[BaseRoute]:
    async def webhook(request: Request) -> JSONResponse:
        body = await request.body()
        reader = receiver.reader
        if reader is None:
            return JSONResponse({"error": "Shopify webhooks are not served here"}, status_code=404)
        if not receiver.secret or not reader.signature_is_valid(
            body, request.headers.get("x-shopify-hmac-sha256"), receiver.secret
        ):
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        topic = request.headers.get("x-shopify-topic", "")
        delivery_id = request.headers.get("x-shopify-webhook-id")
        if not topic or not delivery_id:
            return JSONResponse({"error": "missing X-Shopify-Topic or X-Shopify-Webhook-Id"},
                                status_code=400)  # fmt: skip
        shop = request.headers.get("x-shopify-shop-domain")
        if receiver.shop_domain and shop and shop.lower() != receiver.shop_domain.lower():
            log.warning("ignored a %s webhook for another shop", topic)
            return JSONResponse({"status": "ignored"})
        try:
            intent = reader.intent_of(topic, json.loads(body))
        except (ValueError, WebhookPayloadError, AttributeError) as exc:
            return JSONResponse({"error": f"malformed {topic} payload: {exc}"[:300]},
                                status_code=400)  # fmt: skip
        event_id = request.headers.get("x-shopify-event-id")
        now = clock()
        status = await run_in_threadpool(
            _apply, receiver, topic, delivery_id, event_id, intent, now
        )
        return JSONResponse({"status": status})

    return [Route(PATH, webhook, methods=["POST"])]


def _apply(
    receiver: Receiver,
    topic: str,
    delivery_id: str,
    event_id: str | None,
    intent: Intent | None,
    now: datetime,
) -> str:
    with receiver.database.session() as session:
        store = receiver.store_id
        if not first_delivery(session, store, "shopify", delivery_id, topic, now, event_id):
            return "duplicate"
        if intent is None:
            return "ignored"
        return apply_intent(session, receiver, intent, now)


def apply_intent(session: Session, receiver: Receiver, intent: Intent, now: datetime) -> str:
    """Change the store as ``intent`` says; a word for the response and the log."""
    store = receiver.store_id
    match intent:
        case OrderFulfilled(order):
            record_fulfilled_order(session, store, order, now)
            return "applied"
        case OrderDelivered(order_id, delivered_at):
            found = record_delivery(session, store, order_id, delivered_at)
        case OrderRefunded(order_id):
            found = record_refund(session, store, order_id)
        case OrderReturned(order_id):
            found = record_return(session, store, order_id)
        case CustomerRedact(customer_id, email, order_ids):
            redact_customer(session, store, Subject(customer_id, email, order_ids), now)
            return "applied"
        case CustomerDataRequest(customer_id, email, order_ids, request_id):
            subject = Subject(customer_id, email, order_ids)
            export_customer(session, store, subject, receiver.data_request_dir, now, request_id)
            return "applied"
        case ShopRedact():
            redact_shop(session, store)
            return "applied"
    # An order the sync has not brought yet: the sync will, with this fact in it.
    return "applied" if found else "order not synced yet"
