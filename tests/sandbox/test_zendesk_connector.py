"""Our own Zendesk connector against the simulator, with no special case for it: the same calls
it makes to a real account (export, follow-up tickets, user fields) work end to end."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest

from connectors.zendesk import (
    ZendeskClient,
    ZendeskFollowupDesk,
    ZendeskTagWriter,
    ZendeskTicketSource,
    ensure_user_fields,
)
from nps_engine.ports import FollowupTicket, TagChange
from nps_engine.records import ZendeskUser
from sandbox.clock import ManualClock
from sandbox.generator import generate
from sandbox.zendesk import ZendeskOptions, ZendeskSimulator

OPEN = ("new", "open", "pending", "hold")
SANDBOX_NOW = datetime(2026, 11, 1, 11, 55, tzinfo=UTC)


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


class _Directory:
    """The store's side of the tag writer, in memory."""

    def __init__(self, simulator: ZendeskSimulator) -> None:
        self.simulator = simulator
        self.links: dict[int, int] = {}

    def known_users(self, customer_ids: Sequence[int]) -> Mapping[int, int]:
        return {c: self.links[c] for c in customer_ids if c in self.links}

    def remember_user(self, customer_id: int, user: ZendeskUser) -> None:
        self.links[customer_id] = user.id

    def forget_user(self, user_id: int) -> None:
        self.links = {c: u for c, u in self.links.items() if u != user_id}

    def open_tickets(self, user_ids: Sequence[int]) -> Mapping[int, Sequence[int]]:
        found: dict[int, list[int]] = {}
        for ticket in self.simulator.world.tickets.values():
            if ticket.requester_id in user_ids and ticket.status in OPEN:
                found.setdefault(ticket.requester_id, []).append(ticket.id)
        return found


@pytest.mark.parametrize("zendesk_world", [generate(400, seed=4, now=SANDBOX_NOW)])
def test_the_tag_writer_pushes_tags_fields_and_open_ticket_tags_in_batches_of_100(
    zendesk: ZendeskSimulator, client: ZendeskClient
) -> None:
    world = zendesk.world
    people = [u for u in world.zendesk_users.values() if u.email]
    assert len(people) > 100  # two chunks at least
    changes = [
        TagChange(
            customer_id=index,
            email=user.email,
            add=("nps_promoter", "nps_score_9"),
            remove=("nps_detractor",),
            desired=("nps_promoter", "nps_score_9"),
            fields={"nps_score": 9, "nps_category": "promoter"},
        )
        for index, user in enumerate(people)
    ]
    closed_before = {t.id: list(t.tags) for t in world.tickets.values() if t.status == "closed"}
    outcomes = list(
        ZendeskTagWriter(client, _Directory(zendesk), sleep=lambda _s: None).push(changes)
    )
    assert all(outcome.ok for outcome in outcomes), [o for o in outcomes if not o.ok][:3]
    for user in people:
        assert {"nps_promoter", "nps_score_9"} <= set(user.tags)
        assert user.user_fields["nps_score"] == 9
    tagged = [
        t
        for t in world.tickets.values()
        if t.status in OPEN and t.requester_id in {u.id for u in people}
    ]
    assert all("nps_promoter" in t.tags for t in tagged)
    assert {t.id: t.tags for t in world.tickets.values() if t.status == "closed"} == closed_before
    calls = zendesk.traffic.snapshot().calls_by_route
    assert calls["PUT /api/v2/users/update_many.json"] == -(-len(people) // 100)
