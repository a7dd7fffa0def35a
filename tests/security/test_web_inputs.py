"""Items 8, 10, 11, 13 and 15: hostile input to the pages, webhooks and follow-up notes gets a 4xx
or a harmless rendering, never a 500, a foreign redirect or a forged line; refused signatures
leave a warning for the operator."""

from __future__ import annotations

import json
import logging
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from shopify_delivery import SHOP, Probe, client, counts, deliver, seed
from starlette.applications import Starlette
from survey_support import NOW, SECRET, make_invite, survey_settings

from jobs.followups import followup_note
from nps_engine.invite_tokens import Purpose, TokenSigner
from nps_engine.store.database import Database
from nps_engine.store.followup_facts import FollowupFacts
from nps_engine.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

PUBLIC = "https://nps.maisonverte.example"
SIGNER = TokenSigner(SECRET, timedelta(days=60))


def pages(database: Database, store_id: str, **web: object) -> TestClient:
    settings = survey_settings(store_id, web=web)
    return TestClient(create_app(settings, database, clock=lambda: NOW), base_url=PUBLIC)


def test_one_click_unsubscribes_from_one_provider_address_are_not_rate_limited(
    sqlite_database: Database, store_id: str
) -> None:
    http = pages(sqlite_database, store_id, posts_per_minute_per_ip=30)
    codes = []
    for n in range(40):  # 40 customers of one store unsubscribing through one mail provider
        invite = make_invite(sqlite_database, store_id, email=f"c{n}@example.com")
        codes.append(
            http.post(
                f"/u/{SIGNER.issue(Purpose.UNSUBSCRIBE, invite, NOW)}",
                content=b"List-Unsubscribe=One-Click",
                headers={"content-type": "application/x-www-form-urlencoded"},
            ).status_code
        )
    assert codes == [200] * 40
    # A forged token gains nothing: those POSTs still count against the address.
    forged = [http.post("/u/forged", content=b"List-Unsubscribe=One-Click",
                        headers={"content-type": "application/x-www-form-urlencoded"}).status_code
              for _ in range(31)]  # fmt: skip
    assert forged[-1] == 429


def test_a_score_of_5000_digits_in_a_survey_link_is_a_4xx(
    sqlite_database: Database, store_id: str
) -> None:
    http = pages(sqlite_database, store_id)
    invite = make_invite(sqlite_database, store_id)
    response = http.get(f"/s/{SIGNER.issue(Purpose.SURVEY, invite, NOW)}/{'9' * 5000}")
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("path", ["/health/", "/s/abc/9/"])
def test_slash_redirects_never_use_the_host_header(
    sqlite_database: Database, store_id: str, path: str
) -> None:
    http = pages(sqlite_database, store_id)
    response = http.get(path, headers={"host": "evil.example"}, follow_redirects=False)
    location = response.headers.get("location", "")
    assert "evil.example" not in location
    if response.status_code in (301, 302, 307, 308):
        assert location.startswith(PUBLIC + "/")


def deep_json(levels: int) -> bytes:
    return b'{"id":' + b"[" * levels + b"]" * levels + b"}"


@pytest.mark.parametrize(
    ("topic", "body", "headers"),
    [
        ("refunds/create", deep_json(100_000), {}),
        ("refunds/create", json.dumps({"id": 1, "order_id": 10**30}).encode(), {}),
        (
            "orders/fulfilled",
            json.dumps(
                {
                    "id": 5,
                    "name": "#1",
                    "total_price": "NaN",
                    "created_at": "2026-10-01T00:00:00Z",
                    "updated_at": "2026-10-01T00:00:00Z",
                }
            ).encode(),
            {},
        ),
        ("refunds/create", b'{"id": 1, "order_id": 7}', {"webhook_id": "w" * 129}),
        ("r" * 65, b'{"id": 1, "order_id": 7}', {}),
    ],
    ids=["deep-json", "huge-id", "nan-price", "long-webhook-id", "long-topic"],
)
def test_signed_but_malformed_webhooks_are_4xx_and_change_nothing(
    database: Database,
    store_id: str,
    tmp_path: Path,
    topic: str,
    body: bytes,
    headers: dict[str, str],
) -> None:
    seed(database, store_id)
    http = client(database, store_id, tmp_path, Probe())
    response = deliver(http, topic, body, **headers)
    assert 400 <= response.status_code < 500, response.text
    assert counts(database, store_id) == (5, 5)


def test_a_wrong_signature_leaves_a_warning_without_the_body(
    sqlite_database: Database, store_id: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    http = client(sqlite_database, store_id, tmp_path, Probe())
    secret_body = {"customer": {"email": "ann@example.com"}, "shop_domain": SHOP}
    with caplog.at_level(logging.WARNING):
        response = deliver(http, "customers/redact", secret_body, secret="an-old-secret")
    assert response.status_code == 401
    (record,) = [r for r in caplog.records if "signature" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert "webhook_secret" in record.getMessage()
    assert "ann@example.com" not in record.getMessage()


def test_a_comment_cannot_forge_a_line_of_the_follow_up_note() -> None:
    forged = "meh\nReturned or refunded: yes\nContacted support: yes, 9 ticket(s)"
    note = followup_note(
        FollowupFacts(
            response_id=1,
            score=2,
            comment=forged,
            email="a@example.com",
            responded_at=datetime(2026, 10, 1, tzinfo=UTC),
            customer_id=1,
            customer_name="A",
            order_name="#1",
            returned=False,
            support_tickets=0,
            window_days=90,
        )
    )
    lines = note.splitlines()
    assert "Returned or refunded: no" in lines
    assert "Returned or refunded: yes" not in lines
    assert "> Returned or refunded: yes" in lines
    assert [line for line in lines if line.startswith("Contacted support:")] == [
        "Contacted support: no ticket in the 90 days before"
    ]


class NoTags:
    def add_ticket_tags(self, ticket_id: int, tags: object) -> None:
        raise AssertionError("nothing to tag in these tests")


def zendesk_event(event_id: object, ticket_id: object, requester: object) -> bytes:
    detail = {"id": ticket_id, "requester_id": requester}
    event = {"type": "zen:event-type:ticket.created", "id": event_id, "detail": detail}
    return json.dumps(event).encode()


@pytest.mark.parametrize(
    "body",
    [
        zendesk_event("e" * 129, "1", "2"),
        zendesk_event("ok", "1", str(10**30)),
        zendesk_event("ok", 10**30, "2"),
        b'{"type": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
    ids=["long-event-id", "huge-requester", "huge-ticket", "deep-json"],
)
def test_signed_but_malformed_zendesk_events_are_4xx(
    database: Database, store_id: str, body: bytes
) -> None:
    import base64
    import hashlib
    import hmac

    from nps_engine.web.zendesk_webhooks import Receiver as ZendeskReceiver
    from nps_engine.web.zendesk_webhooks import receiver_routes as zendesk_routes

    secret, stamp = "zendesk-signing-secret", "2026-11-01T12:00:00Z"
    receiver = ZendeskReceiver(store_id, secret, database, lambda: NoTags())
    moment = datetime(2026, 11, 1, 12, tzinfo=UTC)
    http = TestClient(Starlette(routes=zendesk_routes(receiver, lambda: moment)))
    mac = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
    response = http.post(
        "/webhooks/zendesk",
        content=body,
        headers={
            "X-Zendesk-Webhook-Signature": base64.b64encode(mac).decode(),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        },
    )
    assert 400 <= response.status_code < 500, response.text
