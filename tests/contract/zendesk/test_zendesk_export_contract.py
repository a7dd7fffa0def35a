"""The cursor export's contract: the requests it sends, page by page, and the records it returns."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from reference_data import reference_file
from responses import matchers
from zendesk_fakes import API, client_fixture, export_page, sleeps_fixture, ticket_json, user_json  # noqa: F401 - fixtures

from connectors.zendesk.client import ZendeskClient
from connectors.zendesk.errors import ZendeskRateLimited, ZendeskRequestRejected
from connectors.zendesk.tickets import ZendeskTicketSource, page_from_json

EXPORT = f"{API}/incremental/tickets/cursor.json"
START = datetime(2026, 1, 1, tzinfo=UTC)


def query(**params: str) -> list[Callable[..., Any]]:
    return [matchers.query_param_matcher({"include": "users", "per_page": "1000", **params})]


@responses.activate
def test_first_page_starts_at_start_time_with_requesters_sideloaded(client: ZendeskClient) -> None:
    page = export_page(
        [ticket_json(1, 11, tags=["vip"])],
        [user_json(11, " Jane.Doe@Example.COM ")],
        "MTc5MDAwMDAwMC4wfHwxfA==",
        end_of_stream=True,
    )
    responses.get(EXPORT, json=page, match=query(start_time=str(int(START.timestamp()))))
    pages = list(ZendeskTicketSource(client).ticket_pages(None, START))
    assert len(pages) == 1
    ticket = pages[0].tickets[0]
    assert (ticket.id, ticket.requester_id, ticket.requester_email) == (
        1,
        11,
        "jane.doe@example.com",
    )
    assert ticket.channel == "email"
    assert ticket.tags == ("vip",)
    assert ticket.created_at == datetime(2026, 10, 1, 9, tzinfo=UTC)
    assert pages[0].after_cursor == "MTc5MDAwMDAwMC4wfHwxfA=="
    assert pages[0].end_of_stream


@responses.activate
def test_pages_follow_the_cursor_url_encoded_until_end_of_stream(client: ZendeskClient) -> None:
    odd_cursor = "ab+c/d=="  # zenpy would send '+' raw, and Zendesk would read a space
    responses.get(
        EXPORT,
        json=export_page([ticket_json(1, 11)], [], odd_cursor, end_of_stream=False),
        match=query(cursor="SAVED"),
    )
    responses.get(
        EXPORT,
        json=export_page([ticket_json(2, 12)], [], "LAST", end_of_stream=True),
        match=query(cursor=odd_cursor),
    )
    pages = list(ZendeskTicketSource(client).ticket_pages("SAVED", START))
    assert [p.tickets[0].id for p in pages] == [1, 2]
    assert "cursor=ab%2Bc%2Fd%3D%3D" in responses.calls[1].request.url
    assert pages[-1].after_cursor == "LAST"


@responses.activate
def test_pages_are_fetched_only_when_the_caller_asks(client: ZendeskClient) -> None:
    responses.get(EXPORT, json=export_page([ticket_json(1, 11)], [], "C1", end_of_stream=False))
    pages = ZendeskTicketSource(client).ticket_pages("C0", START)
    next(pages)
    assert len(responses.calls) == 1  # the caller commits page 1 before page 2 is requested


@responses.activate
def test_rate_limit_past_the_budget_surfaces_after_the_pages_already_given(
    client: ZendeskClient,
) -> None:
    responses.get(
        EXPORT,
        json=export_page([ticket_json(1, 11)], [], "C1", end_of_stream=False),
        match=query(cursor="C0"),
    )
    responses.get(EXPORT, status=429, headers={"Retry-After": "60"}, match=query(cursor="C1"))
    pages = ZendeskTicketSource(client).ticket_pages("C0", START)
    assert next(pages).after_cursor == "C1"
    with pytest.raises(ZendeskRateLimited) as caught:
        next(pages)
    assert caught.value.budget_spent


def test_a_page_without_tickets_is_refused_whole() -> None:
    with pytest.raises(ZendeskRequestRejected, match="no 'tickets' list"):
        page_from_json({"after_cursor": "C"})


def test_a_malformed_ticket_names_its_id() -> None:
    body = export_page(
        [{**ticket_json(9, 1), "created_at": "yesterday"}], [], "C", end_of_stream=True
    )
    with pytest.raises(ZendeskRequestRejected, match="ticket 9"):
        page_from_json(body)


def test_real_recorded_export_page_becomes_records() -> None:
    sample = json.loads(
        reference_file(
            "zendesk/samples/incremental_tickets_cursor_start_time0_end_of_stream.json"
        ).read_text()
    )
    page = page_from_json(sample["response"]["body"])
    assert len(page.tickets) == 87
    assert page.end_of_stream
    assert page.after_cursor
    assert all(t.created_at.tzinfo is not None for t in page.tickets)
