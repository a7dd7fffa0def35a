"""Our own Zendesk connector against the simulator, with no special case for it: the same calls
it makes to a real account (export, follow-up tickets, user fields) work end to end."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from unittest import mock

import pytest

from connectors.zendesk import (
    FollowupTicket,
    ZendeskClient,
    ZendeskFollowupDesk,
    ZendeskTicketSource,
    ensure_user_fields,
)
from sandbox.clock import ManualClock
from sandbox.zendesk import ZendeskOptions, ZendeskSimulator


@pytest.fixture
def client(zendesk: ZendeskSimulator, fake_clock: ManualClock) -> Iterator[ZendeskClient]:
    client = ZendeskClient(
        subdomain=zendesk.options.subdomain,
        email=zendesk.options.email,
        api_token=zendesk.options.api_token,
        base_url=zendesk.base_url,
        sleep=fake_clock.advance,
    )
    with mock.patch("zenpy.lib.api.sleep", side_effect=fake_clock.advance):
        yield client


def test_the_ticket_source_reads_every_ticket_then_resumes_with_only_new_ones(
    zendesk: ZendeskSimulator, client: ZendeskClient, fake_clock: ManualClock
) -> None:
    source = ZendeskTicketSource(client, per_page=10)
    pages = list(source.ticket_pages(None, fake_clock.now() - timedelta(days=600)))
    exported = [ticket.id for page in pages for ticket in page.tickets]
    assert sorted(exported) == sorted(zendesk.world.tickets)
    assert pages[-1].end_of_stream

    requester = next(u for u in zendesk.world.zendesk_users.values() if u.email)
    new = zendesk.open_ticket(requester.id, "Où est mon colis ?", "Bonjour...")
    fake_clock.advance(61)
    resumed = list(source.ticket_pages(pages[-1].after_cursor, fake_clock.now()))
    assert [t.id for page in resumed for t in page.tickets] == [new.id]
    assert resumed[0].tickets[0].requester_email == (requester.email or "").strip().lower()


@pytest.mark.parametrize("zendesk_options", [ZendeskOptions(export_requests_per_minute=3)])
def test_the_ticket_source_waits_out_the_export_limit(
    zendesk: ZendeskSimulator, client: ZendeskClient, fake_clock: ManualClock
) -> None:
    source = ZendeskTicketSource(client, per_page=8)
    pages = list(source.ticket_pages(None, fake_clock.now() - timedelta(days=600)))
    assert sum(len(page.tickets) for page in pages) == len(zendesk.world.tickets)
    assert zendesk.traffic.snapshot().rate_limited >= 1


def test_a_follow_up_is_created_once_and_found_again_by_external_id(
    zendesk: ZendeskSimulator, client: ZendeskClient
) -> None:
    desk = ZendeskFollowupDesk(client)
    requester = next(u for u in zendesk.world.zendesk_users.values() if u.email)
    assert desk.find_followup("nps-response-7") is None
    ticket_id = desk.create_followup(
        FollowupTicket(
            external_id="nps-response-7",
            requester_email=requester.email or "",
            requester_name=requester.name,
            subject="NPS follow-up: scored 2",
            note="Score 2: the parcel arrived late",
            tags=("nps_followup",),
            requester_id=desk.requester_id(requester.email or ""),
        )
    )
    assert desk.find_followup("nps-response-7") == ticket_id
    created = zendesk.world.tickets[ticket_id]
    assert (created.requester_id, created.tags) == (requester.id, ["nps_followup"])
    assert [c.public for c in created.comments] == [False]


@pytest.mark.parametrize("zendesk_options", [ZendeskOptions(user_fields={})])
def test_setup_creates_the_nps_user_fields_an_account_lacks(
    zendesk: ZendeskSimulator, client: ZendeskClient
) -> None:
    report = ensure_user_fields(client)
    assert {"nps_score", "nps_category"} <= set(report.created)
    assert {"nps_score", "nps_category"} <= set(zendesk.world.zendesk_user_field_defs)
    assert ensure_user_fields(client).created == []
