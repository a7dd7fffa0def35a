"""Authentication, the account rate limit and injected faults, as clients see them on the wire."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from zenpy import Zenpy

from sandbox.clock import ManualClock
from sandbox.loopback import Response, Route
from sandbox.traffic import Fault, FaultPlan
from sandbox.zendesk import ZendeskOptions, ZendeskSimulator

ME = "/api/v2/users/me.json"
USER_ROUTE = "GET /api/v2/users/{id}.json"


def get(zendesk: ZendeskSimulator, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("auth", (f"{zendesk.options.email}/token", zendesk.options.api_token))
    return requests.get(f"{zendesk.base_url}{path}", timeout=5, **kwargs)


@pytest.mark.parametrize(
    "auth",
    [None, ("agent@nps-sandbox.example/token", "wrong"), ("agent@nps-sandbox.example", "password")],
    ids=["none", "wrong-token", "password"],
)
def test_bad_credentials_get_401_couldnt_authenticate_you(
    zendesk: ZendeskSimulator, auth: tuple[str, str] | None
) -> None:
    answer = get(zendesk, ME, auth=auth)
    assert answer.status_code == 401
    assert answer.json() == {"error": "Couldn't authenticate you"}


def test_email_case_does_not_matter_and_bearer_tokens_work(zendesk: ZendeskSimulator) -> None:
    email = zendesk.options.email.upper()
    assert get(zendesk, ME, auth=(f"{email}/token", zendesk.options.api_token)).ok
    bearer = {"Authorization": f"Bearer {zendesk.options.oauth_token}"}
    assert get(zendesk, ME, auth=None, headers=bearer).json()["user"]["role"] == "admin"


def test_every_answer_carries_the_rate_limit_headers(zendesk: ZendeskSimulator) -> None:
    first, second = get(zendesk, ME), get(zendesk, ME)
    assert first.headers["X-Rate-Limit"] == "400"
    assert first.headers["X-Rate-Limit-Remaining"] == "399"
    assert second.headers["X-Rate-Limit-Remaining"] == "398"
    assert second.headers["ratelimit-limit"] == "400"
    assert int(second.headers["ratelimit-reset"]) <= 60


@pytest.mark.parametrize("zendesk_options", [ZendeskOptions(requests_per_minute=3)])
def test_over_the_account_limit_answers_429_with_an_integer_retry_after(
    zendesk: ZendeskSimulator, fake_clock: ManualClock
) -> None:
    answers = [get(zendesk, ME) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].headers["Retry-After"] == "60"
    assert answers[-1].headers["X-Rate-Limit-Remaining"] == "0"
    fake_clock.advance(60)
    assert get(zendesk, ME).status_code == 200
    assert zendesk.traffic.snapshot().rate_limited == 1


@pytest.mark.parametrize("zendesk_options", [ZendeskOptions(requests_per_minute=2)])
def test_zenpy_sleeps_retry_after_and_gets_its_answer(
    zendesk: ZendeskSimulator, zenpy_client: Zenpy, fake_clock: ManualClock
) -> None:
    user_id = next(iter(zendesk.world.zendesk_users))
    started = fake_clock.monotonic()
    names = [zenpy_client.users(id=user_id).name for _ in range(3)]
    assert len(set(names)) == 1
    assert fake_clock.monotonic() - started == 60  # one Retry-After, slept second by second
    assert zendesk.traffic.snapshot().rate_limited == 1


def test_unknown_api_path_is_404_invalid_endpoint(zendesk: ZendeskSimulator) -> None:
    answer = get(zendesk, "/api/v2/no_such_thing.json")
    assert answer.status_code == 404
    assert answer.json()["error"] == "InvalidEndpoint"


def test_scripted_502_arrives_as_an_html_page_and_zenpy_raises_http_error(
    zendesk: ZendeskSimulator, zenpy_client: Zenpy
) -> None:
    user_id = next(iter(zendesk.world.zendesk_users))
    zendesk.traffic.script(USER_ROUTE, 1, Fault.gateway_error(502))
    with pytest.raises(requests.HTTPError, match="502"):
        zenpy_client.users(id=user_id)
    assert zenpy_client.users(id=user_id).id == user_id
    snapshot = zendesk.traffic.snapshot()
    assert snapshot.faults_by_kind == {"respond:502": 1}
    assert snapshot.calls_by_status == {502: 1, 200: 1}


def test_a_connection_reset_reaches_the_client_and_is_counted(zendesk: ZendeskSimulator) -> None:
    zendesk.traffic.script("*", 1, Fault.reset())
    with pytest.raises(requests.ConnectionError):
        get(zendesk, ME)
    assert get(zendesk, ME).ok
    assert zendesk.traffic.snapshot().calls_by_status == {0: 1, 200: 1}


def test_random_faults_follow_the_plan_and_its_seed(zendesk: ZendeskSimulator) -> None:
    zendesk.traffic.configure(FaultPlan(error_rate=0.5, seed=3))
    statuses = [get(zendesk, ME).status_code for _ in range(40)]
    zendesk.traffic.reset_counters()
    zendesk.traffic.configure(FaultPlan(error_rate=0.5, seed=3))
    assert [get(zendesk, ME).status_code for _ in range(40)] == statuses
    assert 5 < sum(s >= 500 for s in statuses) < 35
    html = [a for a in (get(zendesk, ME) for _ in range(10)) if a.status_code >= 500]
    assert all(a.headers["Content-Type"] == "text/html" for a in html)


def test_a_slow_response_is_delayed_then_served(zendesk: ZendeskSimulator) -> None:
    zendesk.traffic.script("*", 1, Fault.delay(0.3))
    answer = get(zendesk, ME)
    assert answer.ok
    assert answer.elapsed.total_seconds() >= 0.3


def test_application_answers_carry_a_request_id_for_support(zendesk: ZendeskSimulator) -> None:
    ok, missing = get(zendesk, ME), get(zendesk, "/api/v2/users/4242.json")
    assert ok.headers["X-Request-Id"] != missing.headers["X-Request-Id"]


def test_a_scripted_rate_limit_is_a_429_zenpy_waits_out(
    zendesk: ZendeskSimulator, zenpy_client: Zenpy, fake_clock: ManualClock
) -> None:
    user_id = next(iter(zendesk.world.zendesk_users))
    zendesk.traffic.script(USER_ROUTE, 1, Fault.signal("rate_limited"))
    started = fake_clock.monotonic()
    assert zenpy_client.users(id=user_id).id == user_id
    assert fake_clock.monotonic() - started == 1
    assert zendesk.traffic.snapshot().calls_by_status == {429: 1, 200: 1}


def test_a_malformed_page_number_is_a_400_not_a_server_error(zendesk: ZendeskSimulator) -> None:
    answer = get(zendesk, "/api/v2/tickets.json", params={"page": "two"})
    assert answer.status_code == 400
    search = get(zendesk, "/api/v2/users/search.json", params={"query": "a", "page": "0"})
    assert search.status_code == 400


def test_a_simulator_bug_is_a_500_recorded_for_the_tests(zendesk: ZendeskSimulator) -> None:
    route = next(r for r in zendesk.server.routes if r.name == "GET /api/v2/users/me.json")
    zendesk.server.routes.insert(0, Route(route.method, route.pattern, route.name, _raise))
    answer = get(zendesk, ME)
    assert answer.status_code == 500
    assert "boom" in zendesk.server.errors.pop()


def _raise(request: object) -> Response:
    raise RuntimeError("boom")
