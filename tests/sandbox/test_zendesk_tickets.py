"""Ticket creation with an internal note, ticket tags, update_many, and ticket.created webhooks."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import requests
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, Ticket

from sandbox.world import World
from sandbox.zendesk import ZendeskOptions, ZendeskSimulator, sign

Sample = Callable[[str], dict[str, Any]]


def call(zendesk: ZendeskSimulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    auth = (f"{zendesk.options.email}/token", zendesk.options.api_token)
    return requests.request(method, f"{zendesk.base_url}{path}", auth=auth, timeout=5, **kwargs)


def ticket_in(world: World, status: str) -> int:
    return next(t.id for t in world.tickets.values() if t.status == status)


def follow_up(requester_id: int) -> Ticket:
    return Ticket(
        requester_id=requester_id,
        subject="NPS detractor follow-up",
        tags=["nps_followup"],
        group_id=77,
        comment=Comment(body="Score 3: parcel arrived broken", public=False),
    )


def test_created_ticket_has_an_internal_note_and_the_real_201_shape(
    zendesk: ZendeskSimulator, zenpy_client: Zenpy, zendesk_sample: Sample
) -> None:
    requester = next(iter(zendesk.world.zendesk_users))
    audit = zenpy_client.tickets.create(follow_up(requester))
    ticket = zendesk.world.tickets[audit.ticket.id]
    assert (ticket.requester_id, ticket.tags, ticket.status) == (requester, ["nps_followup"], "new")
    assert [(c.body, c.public) for c in ticket.comments] == [
        ("Score 3: parcel arrived broken", False)
    ]
    assert audit.ticket.group_id == 77
    assert audit.ticket.is_public is False

    real = zendesk_sample("ticket_create_single_201.json")["response"]
    answer = call(
        zendesk, "POST", "/api/v2/tickets.json", json={"ticket": follow_up(requester).to_dict()}
    )
    assert answer.status_code == real["status"]["code"] == 201
    assert sorted(answer.json()) == sorted(real["body"])
    assert sorted(answer.json()["ticket"]) == sorted(real["body"]["ticket"])
    assert sorted(answer.json()["audit"]) == sorted(real["body"]["audit"])
    assert answer.headers["Location"] == answer.json()["ticket"]["url"]
    note = answer.json()["audit"]["events"][0]
    assert (note["type"], note["public"]) == ("Comment", False)


def test_a_ticket_without_a_known_requester_is_refused_with_422(
    zendesk: ZendeskSimulator,
) -> None:
    body = {"ticket": {"requester_id": 4242, "subject": "x", "comment": {"body": "y"}}}
    answer = call(zendesk, "POST", "/api/v2/tickets.json", json=body)
    assert answer.status_code == 422
    assert answer.json()["error"] == "RecordInvalid"


def test_ticket_tags_add_and_remove_on_an_open_ticket(
    zendesk: ZendeskSimulator, zenpy_client: Zenpy
) -> None:
    ticket_id = ticket_in(zendesk.world, "open")
    assert "nps_detractor" in list(zenpy_client.tickets.add_tags(ticket_id, ["nps_detractor"]))
    zenpy_client.tickets.delete_tags(ticket_id, ["nps_detractor"])
    assert "nps_detractor" not in zendesk.world.tickets[ticket_id].tags


def test_tags_endpoints_cannot_change_a_closed_ticket(zendesk: ZendeskSimulator) -> None:
    ticket_id = ticket_in(zendesk.world, "closed")
    before = list(zendesk.world.tickets[ticket_id].tags)
    answer = call(zendesk, "PUT", f"/api/v2/tickets/{ticket_id}/tags.json", json={"tags": ["x"]})
    assert answer.status_code == 422
    assert zendesk.world.tickets[ticket_id].tags == before


def test_update_many_with_ids_adds_and_removes_tags_even_on_closed_tickets(
    zendesk: ZendeskSimulator, zenpy_client: Zenpy
) -> None:
    ids = [ticket_in(zendesk.world, "open"), ticket_in(zendesk.world, "closed")]
    zendesk.world.tickets[ids[0]].tags.append("nps_passive")
    body = {"ticket": {"additional_tags": ["nps_promoter"], "remove_tags": ["nps_passive"]}}
    answer = call(
        zendesk,
        "PUT",
        "/api/v2/tickets/update_many.json",
        params={"ids": f"{ids[0]},{ids[1]}"},
        json=body,
    )
    job_id = answer.json()["job_status"]["id"]
    zenpy_client.job_status(id=job_id)
    done = zenpy_client.job_status(id=job_id)
    assert [(r.id, r.status) for r in done.results] == [(ids[0], "Updated"), (ids[1], "Updated")]
    for ticket_id in ids:
        tags = zendesk.world.tickets[ticket_id].tags
        assert "nps_promoter" in tags
        assert "nps_passive" not in tags


def test_update_many_job_has_the_keys_of_the_real_queued_job(
    zendesk: ZendeskSimulator, zendesk_sample: Sample
) -> None:
    real = zendesk_sample("tickets_update_many_response_job_queued.json")["response"]["body"]
    body = {"tickets": [{"id": ticket_in(zendesk.world, "open"), "additional_tags": "nps_x"}]}
    ours = call(zendesk, "PUT", "/api/v2/tickets/update_many.json", json=body).json()
    assert sorted(ours["job_status"]) == sorted(real["job_status"])
    assert ours["job_status"]["id"].startswith("V3-")
    assert ours["job_status"]["url"].startswith(zendesk.base_url)


def test_more_than_100_tickets_is_400_too_many_values(zendesk: ZendeskSimulator) -> None:
    ids = ",".join(str(i) for i in range(1, 102))
    body = {"ticket": {"additional_tags": ["x"]}}
    answer = call(
        zendesk, "PUT", "/api/v2/tickets/update_many.json", params={"ids": ids}, json=body
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "TooManyValues"


class _Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                receiver.arrived.set()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/zendesk"


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    receiver = _Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def zendesk_options(receiver: _Receiver) -> ZendeskOptions:
    return ZendeskOptions(webhook_url=receiver.url, webhook_secret="whsec-test")


def test_a_customer_ticket_sends_a_signed_ticket_created_event(
    zendesk: ZendeskSimulator, receiver: _Receiver, zendesk_sample: Sample
) -> None:
    requester = next(iter(zendesk.world.zendesk_users))
    ticket = zendesk.open_ticket(requester, "Colis abîmé", "Bonjour, mon colis est arrivé abîmé.")
    assert receiver.arrived.wait(5)
    headers, body = receiver.received[0]
    stamp = headers["X-Zendesk-Webhook-Signature-Timestamp"]
    assert headers["X-Zendesk-Webhook-Signature"] == sign("whsec-test", stamp, body)
    event = json.loads(body)
    real = zendesk_sample("docs_examples/webhook_ticket_created_event_thirdparty_example.json")
    assert sorted(event) == sorted(real["body"])
    assert event["type"] == "zen:event-type:ticket.created"
    assert event["subject"] == f"zen:ticket:{ticket.id}"
    assert event["detail"]["id"] == str(ticket.id)  # ids are strings in event payloads
    assert event["detail"]["requester_id"] == str(requester)
    assert set(real["headers"]) <= set(headers)


def test_an_api_created_ticket_also_sends_the_event(
    zendesk: ZendeskSimulator, zenpy_client: Zenpy, receiver: _Receiver
) -> None:
    audit = zenpy_client.tickets.create(follow_up(next(iter(zendesk.world.zendesk_users))))
    assert receiver.arrived.wait(5)
    assert json.loads(receiver.received[0][1])["detail"]["id"] == str(audit.ticket.id)
    assert zendesk.webhook_sender is not None
    zendesk.webhook_sender.flush()
    assert [d.status for d in zendesk.webhook_sender.deliveries] == [200]


def test_signature_uses_the_secret_as_raw_utf8_like_the_docs_vector(zendesk_sample: Sample) -> None:
    # The old docs vector signed BODY + TIMESTAMP; fed in that order it must match, which pins
    # the key handling (raw UTF-8, not base64-decoded). Our order is the current docs' one.
    vector = zendesk_sample("docs_examples/webhook_signature_test_vector.json")
    signed = sign(vector["signing_secret"], "", (vector["body"] + vector["timestamp"]).encode())
    assert signed == vector["signature"]
    current = sign(vector["signing_secret"], vector["timestamp"], vector["body"].encode())
    assert current == vector["computed_locally"]["utf8_key__ts_plus_body"]


def test_a_ticket_created_with_an_external_id_is_listed_by_it_at_once(
    zendesk: ZendeskSimulator,
) -> None:
    requester = next(iter(zendesk.world.zendesk_users))
    body = {
        "ticket": {
            "requester_id": requester,
            "subject": "NPS follow-up",
            "external_id": "nps-response-42",
            "comment": {"body": "Score 2", "public": False},
        }
    }
    created = call(zendesk, "POST", "/api/v2/tickets.json", json=body).json()["ticket"]
    assert created["external_id"] == "nps-response-42"
    listed = call(zendesk, "GET", "/api/v2/tickets.json", params={"external_id": "nps-response-42"})
    assert [t["id"] for t in listed.json()["tickets"]] == [created["id"]]
    assert listed.json()["count"] == 1
    none = call(zendesk, "GET", "/api/v2/tickets.json", params={"external_id": "nps-response-43"})
    assert none.json()["tickets"] == []


def test_a_ticket_for_an_unknown_email_creates_the_requester(zendesk: ZendeskSimulator) -> None:
    body = {
        "ticket": {
            "requester": {"email": "New.Person@example.org", "name": "New Person"},
            "subject": "NPS follow-up",
            "comment": {"body": "Score 1", "public": False},
        }
    }
    created = call(zendesk, "POST", "/api/v2/tickets.json", json=body).json()["ticket"]
    requester = zendesk.world.zendesk_users[created["requester_id"]]
    assert (requester.email, requester.name) == ("New.Person@example.org", "New Person")
    again = call(zendesk, "POST", "/api/v2/tickets.json", json=body).json()["ticket"]
    assert again["requester_id"] == created["requester_id"]
