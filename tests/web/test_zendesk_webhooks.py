"""``POST /webhooks/zendesk``: signed, fresh, de-duplicated ``ticket.created`` events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fakes import FakeTicketTagger
from starlette.applications import Starlette

from nps_engine.store import models
from nps_engine.store.database import Database, upsert
from nps_engine.web.zendesk_webhooks import Receiver, receiver_routes, signature_is_valid
from sandbox.world import Ticket
from sandbox.zendesk.webhooks import WebhookSender, ticket_created_event

with warnings.catch_warnings():
    # Starlette 1.x nudges towards the httpx2 fork at import time; httpx works the same here.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
STAMP = "2026-11-01T12:00:00Z"


def event(event_id: str = "01HEVENT", ticket_id: str = "35436", requester: str = "501") -> bytes:
    body = {
        "type": "zen:event-type:ticket.created",
        "account_id": 88888888,
        "id": event_id,
        "time": STAMP,
        "zendesk_event_version": "2022-11-06",
        "subject": f"zen:ticket:{ticket_id}",
        "detail": {"id": ticket_id, "requester_id": requester, "status": "New", "tags": []},
        "event": {},
    }
    return json.dumps(body).encode()


def signed(body: bytes, stamp: str = STAMP, secret: str = SECRET) -> dict[str, str]:
    mac = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
    return {
        "X-Zendesk-Webhook-Signature": base64.b64encode(mac).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "Content-Type": "application/json",
    }


@pytest.fixture
def tagger() -> FakeTicketTagger:
    return FakeTicketTagger()


@pytest.fixture
def app(sqlite_database: Database, store_id: str, tagger: FakeTicketTagger) -> TestClient:
    with sqlite_database.session() as session:
        upsert(
            session,
            models.ZendeskUser,
            [
                {
                    "store": store_id,
                    "id": 501,
                    "email": "a@b.test",
                    "name": "A",
                    "tags": [],
                    "customer_id": 1,
                    "synced_at": NOW,
                }
            ],
        )
        upsert(
            session,
            models.TagState,
            [
                {
                    "store": store_id,
                    "system": "zendesk",
                    "customer_id": 1,
                    "tags": ["nps_detractor", "nps_score_3"],
                    "fields": {},
                    "pushed_at": NOW,
                }
            ],
        )
    receiver = Receiver(store_id, SECRET, sqlite_database, lambda: tagger)
    return TestClient(Starlette(routes=receiver_routes(receiver, lambda: NOW)))


def test_signed_ticket_created_tags_the_ticket_with_the_requesters_nps(
    app: TestClient, tagger: FakeTicketTagger
) -> None:
    body = event()
    answer = app.post("/webhooks/zendesk", content=body, headers=signed(body))
    assert answer.status_code == 200
    assert tagger.calls == [(35436, ["nps_detractor", "nps_score_3"])]


def test_a_repeated_delivery_is_acknowledged_but_not_applied_twice(
    app: TestClient, tagger: FakeTicketTagger
) -> None:
    body = event()
    for _ in range(2):
        assert app.post("/webhooks/zendesk", content=body, headers=signed(body)).status_code == 200
    assert len(tagger.calls) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Zendesk-Webhook-Signature": "AAAA", "X-Zendesk-Webhook-Signature-Timestamp": STAMP},
        signed(event(), secret="another-secret"),
        signed(event(event_id="other")),  # signature of a different body
    ],
    ids=["unsigned", "garbage", "wrong-secret", "other-body"],
)
def test_unsigned_or_forged_deliveries_are_refused(
    app: TestClient, tagger: FakeTicketTagger, headers: dict[str, str]
) -> None:
    assert app.post("/webhooks/zendesk", content=event(), headers=headers).status_code == 401
    assert tagger.calls == []


def test_a_replayed_old_delivery_is_refused(app: TestClient, tagger: FakeTicketTagger) -> None:
    old = (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = event()
    assert app.post("/webhooks/zendesk", content=body, headers=signed(body, old)).status_code == 401
    assert tagger.calls == []


def test_a_malformed_event_is_a_400(app: TestClient) -> None:
    body = b'{"type": "zen:event-type:ticket.created", "detail": {"id": "not-a-number"}}'
    assert app.post("/webhooks/zendesk", content=body, headers=signed(body)).status_code == 400


def test_other_event_types_are_acknowledged_and_ignored(
    app: TestClient, tagger: FakeTicketTagger
) -> None:
    body = json.dumps(
        {"type": "zen:event-type:ticket.status_changed", "id": "E2", "detail": {}}
    ).encode()
    assert app.post("/webhooks/zendesk", content=body, headers=signed(body)).status_code == 200
    assert tagger.calls == []


def test_requester_without_nps_needs_no_call(app: TestClient, tagger: FakeTicketTagger) -> None:
    body = event(requester="999")
    assert app.post("/webhooks/zendesk", content=body, headers=signed(body)).status_code == 200
    assert tagger.calls == []


def test_a_failed_tag_call_answers_503_so_zendesk_delivers_again(
    sqlite_database: Database, store_id: str, app: TestClient, tagger: FakeTicketTagger
) -> None:
    tagger.fail = True
    body = event()
    assert app.post("/webhooks/zendesk", content=body, headers=signed(body)).status_code == 503
    tagger.fail = False
    assert app.post("/webhooks/zendesk", content=body, headers=signed(body)).status_code == 200
    assert len(tagger.calls) == 1


def test_signature_matches_an_independent_computation() -> None:
    body: Any = b'{"a":1}'
    expected = base64.b64encode(
        hmac.new(b"k", b"2026-01-01T00:00:00Z" + body, hashlib.sha256).digest()
    ).decode()
    assert signature_is_valid("k", "2026-01-01T00:00:00Z", body, expected)
    assert not signature_is_valid("k", "2026-01-01T00:00:01Z", body, expected)


def test_the_simulators_signed_ticket_created_delivery_is_accepted_and_applied(
    app: TestClient, tagger: FakeTicketTagger
) -> None:
    ticket = Ticket(35437, 501, "new", "Where is my parcel?", "email", [], NOW, NOW)
    body = json.dumps(ticket_created_event(ticket, NOW, {})).encode()
    sender = WebhookSender("http://127.0.0.1:9/unused", SECRET)
    try:
        headers = sender.headers(body, STAMP)
    finally:
        sender.close()
    assert app.post("/webhooks/zendesk", content=body, headers=headers).status_code == 200
    assert tagger.calls == [(35437, ["nps_detractor", "nps_score_3"])]
