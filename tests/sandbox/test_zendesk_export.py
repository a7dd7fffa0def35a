"""The incremental ticket export, compared with the recorded real pages and driven by zenpy."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from zenpy import Zenpy
from zenpy.lib.api_objects import Comment, Ticket

from sandbox.clock import ManualClock
from sandbox.world import Ticket as WorldTicket
from sandbox.zendesk import ZendeskSimulator, export

EXPORT = "/api/v2/incremental/tickets/cursor.json"
Sample = Callable[[str], dict[str, Any]]


def get(zendesk: ZendeskSimulator, path: str, **params: Any) -> requests.Response:
    auth = (f"{zendesk.options.email}/token", zendesk.options.api_token)
    return requests.get(f"{zendesk.base_url}{path}", params=params, auth=auth, timeout=5)


def assert_same_shape(ours: dict[str, Any], real: dict[str, Any]) -> None:
    """Same keys; where the real value is not null, the same JSON type."""
    assert sorted(ours) == sorted(real)
    for key, value in real.items():
        if value is not None and ours[key] is not None:
            assert type(ours[key]) is type(value), key


def test_a_page_has_the_keys_and_types_of_a_real_page(
    zendesk: ZendeskSimulator, zendesk_sample: Sample
) -> None:
    real = zendesk_sample("incremental_tickets_cursor_per_page1.json")["response"]["body"]
    ours = get(zendesk, EXPORT, start_time=0, per_page=1).json()
    assert_same_shape(ours, real)
    assert_same_shape(ours["tickets"][0], real["tickets"][0])
    assert ours["before_url"] is None
    assert ours["before_cursor"] is None
    assert ours["end_of_stream"] is False


def test_after_url_is_absolute_back_to_the_simulator_and_keeps_per_page(
    zendesk: ZendeskSimulator,
) -> None:
    page = get(zendesk, EXPORT, start_time=0, per_page=2).json()
    url = urlsplit(page["after_url"])
    assert f"{url.scheme}://{url.netloc}" == zendesk.base_url
    assert url.path == EXPORT
    # "=" padding percent-encoded as Zendesk writes it; the decoded value is the after_cursor.
    assert "%3D" in url.query or "=" not in page["after_cursor"]
    assert parse_qs(url.query) == {"cursor": [page["after_cursor"]], "per_page": ["2"]}


def test_cursor_is_base64_of_timestamp_and_ticket_id_like_zendesk(
    zendesk: ZendeskSimulator,
) -> None:
    page = get(zendesk, EXPORT, start_time=0, per_page=1).json()
    ticket = page["tickets"][0]
    decoded = base64.b64decode(page["after_cursor"]).decode()
    assert decoded == f"{ticket['generated_timestamp']}.0||{ticket['id']}|"


def test_the_last_page_says_end_of_stream_and_still_has_a_cursor(zendesk: ZendeskSimulator) -> None:
    page = get(zendesk, EXPORT, start_time=0).json()
    assert page["end_of_stream"] is True
    assert page["after_cursor"]
    assert len(page["tickets"]) == len(zendesk.world.tickets)


def test_zenpy_reads_every_ticket_once_across_pages_then_resumes_from_its_cursor(
    zendesk: ZendeskSimulator, zenpy_client: Zenpy, fake_clock: ManualClock
) -> None:
    export = zenpy_client.tickets.incremental(start_time=0, include=["users"], per_page=7)
    seen = [ticket.id for ticket in export]
    assert sorted(seen) == sorted(zendesk.world.tickets)
    assert len(seen) == len(set(seen))
    saved = export.after_cursor
    assert export.end_of_stream is True

    requester = next(iter(zendesk.world.zendesk_users))
    zenpy_client.tickets.create(
        Ticket(requester_id=requester, subject="Parcel?", comment=Comment(body="Where is it?"))
    )
    fake_clock.advance(61)  # the export holds back the last minute
    resumed = [ticket.id for ticket in zenpy_client.tickets.incremental(cursor=saved)]
    assert resumed == [max(zendesk.world.tickets)]


def test_sideloaded_users_are_the_requesters_of_the_page(zendesk: ZendeskSimulator) -> None:
    page = get(zendesk, EXPORT, start_time=0, per_page=5, include="users").json()
    requesters = {ticket["requester_id"] for ticket in page["tickets"]}
    assert {user["id"] for user in page["users"]} == requesters


def test_tickets_changed_in_the_last_minute_wait_for_the_next_export(
    zendesk: ZendeskSimulator, fake_clock: ManualClock
) -> None:
    ticket = next(iter(zendesk.world.tickets.values()))
    ticket.updated_at = fake_clock.now()
    ids = [t["id"] for t in get(zendesk, EXPORT, start_time=0).json()["tickets"]]
    assert ticket.id not in ids
    fake_clock.advance(61)
    ids = [t["id"] for t in get(zendesk, EXPORT, start_time=0).json()["tickets"]]
    assert ids[-1] == ticket.id


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start_time": 0, "cursor": "MTY5NTA1MjY2My4wfHwyOHw="}, "not both"),
        ({}, "either start_time or cursor"),
        ({"start_time": 0, "per_page": 1001}, "per_page"),
        ({"cursor": "not-a-cursor"}, "Invalid cursor"),
    ],
)
def test_bad_export_requests_get_a_400_saying_why(
    zendesk: ZendeskSimulator, params: dict[str, Any], message: str
) -> None:
    answer = get(zendesk, EXPORT, **params)
    assert answer.status_code == 400
    assert message in answer.json()["description"]


def test_a_start_time_within_the_last_minute_is_refused(
    zendesk: ZendeskSimulator, fake_clock: ManualClock
) -> None:
    answer = get(zendesk, EXPORT, start_time=int(fake_clock.now().timestamp()) - 10)
    assert answer.status_code == 400
    assert "older than 1 minute" in answer.json()["description"]


def test_the_eleventh_export_request_in_a_minute_gets_429_with_retry_after(
    zendesk: ZendeskSimulator, fake_clock: ManualClock
) -> None:
    answers = [get(zendesk, EXPORT, start_time=0, per_page=1) for _ in range(11)]
    assert [a.status_code for a in answers] == [200] * 10 + [429]
    retry_after = answers[-1].headers["Retry-After"]
    assert retry_after.isdigit()
    assert 1 <= int(retry_after) <= 60
    fake_clock.advance(int(retry_after))
    assert get(zendesk, EXPORT, start_time=0, per_page=1).status_code == 200
    assert zendesk.traffic.snapshot().rate_limited == 1


def test_zenpy_waits_out_the_export_limit_and_carries_on(
    zendesk: ZendeskSimulator, zenpy_client: Zenpy
) -> None:
    seen = [ticket.id for ticket in zenpy_client.tickets.incremental(start_time=0, per_page=3)]
    assert sorted(seen) == sorted(zendesk.world.tickets)
    snapshot = zendesk.traffic.snapshot()
    assert snapshot.rate_limited >= 1  # more than 10 pages: it had to wait at least once


@given(
    stamps=st.lists(st.integers(min_value=0, max_value=50), min_size=0, max_size=60),
    per_page=st.integers(min_value=1, max_value=20),
)
@settings(max_examples=60, deadline=None)
def test_following_cursors_yields_every_ticket_once_in_order(
    stamps: list[int], per_page: int
) -> None:
    """Shared timestamps included: the cursor carries the id, so no page boundary loses one."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    tickets = [
        WorldTicket(i + 1, 1, "open", "s", "web", [], base, base + timedelta(seconds=stamp))
        for i, stamp in enumerate(stamps)
    ]
    now = int((base + timedelta(days=1)).timestamp())
    position = export.start_position(str(int(base.timestamp())), None, now)
    seen: list[int] = []
    for _ in range(len(tickets) + 2):
        page = export.page(tickets, position, per_page, now)
        seen += [t.id for t in page.tickets]
        position = export.Position.decode(page.after.encode())
        if page.end_of_stream:
            break
    expected = sorted(tickets, key=lambda t: (t.updated_at, t.id))
    assert seen == [t.id for t in expected]
