"""Zendesk answers in the shape of the recorded samples (../shared/reference/zendesk/samples),
and a client wired for ``responses`` with both sleeps (zenpy's 429 wait, our retry) recorded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pytest

from connectors.zendesk.client import ZendeskClient

HOST = "https://acme.zendesk.com"
API = f"{HOST}/api/v2"
EMAIL = "agent@acme.test"
TOKEN = "tok-very-secret"


@dataclass
class Sleeps:
    zenpy: list[float] = field(default_factory=list)
    ours: list[float] = field(default_factory=list)


@pytest.fixture(name="sleeps")
def sleeps_fixture() -> Iterator[Sleeps]:
    recorded = Sleeps()
    with mock.patch("zenpy.lib.api.sleep", side_effect=recorded.zenpy.append):
        yield recorded


@pytest.fixture(name="client")
def client_fixture(sleeps: Sleeps) -> ZendeskClient:
    return make_client(sleeps)


def make_client(sleeps: Sleeps, **options: Any) -> ZendeskClient:
    settings: dict[str, Any] = {
        "subdomain": "acme",
        "email": EMAIL,
        "api_token": TOKEN,
        "ratelimit_budget_seconds": 30,
        "sleep": sleeps.ours.append,
    }
    settings.update(options)
    return ZendeskClient(**settings)


def ticket_json(
    ticket_id: int,
    requester_id: int | None,
    *,
    status: str = "open",
    tags: list[str] | None = None,
    created_at: str = "2026-10-01T09:00:00Z",
    channel: str = "email",
) -> dict[str, Any]:
    """Keys as in incremental_tickets_cursor_per_page1.json (the ones we read, and a few more)."""
    return {
        "url": f"{API}/tickets/{ticket_id}.json",
        "id": ticket_id,
        "external_id": None,
        "via": {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": created_at,
        "updated_at": created_at,
        "type": None,
        "subject": f"Ticket {ticket_id}",
        "raw_subject": f"Ticket {ticket_id}",
        "status": status,
        "requester_id": requester_id,
        "submitter_id": requester_id,
        "assignee_id": None,
        "tags": tags or [],
        "generated_timestamp": 1790000000,
    }


def user_json(user_id: int, email: str | None, *, tags: list[str] | None = None) -> dict[str, Any]:
    """Keys as in user_update_single_put.json."""
    return {
        "id": user_id,
        "url": f"{API}/users/{user_id}.json",
        "name": f"User {user_id}",
        "email": email,
        "role": "end-user",
        "tags": tags or [],
        "user_fields": {},
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2025-01-01T00:00:00Z",
    }


def export_page(
    tickets: list[dict[str, Any]],
    users: list[dict[str, Any]],
    after_cursor: str | None,
    *,
    end_of_stream: bool,
) -> dict[str, Any]:
    """Keys as in incremental_tickets_cursor_start_time0_end_of_stream.json."""
    return {
        "tickets": tickets,
        "users": users,
        "after_url": f"{API}/incremental/tickets/cursor.json?cursor={after_cursor}"
        if after_cursor
        else None,
        "after_cursor": after_cursor,
        "before_url": None,
        "before_cursor": None,
        "end_of_stream": end_of_stream,
    }


def job_json(
    job_id: str, status: str, results: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Keys as in job_status_working.json / job_status_completed_bulk_update_users.json."""
    return {
        "job_status": {
            "id": job_id,
            "url": f"{API}/job_statuses/{job_id}.json",
            "total": len(results or []),
            "progress": len(results or []) if status == "completed" else None,
            "status": status,
            "message": "Completed at 2026-11-01 10:00:00 +0000" if status == "completed" else None,
            "results": results if status == "completed" else None,
        }
    }


def updated(item_id: int) -> dict[str, Any]:
    return {"id": item_id, "action": "update", "status": "Updated", "success": True}


def failed(item_id: int) -> dict[str, Any]:
    return {"id": item_id, "status": "Failed", "error": "RecordNotFound", "success": False}
