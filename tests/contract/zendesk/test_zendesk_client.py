"""The client's contract: where requests go, who we say we are, and how every failure is typed."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime

import pytest
import responses
from responses.registries import OrderedRegistry
from zendesk_fakes import (  # noqa: F401 - fixtures
    API,
    EMAIL,
    TOKEN,
    Sleeps,
    client_fixture,
    make_client,
    sleeps_fixture,
    user_json,
)

from connectors.http import USER_AGENT
from connectors.zendesk.client import ZendeskClient, whole_seconds
from connectors.zendesk.errors import (
    ZendeskAuthenticationError,
    ZendeskRateLimited,
    ZendeskRecordNotFound,
    ZendeskRequestRejected,
    ZendeskTransientError,
)

USER_URL = f"{API}/users/5.json"


def show_user(client: ZendeskClient) -> int:
    return int(
        client.call("show user", lambda _z: client.send("GET", "users/5.json"))["user"]["id"]
    )


@responses.activate
def test_requests_carry_our_user_agent_and_token_auth(client: ZendeskClient) -> None:
    responses.get(USER_URL, json={"user": user_json(5, "a@b.test")})
    assert show_user(client) == 5
    sent = responses.calls[0].request
    assert sent.headers["User-Agent"] == USER_AGENT
    expected = base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
    assert sent.headers["Authorization"] == f"Basic {expected}"


@responses.activate
def test_oauth_token_is_sent_as_bearer(sleeps: Sleeps) -> None:
    client = make_client(sleeps, email=None, api_token=None, oauth_token="oauth-abc")
    responses.get(USER_URL, json={"user": user_json(5, None)})
    show_user(client)
    assert responses.calls[0].request.headers["Authorization"] == "Bearer oauth-abc"


@responses.activate
def test_base_url_sends_every_api_to_the_sandbox_without_touching_the_environment(
    sleeps: Sleeps,
) -> None:
    client = make_client(sleeps, base_url="http://127.0.0.1:8702/")
    responses.get("http://127.0.0.1:8702/api/v2/users/5.json", json={"user": user_json(5, None)})
    responses.get(
        "http://127.0.0.1:8702/api/v2/user_fields.json",
        json={"user_fields": [], "next_page": None, "previous_page": None, "count": 0},
    )
    assert show_user(client) == 5
    # users.search / user_fields are separate zenpy Api objects: they follow the override too.
    assert client.call("fields", lambda z: list(z.user_fields())) == []
    assert "ZENPY_FORCE_NETLOC" not in os.environ
    assert "ZENPY_FORCE_SCHEME" not in os.environ


@pytest.mark.parametrize(
    "base_url", ["ftp://host.example", "http://proxy.example/zendesk", "http://myproxy:8080"]
)
def test_unusable_base_url_is_refused_with_the_key_named(base_url: str, sleeps: Sleeps) -> None:
    with pytest.raises(ValueError, match=r"zendesk\.base_url"):
        make_client(sleeps, base_url=base_url)


def test_localhost_base_url_is_accepted(sleeps: Sleeps) -> None:
    make_client(sleeps, base_url="http://localhost:8702")


@responses.activate(registry=OrderedRegistry)
def test_429_with_retry_after_is_waited_by_zenpy_alone(
    client: ZendeskClient, sleeps: Sleeps
) -> None:
    responses.get(USER_URL, status=429, headers={"Retry-After": "3"}, body="Too Many Requests")
    responses.get(USER_URL, json={"user": user_json(5, None)})
    assert show_user(client) == 5
    assert sleeps.zenpy == [1, 1, 1]
    assert sleeps.ours == []  # our policy did not stack another wait on top
    assert client.traffic.throttled == 1


@responses.activate(registry=OrderedRegistry)
def test_fractional_retry_after_is_rounded_up_instead_of_crashing_zenpy(
    client: ZendeskClient, sleeps: Sleeps
) -> None:
    responses.get(USER_URL, status=429, headers={"Retry-After": "1.5"}, body="slow down")
    responses.get(USER_URL, json={"user": user_json(5, None)})
    assert show_user(client) == 5
    assert sleeps.zenpy == [1, 1]


@responses.activate
def test_endless_429_ends_the_run_once_the_budget_is_spent(sleeps: Sleeps) -> None:
    client = make_client(sleeps, ratelimit_budget_seconds=5)
    responses.get(USER_URL, status=429, headers={"Retry-After": "2"}, body="Too Many Requests")
    with pytest.raises(ZendeskRateLimited) as caught:
        show_user(client)
    assert caught.value.budget_spent
    assert caught.value.retry_after == 2
    assert len(sleeps.zenpy) == 4  # budget 5 allows 4 one-second sleeps
    assert sleeps.ours == []
    assert len(responses.calls) == 3  # the first call and two retries after 2 s each


@responses.activate(registry=OrderedRegistry)
def test_429_without_retry_after_is_retried_by_our_policy(
    client: ZendeskClient, sleeps: Sleeps
) -> None:
    responses.get(USER_URL, status=429, body="You have exceeded the rate limit")
    responses.get(USER_URL, json={"user": user_json(5, None)})
    assert show_user(client) == 5
    assert sleeps.zenpy == []
    assert sleeps.ours == [5.0]


@responses.activate(registry=OrderedRegistry)
def test_503_503_200_is_retried_by_our_one_policy(client: ZendeskClient, sleeps: Sleeps) -> None:
    for _ in range(2):
        responses.get(USER_URL, status=503, json={"error": "ServiceUnavailable"})
    responses.get(USER_URL, json={"user": user_json(5, None)})
    assert show_user(client) == 5
    assert len(responses.calls) == 3  # no urllib3 retry adapter underneath: exactly our tries
    assert len(sleeps.ours) == 2


@responses.activate
def test_server_that_stays_down_gives_a_transient_error_after_bounded_tries(
    client: ZendeskClient, sleeps: Sleeps
) -> None:
    responses.get(USER_URL, status=500, body="<html>oops</html>")
    with pytest.raises(ZendeskTransientError, match="HTTP 500"):
        show_user(client)
    assert len(responses.calls) == 5


@responses.activate
def test_write_without_retry_is_tried_once(client: ZendeskClient) -> None:
    responses.post(f"{API}/tickets.json", status=503, json={"error": "ServiceUnavailable"})
    with pytest.raises(ZendeskTransientError):
        client.call(
            "create", lambda _z: client.send("POST", "tickets.json", payload={}), retry=False
        )
    assert len(responses.calls) == 1


@responses.activate
def test_bad_token_fails_fast_naming_the_keys_and_never_the_secret(client: ZendeskClient) -> None:
    responses.get(USER_URL, status=401, json={"error": "Couldn't authenticate you"})
    with pytest.raises(ZendeskAuthenticationError) as caught:
        show_user(client)
    assert len(responses.calls) == 1
    assert "zendesk.email/api_token" in str(caught.value)
    assert TOKEN not in str(caught.value)


@responses.activate
def test_missing_record_is_its_own_error(client: ZendeskClient) -> None:
    responses.get(
        USER_URL, status=404, json={"error": "RecordNotFound", "description": "Not found"}
    )
    with pytest.raises(ZendeskRecordNotFound, match="RecordNotFound: Not found"):
        show_user(client)


@responses.activate
def test_validation_error_message_leaves_out_details_that_may_echo_emails(
    client: ZendeskClient,
) -> None:
    body = {
        "error": "RecordInvalid",
        "description": "Record validation errors",
        "details": {"email": [{"description": "Email: jane.doe@example.com is invalid"}]},
    }
    responses.get(USER_URL, status=422, json=body, headers={"X-Request-Id": "req-77"})
    with pytest.raises(ZendeskRequestRejected) as caught:
        show_user(client)
    assert "jane.doe" not in str(caught.value)
    assert "req-77" in str(caught.value)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", "3"),
        ("1.5", "2"),
        ("0", "0"),
        ("Sun, 01 Nov 2026 10:00:30 GMT", "30"),
        ("soon", None),
    ],
)
def test_retry_after_becomes_whole_seconds(header: str, expected: str | None) -> None:
    assert whole_seconds(header, datetime(2026, 11, 1, 10, 0, tzinfo=UTC)) == expected
