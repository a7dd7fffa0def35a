"""``ticket.created`` webhooks, signed as Zendesk signs them.

Signature (https://developer.zendesk.com/documentation/webhooks/verifying/):
``X-Zendesk-Webhook-Signature = base64(HMAC-SHA256(key=secret as UTF-8, TIMESTAMP + BODY))`` with
the timestamp in ``X-Zendesk-Webhook-Signature-Timestamp`` (ISO 8601, ``Z``). The key is the
secret string itself, not its base64 decoding (checked against the docs' old test vector).

The body is the event envelope of the ticket events API (zendesk-notes 4; example in
samples/docs_examples/webhook_ticket_created_event_thirdparty_example.json): ``type``,
``account_id``, ``id``, ``time``, ``zendesk_event_version``, ``subject`` (``zen:ticket:<id>``),
``detail`` (the ticket, **ids as strings**) and ``event``.

Deliveries run on a background thread (a slow receiver must not stall the API answer that created
the ticket); ``deliveries`` records each outcome and ``flush`` waits for the queue to drain.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests

from sandbox.world import Ticket
from sandbox.zendesk.render import ACCOUNT_ID, BRAND_ID, TICKET_FORM_ID, timestamp

EVENT_VERSION = "2022-11-06"
DELIVERY_TIMEOUT_SECONDS = 5.0


def sign(secret: str, signed_at: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), signed_at.encode() + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def ticket_created_event(ticket: Ticket, now: datetime, extras: dict[str, Any]) -> dict[str, Any]:
    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    detail = {
        "actor_id": text(extras.get("submitter_id", ticket.requester_id)),
        "assignee_id": text(extras.get("assignee_id")),
        "brand_id": str(BRAND_ID),
        "created_at": timestamp(ticket.created_at),
        "custom_status": None,
        "description": ticket.comments[0].body if ticket.comments else ticket.subject,
        "external_id": extras.get("external_id"),
        "form_id": str(TICKET_FORM_ID),
        "group_id": text(extras.get("group_id")),
        "id": str(ticket.id),
        "is_public": any(comment.public for comment in ticket.comments),
        "organization_id": None,
        "priority": ticket.priority.upper() if ticket.priority else None,
        "requester_id": str(ticket.requester_id),
        "status": ticket.status.capitalize(),
        "subject": ticket.subject,
        "submitter_id": text(extras.get("submitter_id", ticket.requester_id)),
        "tags": list(ticket.tags),
        "type": None,
        "updated_at": timestamp(ticket.updated_at),
        "via": {"channel": ticket.channel},
    }
    return {
        "type": "zen:event-type:ticket.created",
        "account_id": ACCOUNT_ID,
        "id": _event_id(),
        "time": timestamp(now),
        "zendesk_event_version": EVENT_VERSION,
        "subject": f"zen:ticket:{ticket.id}",
        "detail": detail,
        "event": {"current": {"status": ticket.status.capitalize()}},
    }


def _event_id() -> str:
    """ULID-shaped (26 upper-case characters) like Zendesk's event ids."""
    return uuid.uuid4().hex[:26].upper()


@dataclass(frozen=True)
class Delivery:
    url: str
    event_type: str
    status: int | None  # None when the receiver could not be reached
    error: str | None


class WebhookSender:
    def __init__(self, url: str, secret: str, webhook_id: str | None = None) -> None:
        self.url = url
        self.secret = secret
        self.webhook_id = webhook_id or _event_id()
        self.deliveries: list[Delivery] = []
        self._queue: queue.Queue[tuple[dict[str, Any], str] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def send(self, event: dict[str, Any], signed_at: str) -> None:
        self._queue.put((event, signed_at))

    def flush(self) -> None:
        self._queue.join()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=DELIVERY_TIMEOUT_SECONDS + 1)

    def headers(self, body: bytes, signed_at: str) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "User-Agent": "Zendesk Webhook",
            "X-Zendesk-Webhook-Id": self.webhook_id,
            "X-Zendesk-Webhook-Signature": sign(self.secret, signed_at, body),
            "X-Zendesk-Webhook-Signature-Timestamp": signed_at,
        }

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._deliver(*item)
            finally:
                self._queue.task_done()

    def _deliver(self, event: dict[str, Any], signed_at: str) -> None:
        body = json.dumps(event).encode()
        try:
            answer = requests.post(
                self.url,
                data=body,
                headers=self.headers(body, signed_at),
                timeout=DELIVERY_TIMEOUT_SECONDS,
            )
            outcome = Delivery(self.url, event["type"], answer.status_code, None)
        except requests.RequestException as failure:
            outcome = Delivery(self.url, event["type"], None, type(failure).__name__)
        self.deliveries.append(outcome)
