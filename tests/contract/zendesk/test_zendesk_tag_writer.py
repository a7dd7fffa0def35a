"""The tag writer's contract: additive tag calls, fields only when they exist, 100 per bulk call,
jobs polled, and an outcome for every customer."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import responses
from fakes import FakeUserDirectory
from responses import matchers
from zendesk_fakes import (  # noqa: F401 - fixtures
    API,
    Sleeps,
    client_fixture,
    failed,
    job_json,
    make_client,
    sleeps_fixture,
    updated,
    user_json,
)

from connectors.zendesk.client import ZendeskClient
from connectors.zendesk.tag_writer import ZendeskTagWriter
from nps_engine.ports import PushOutcome, TagChange

FIELDS_URL = f"{API}/user_fields.json"
NPS_FIELDS = {"nps_score": 9, "nps_category": "promoter", "nps_responded_at": "2026-10-30"}


def change(
    customer_id: int,
    *,
    add: tuple[str, ...] = ("nps_promoter", "nps_score_9"),
    remove: tuple[str, ...] = (),
    fields: Mapping[str, object] | None = None,
) -> TagChange:
    return TagChange(customer_id, f"c{customer_id}@example.com", add, remove, add, fields or {})


def field_list(*keys: str) -> dict[str, Any]:
    return {
        "user_fields": [{"id": i, "key": k, "type": "text"} for i, k in enumerate(keys)],
        "next_page": None,
        "previous_page": None,
        "count": len(keys),
    }


def push(
    client: ZendeskClient, directory: FakeUserDirectory, changes: list[TagChange], **options: Any
) -> list[PushOutcome]:
    return list(ZendeskTagWriter(client, directory, sleep=lambda _s: None, **options).push(changes))


def methods() -> list[str]:
    return [f"{c.request.method} {c.request.url}" for c in responses.calls]


@responses.activate
def test_new_tags_are_added_with_put_and_never_set(client: ZendeskClient) -> None:
    responses.put(
        f"{API}/users/501/tags.json",
        json={"tags": ["vip", "nps_promoter", "nps_score_9"]},
        match=[matchers.json_params_matcher({"tags": ["nps_promoter", "nps_score_9"]})],
    )
    outcomes = push(client, FakeUserDirectory({1: 501}), [change(1)], tag_open_tickets=False)
    assert outcomes == [PushOutcome(1, ok=True)]
    assert methods() == [f"PUT {API}/users/501/tags.json"]


@responses.activate
def test_stale_tags_are_removed_with_delete(client: ZendeskClient) -> None:
    responses.put(f"{API}/users/501/tags.json", json={"tags": ["nps_detractor", "nps_score_3"]})
    responses.delete(
        f"{API}/users/501/tags.json",
        status=204,
        match=[matchers.json_params_matcher({"tags": ["nps_promoter", "nps_score_9"]})],
    )
    c = change(1, add=("nps_detractor", "nps_score_3"), remove=("nps_promoter", "nps_score_9"))
    assert push(client, FakeUserDirectory({1: 501}), [c], tag_open_tickets=False)[0].ok
    assert [m.split()[0] for m in methods()] == ["PUT", "DELETE"]


@responses.activate
def test_unknown_customer_is_searched_by_exact_email_and_remembered(client: ZendeskClient) -> None:
    responses.get(
        f"{API}/users/search.json",
        json={
            "users": [user_json(600, "c1@example.com.au"), user_json(601, "C1@Example.com")],
            "next_page": None,
            "previous_page": None,
            "count": 2,
        },
        match=[matchers.query_param_matcher({"query": 'email:"c1@example.com"'})],
    )
    responses.put(f"{API}/users/601/tags.json", json={"tags": []})
    directory = FakeUserDirectory()
    assert push(client, directory, [change(1)], tag_open_tickets=False)[0].ok
    assert directory.remembered == [(1, 601)]


@responses.activate
def test_customer_without_zendesk_user_is_skipped_without_a_write(
    client: ZendeskClient,
) -> None:
    """Customers who never contacted support have no Zendesk user: nothing to tag, no error, and
    no new search until the ticket sync links a user to them."""
    responses.get(
        f"{API}/users/search.json",
        json={"users": [], "next_page": None, "previous_page": None, "count": 0},
    )
    outcome = push(client, FakeUserDirectory(), [change(1)])[0]
    assert (outcome.ok, outcome.skipped, outcome.retryable) == (False, True, False)
    assert client.traffic.writes == 0


@responses.activate
def test_customer_without_email_is_a_permanent_failure(client: ZendeskClient) -> None:
    c = TagChange(1, None, ("nps_promoter",), (), ("nps_promoter",))
    outcome = push(client, FakeUserDirectory(), [c])[0]
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert len(responses.calls) == 0


@responses.activate
def test_deleted_zendesk_user_is_forgotten_so_the_next_run_searches_again(
    client: ZendeskClient,
) -> None:
    responses.put(
        f"{API}/users/501/tags.json",
        status=404,
        json={"error": "RecordNotFound", "description": "Not found"},
    )
    directory = FakeUserDirectory({1: 501})
    outcome = push(client, directory, [change(1)], tag_open_tickets=False)[0]
    assert not outcome.ok
    assert directory.forgotten == [501]


@responses.activate
def test_fields_are_skipped_when_the_account_has_none(client: ZendeskClient) -> None:
    responses.get(FIELDS_URL, json=field_list("favourite_colour"))
    responses.put(f"{API}/users/501/tags.json", json={"tags": []})
    assert push(
        client, FakeUserDirectory({1: 501}), [change(1, fields=NPS_FIELDS)], tag_open_tickets=False
    )[0].ok
    assert f"PUT {API}/users/update_many.json" not in methods()


@responses.activate
def test_fields_go_in_batches_of_100_and_each_job_is_polled(client: ZendeskClient) -> None:
    responses.get(FIELDS_URL, json=field_list("nps_score", "nps_category"))  # no nps_responded_at
    users = {c: 1000 + c for c in range(150)}
    responses.put(re.compile(rf"{API}/users/\d+/tags.json"), json={"tags": []})
    responses.put(f"{API}/users/update_many.json", json=job_json("J1", "queued"))
    responses.get(
        f"{API}/job_statuses/J1.json",
        json=job_json("J1", "completed", [updated(u) for u in users.values()]),
    )
    changes = [change(c, fields=NPS_FIELDS) for c in users]
    outcomes = push(client, FakeUserDirectory(users), changes, tag_open_tickets=False)
    assert all(o.ok for o in outcomes)
    bulk = [c.request for c in responses.calls if c.request.url == f"{API}/users/update_many.json"]
    assert [len(json.loads(r.body)["users"]) for r in bulk] == [100, 50]
    assert json.loads(bulk[0].body)["users"][0]["user_fields"] == {
        "nps_score": 9,
        "nps_category": "promoter",
    }
    assert sum(1 for c in responses.calls if c.request.url == FIELDS_URL) == 1  # once per run


@responses.activate
def test_a_user_whose_fields_failed_in_the_job_is_reported_not_ok(client: ZendeskClient) -> None:
    responses.get(FIELDS_URL, json=field_list("nps_score", "nps_category", "nps_responded_at"))
    for user_id in (501, 502):
        responses.put(f"{API}/users/{user_id}/tags.json", json={"tags": []})
    responses.put(f"{API}/users/update_many.json", json=job_json("J1", "queued"))
    responses.get(
        f"{API}/job_statuses/J1.json", json=job_json("J1", "completed", [updated(501), failed(502)])
    )
    outcomes = push(
        client,
        FakeUserDirectory({1: 501, 2: 502}),
        [change(1, fields=NPS_FIELDS), change(2, fields=NPS_FIELDS)],
        tag_open_tickets=False,
    )
    assert [o.ok for o in outcomes] == [True, False]


@responses.activate
def test_open_tickets_of_many_users_share_bulk_calls_of_100(client: ZendeskClient) -> None:
    users = {1: 501, 2: 502}
    tickets = {501: list(range(1, 121)), 502: list(range(200, 240))}
    for user_id in users.values():
        responses.put(f"{API}/users/{user_id}/tags.json", json={"tags": []})
    responses.delete(f"{API}/users/502/tags.json", status=204)
    responses.put(f"{API}/tickets/update_many.json", json=job_json("T1", "queued"))
    responses.get(f"{API}/job_statuses/T1.json", json=job_json("T1", "completed", []))
    c2 = change(2, add=("nps_detractor",), remove=("nps_promoter",))
    outcomes = push(client, FakeUserDirectory(users, tickets), [change(1), c2])
    assert all(o.ok for o in outcomes)
    bulk = [
        json.loads(c.request.body)["tickets"]
        for c in responses.calls
        if c.request.url == f"{API}/tickets/update_many.json"
    ]
    assert [len(b) for b in bulk] == [100, 60]
    assert bulk[1][-1] == {
        "id": 239,
        "additional_tags": ["nps_detractor"],
        "remove_tags": ["nps_promoter"],
    }
    assert bulk[0][0] == {"id": 1, "additional_tags": ["nps_promoter", "nps_score_9"]}


@responses.activate
def test_a_spent_rate_limit_budget_reports_the_rest_as_not_pushed_yet(sleeps: Sleeps) -> None:
    client = make_client(sleeps, ratelimit_budget_seconds=3)
    responses.put(f"{API}/users/501/tags.json", json={"tags": []})
    responses.put(f"{API}/users/502/tags.json", status=429, headers={"Retry-After": "30"})
    changes = [change(1), change(2), change(3)]
    outcomes = push(
        client, FakeUserDirectory({1: 501, 2: 502, 3: 503}), changes, tag_open_tickets=False
    )
    assert [(o.customer_id, o.ok, o.retryable) for o in outcomes] == [
        (1, False, True),  # its chunk did not finish: pushed again next run (tags are additive)
        (2, False, True),
        (3, False, True),
    ]
    assert "rate limit" in (outcomes[1].error or "")
    assert len(responses.calls) == 2  # nothing more was sent once the budget was spent
