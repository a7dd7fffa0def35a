"""Follow-up tickets (internal note, external_id, no blind retry) and `nps setup zendesk`."""

from __future__ import annotations

import json

import pytest
import responses
from reference_data import reference_file
from responses import matchers
from zendesk_fakes import API, client_fixture, sleeps_fixture, ticket_json  # noqa: F401 - fixtures

from connectors.zendesk.client import ZendeskClient
from connectors.zendesk.errors import ZendeskAuthenticationError, ZendeskTransientError
from connectors.zendesk.followup import ZendeskFollowupDesk
from connectors.zendesk.user_fields import ensure_user_fields
from nps_engine.ports import FollowupTicket

TICKET = FollowupTicket(
    external_id="nps-response-shop-42",
    requester_email="jane@example.com",
    requester_name="Jane Doe",
    subject="NPS follow-up: Jane Doe scored 3",
    note="Score: 3/10",
    tags=("nps_followup",),
    requester_id=501,
    group_id=77,
    assignee_id=None,
)


def created_answer(ticket_id: int) -> dict[str, object]:
    sample = json.loads(reference_file("zendesk/samples/ticket_create_single_201.json").read_text())
    body = sample["response"]["body"]
    body["ticket"]["id"] = ticket_id
    return body  # type: ignore[no-any-return]


@responses.activate
def test_follow_up_is_an_internal_note_marked_with_its_external_id(client: ZendeskClient) -> None:
    expected = {
        "ticket": {
            "subject": "NPS follow-up: Jane Doe scored 3",
            "external_id": "nps-response-shop-42",
            "comment": {"body": "Score: 3/10", "public": False},
            "tags": ["nps_followup"],
            "requester_id": 501,
            "group_id": 77,
        }
    }
    responses.post(
        f"{API}/tickets.json",
        status=201,
        json=created_answer(9001),
        match=[matchers.json_params_matcher(expected)],
    )
    assert ZendeskFollowupDesk(client).create_followup(TICKET) == 9001


@responses.activate
def test_unknown_requester_is_given_by_email_so_zendesk_creates_the_user(
    client: ZendeskClient,
) -> None:
    responses.post(f"{API}/tickets.json", status=201, json={"ticket": ticket_json(9002, 700)})
    desk = ZendeskFollowupDesk(client)
    no_id = FollowupTicket(
        external_id="x", requester_email="new@example.com", requester_name=None,
        subject="s", note="n",
    )  # fmt: skip
    desk.create_followup(no_id)
    sent = json.loads(responses.calls[0].request.body)["ticket"]
    assert sent["requester"] == {"email": "new@example.com"}
    assert "requester_id" not in sent


@responses.activate
def test_a_failed_create_is_not_repeated_by_the_client(client: ZendeskClient) -> None:
    responses.post(f"{API}/tickets.json", status=502, body="Bad Gateway")
    with pytest.raises(ZendeskTransientError):
        ZendeskFollowupDesk(client).create_followup(TICKET)
    assert len(responses.calls) == 1  # the job reconciles by external_id instead


@responses.activate
def test_an_earlier_follow_up_is_found_by_external_id(client: ZendeskClient) -> None:
    mine = {**ticket_json(9001, 501), "external_id": "nps-response-shop-42"}
    responses.get(
        f"{API}/tickets.json",
        json={"tickets": [mine], "next_page": None, "previous_page": None, "count": 1},
        match=[matchers.query_param_matcher({"external_id": "nps-response-shop-42"})],
    )
    assert ZendeskFollowupDesk(client).find_followup("nps-response-shop-42") == 9001


@responses.activate
def test_setup_creates_only_the_missing_fields(client: ZendeskClient) -> None:
    responses.get(
        f"{API}/user_fields.json",
        json={"user_fields": [{"id": 1, "key": "nps_score", "type": "integer"}], "count": 1},
    )
    created = json.loads(reference_file("zendesk/samples/user_field_create_201.json").read_text())
    responses.post(f"{API}/user_fields.json", status=201, json=created["response"]["body"])
    report = ensure_user_fields(client)
    assert report.existing == ["nps_score"]
    assert report.created == ["nps_category", "nps_responded_at"]
    sent = [json.loads(c.request.body)["user_field"] for c in responses.calls[1:]]
    assert [(f["key"], f["type"]) for f in sent] == [
        ("nps_category", "text"),
        ("nps_responded_at", "date"),
    ]
    assert report.complete


@responses.activate
def test_setup_by_an_agent_says_an_admin_is_needed(client: ZendeskClient) -> None:
    responses.get(f"{API}/user_fields.json", json={"user_fields": [], "count": 0})
    responses.post(f"{API}/user_fields.json", status=403, json={"error": "Forbidden"})
    report = ensure_user_fields(client)
    assert report.created == []
    assert report.refused is not None
    assert "admin" in report.refused


@responses.activate
def test_setup_with_a_bad_token_raises(client: ZendeskClient) -> None:
    responses.get(
        f"{API}/user_fields.json", status=401, json={"error": "Couldn't authenticate you"}
    )
    with pytest.raises(ZendeskAuthenticationError):
        ensure_user_fields(client)
