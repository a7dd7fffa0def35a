"""``POST /webhooks/shopify``: Shopify's deliveries, verified, de-duplicated and applied at once.

Order: verify ``X-Shopify-Hmac-Sha256`` over the raw body (401 otherwise, as Shopify requires of
the privacy topics, with a warning in the log), check the headers the signature does not cover
(``X-Shopify-Shop-Domain`` required and equal to ``shopify.shop``; ``X-Shopify-Triggered-At`` not
more than 72 hours old; ids no longer than the store keeps), parse (400 for a body that is not the
topic's JSON, nothing stored), then in one transaction record the delivery id and apply the
topic, so a retried delivery (Shopify retries 8 times over 4 hours) is acknowledged without being
applied twice, and a crash mid-way leaves it unrecorded for the retry. Shopify waits about 5
seconds for the answer; everything here is a few row updates. Deduplication uses
``X-Shopify-Webhook-Id`` (the current docs' idempotency key) and ``X-Shopify-Event-Id``: a body
replayed under a new webhook id is still a repeat.

Replays: the HMAC covers the body, not the topic header, so each topic's body must have its
documented shape (a privacy topic names ``shop_id`` and ``shop_domain``, which must be ours), and
``shop/redact`` (erase the whole store) is applied only when the ``ShopAccessProbe`` port says the
Admin API refuses our credentials, as it does once the app is uninstalled. Every erasure is
recorded in ``erasures``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from nps_engine.ports import ShopAccessProbe, ShopifyWebhookReader
from nps_engine.shop_events import (
    PRIVACY_INTENTS,
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
# Sizes of webhook_events.topic / delivery_id / event_id.
MAX_TOPIC = 64
MAX_ID_HEADER = 128
# Shopify retries a failed delivery for up to 48 hours after X-Shopify-Triggered-At.
MAX_DELIVERY_AGE = timedelta(hours=72)
MAX_CLOCK_SKEW = timedelta(hours=1)


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
    # Asks Shopify whether the app still has access, before shop/redact erases the store.
    shop_access: ShopAccessProbe | None = None


def routes(context: WebContext) -> list[BaseRoute]:
    shopify = context.settings.shopify
    receiver = Receiver(
        store_id=context.store_id,
        shop_domain=shopify.shop_domain if shopify else None,
        secret=shopify.signing_secret if shopify else None,
        data_request_dir=Path(shopify.data_request_dir if shopify else "data_requests"),
        database=context.database,
        reader=context.adapters.shopify_webhooks,
        shop_access=context.adapters.shop_access,
    )
    return receiver_routes(receiver, context.clock)


def receiver_routes(receiver: Receiver, clock: Callable[[], datetime]) -> list[BaseRoute]:
    async def webhook(request: Request) -> JSONResponse:
        body = await request.body()
        reader = receiver.reader
        if reader is None:
            return JSONResponse({"error": "Shopify webhooks are not served here"}, status_code=404)
        headers = request.headers
        topic = headers.get("x-shopify-topic", "")
        if not receiver.secret or not reader.signature_is_valid(
            body, headers.get("x-shopify-hmac-sha256"), receiver.secret
        ):
            # No body in the log: only what tells an operator that the secret is wrong.
            log.warning(
                "refused a Shopify webhook with a wrong signature (topic %.64r, shop %.100r): "
                "check shopify.webhook_secret", topic, headers.get("x-shopify-shop-domain"),
            )  # fmt: skip
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        refusal = _header_problem(receiver, headers, clock())
        if refusal is not None:
            code, message = refusal
            log.warning("refused a signed Shopify webhook: %s", message)
            return JSONResponse({"error": message}, status_code=code)
        delivery_id = headers["x-shopify-webhook-id"]
        try:
            intent = reader.intent_of(topic, json.loads(body))
        except (ValueError, RecursionError, WebhookPayloadError) as exc:
            reason = str(exc) if isinstance(exc, WebhookPayloadError) else "not a JSON object"
            return JSONResponse({"error": f"malformed {topic} payload: {reason}"[:300]},
                                status_code=400)  # fmt: skip
        if isinstance(intent, PRIVACY_INTENTS) and not _same_shop(
            intent.shop_domain, receiver.shop_domain
        ):
            log.warning("refused a %s webhook whose body names another shop", topic)
            return JSONResponse({"error": "shop_domain is not this store's shop"}, status_code=403)
        event_id = headers.get("x-shopify-event-id")
        if isinstance(intent, ShopRedact):
            refused = await _access_gone(receiver)
            if refused is not None:
                return refused
        status = await run_in_threadpool(
            _apply, receiver, topic, delivery_id, event_id, intent, clock()
        )
        return JSONResponse({"status": status})

    return [Route(PATH, webhook, methods=["POST"])]


def _header_problem(receiver: Receiver, headers: Headers, now: datetime) -> tuple[int, str] | None:
    """Why the unsigned headers of a signed delivery are refused (status, message); None: fine.

    Shopify signs the body only: these headers are checked on their own, and bounded to the
    sizes the store keeps (a delivery id of 129 characters would fail on PostgreSQL later).
    """
    topic = headers.get("x-shopify-topic", "")
    delivery_id = headers.get("x-shopify-webhook-id", "")
    if not topic or not delivery_id:
        return 400, "missing X-Shopify-Topic or X-Shopify-Webhook-Id"
    if len(topic) > MAX_TOPIC or len(delivery_id) > MAX_ID_HEADER:
        return 400, "X-Shopify-Topic or X-Shopify-Webhook-Id is too long"
    if len(headers.get("x-shopify-event-id", "")) > MAX_ID_HEADER:
        return 400, "X-Shopify-Event-Id is too long"
    shop = headers.get("x-shopify-shop-domain")
    if not shop:
        return 400, "missing X-Shopify-Shop-Domain"
    if not _same_shop(shop, receiver.shop_domain):
        return 403, "X-Shopify-Shop-Domain is not this store's shop"
    triggered = headers.get("x-shopify-triggered-at")
    if triggered is not None:
        try:
            moment = datetime.fromisoformat(triggered.strip().replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            age = now - moment
        except (ValueError, OverflowError):
            return 400, "X-Shopify-Triggered-At is not a timestamp"
        if age > MAX_DELIVERY_AGE:
            return 400, "X-Shopify-Triggered-At is too far in the past (a replayed delivery?)"
        if age < -MAX_CLOCK_SKEW:
            return 400, "X-Shopify-Triggered-At is in the future"
    return None


def _same_shop(shop: str, configured: str | None) -> bool:
    return configured is not None and shop.strip().lower() == configured.lower()


async def _access_gone(receiver: Receiver) -> JSONResponse | None:
    """None when the Admin API refuses our credentials (the app is really uninstalled);
    otherwise the answer refusing to erase the store."""
    probe = receiver.shop_access
    if probe is None:
        log.error("shop/redact not applied: no way to check the app's access to the shop")
        return JSONResponse({"error": "cannot check the app's access now"}, status_code=503)
    try:
        accepted = await run_in_threadpool(probe.admin_api_accepts_us)
    except Exception as error:  # noqa: BLE001 - erased only on a clear "access gone"
        log.warning("shop/redact not applied yet: access check failed (%s)",
                    type(error).__name__)  # fmt: skip
        return JSONResponse({"error": "cannot check the app's access now"}, status_code=503)
    if accepted:
        log.warning(
            "refused shop/redact: the Shopify Admin API still accepts this app's credentials "
            "(Shopify sends it only 48 hours after an uninstall; a replayed delivery?)"
        )
        return JSONResponse(
            {"error": "refused: the app still has access to the shop"}, status_code=403
        )
    return None


def _apply(
    receiver: Receiver,
    topic: str,
    delivery_id: str,
    event_id: str | None,
    intent: Intent | None,
    now: datetime,
) -> str:
    store = receiver.store_id
    if isinstance(intent, PRIVACY_INTENTS):
        # Rare (one per erasure or data request) and spread over every table: an ORM session.
        with receiver.database.session() as session:
            if not first_delivery(session, store, "shopify", delivery_id, topic, now, event_id):
                return "duplicate"
            return apply_privacy(session, receiver, intent, now, delivery_id)
    # The frequent topics: a statement or two of SQLAlchemy Core on one connection.
    with receiver.database.engine.begin() as connection:
        if not first_delivery(connection, store, "shopify", delivery_id, topic, now, event_id):
            return "duplicate"
        if intent is None:
            return "ignored"
        return apply_order_fact(connection, store, intent, now)


def apply_order_fact(connection: Connection, store: str, intent: Intent, now: datetime) -> str:
    """Change an order as ``intent`` says; a word for the response and the log."""
    match intent:
        case OrderFulfilled(order):
            record_fulfilled_order(connection, store, order, now)
            return "applied"
        case OrderDelivered(order_id, delivered_at):
            found = record_delivery(connection, store, order_id, delivered_at)
        case OrderRefunded(order_id):
            found = record_refund(connection, store, order_id)
        case OrderReturned(order_id):
            found = record_return(connection, store, order_id)
        case _:
            raise ValueError(f"not an order fact: {type(intent).__name__}")
    # An order the sync has not brought yet: the sync will, with this fact in it.
    return "applied" if found else "order not synced yet"


def apply_privacy(
    session: Session,
    receiver: Receiver,
    intent: Intent,
    now: datetime,
    delivery_id: str | None = None,
) -> str:
    """Erase or export as a privacy ``intent`` says."""
    store = receiver.store_id
    match intent:
        case CustomerRedact(_shop, customer_id, email, order_ids):
            subject = Subject(customer_id, email, order_ids)
            redact_customer(session, store, subject, now, delivery_id)
        case CustomerDataRequest(_shop, customer_id, email, order_ids, request_id):
            subject = Subject(customer_id, email, order_ids)
            export_customer(session, store, subject, receiver.data_request_dir, now, request_id)
        case ShopRedact(shop_id):
            redact_shop(session, store, now, shop_id=shop_id, delivery_id=delivery_id)
        case _:
            raise ValueError(f"not a privacy request: {type(intent).__name__}")
    return "applied"
