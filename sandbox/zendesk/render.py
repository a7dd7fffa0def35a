"""World records rendered as Zendesk's JSON, key for key as the recorded real answers.

Shapes follow ../shared/reference/zendesk/samples/: ``user_update_single_put.json`` (user),
``incremental_tickets_cursor_per_page1.json`` and ``ticket_create_single_201.json`` (ticket, audit),
``job_status_*.json`` (job status) and the error bodies. Keys we have no data for are present with
the values a plain sandbox account has (null, false, empty lists), because clients index them.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sandbox.world import Ticket, ZendeskUser

# Zendesk locale ids of the locales the generator uses (GET /api/v2/locales).
LOCALE_IDS = {"en-US": 1, "es": 2, "de": 8, "fr": 16}
# (Rails zone name, IANA zone) per language, as an account in that country would show.
TIME_ZONES = {
    "fr": ("Paris", "Europe/Paris"),
    "de": ("Berlin", "Europe/Berlin"),
    "es": ("Madrid", "Europe/Madrid"),
}
NEW_YORK = ("Eastern Time (US & Canada)", "America/New_York")
ACCOUNT_ID = 18_525_119
BRAND_ID = 360_000_000_001
TICKET_FORM_ID = 360_000_000_002
CUSTOM_STATUS_IDS = {
    "new": 360_000_000_101,
    "open": 360_000_000_102,
    "pending": 360_000_000_103,
    "hold": 360_000_000_104,
    "solved": 360_000_000_105,
    "closed": 360_000_000_105,
}


def timestamp(moment: datetime) -> str:
    """Zendesk's ISO 8601 form: UTC, whole seconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user_json(
    user: ZendeskUser, base_url: str, field_keys: Mapping[str, str], *, agent: bool = False
) -> dict[str, Any]:
    zone, iana = TIME_ZONES.get(user.locale.split("-")[0], NEW_YORK)
    return {
        "id": user.id,
        "url": f"{base_url}/api/v2/users/{user.id}.json",
        "name": user.name,
        "email": user.email,
        "created_at": timestamp(user.created_at),
        "updated_at": timestamp(user.updated_at),
        "time_zone": zone,
        "iana_time_zone": iana,
        "phone": None,
        "shared_phone_number": None,
        "photo": None,
        "locale_id": LOCALE_IDS.get(user.locale, 1),
        "locale": user.locale,
        "organization_id": None,
        "role": user.role,
        "verified": user.email is not None,
        "external_id": None,
        "tags": list(user.tags),
        "alias": None,
        "active": True,
        "shared": False,
        "shared_agent": False,
        "last_login_at": None,
        "two_factor_auth_enabled": False,
        "signature": None,
        "details": None,
        "notes": None,
        "role_type": 4 if agent else None,
        "custom_role_id": None,
        "moderator": agent,
        "ticket_restriction": None if agent else "requested",
        "only_private_comments": False,
        "restricted_agent": not agent,
        "suspended": False,
        "default_group_id": None,
        "report_csv": agent,
        # Every field defined on the account appears, null when the user has no value.
        "user_fields": {key: user.user_fields.get(key) for key in field_keys},
    }


def ticket_json(
    ticket: Ticket,
    base_url: str,
    *,
    submitter_id: int | None = None,
    assignee_id: int | None = None,
    group_id: int | None = None,
    external_id: str | None = None,
    generated: bool = False,
) -> dict[str, Any]:
    first = ticket.comments[0].body if ticket.comments else ticket.subject
    rendered: dict[str, Any] = {
        "url": f"{base_url}/api/v2/tickets/{ticket.id}.json",
        "id": ticket.id,
        "external_id": external_id,
        "via": {"channel": ticket.channel, "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": timestamp(ticket.created_at),
        "updated_at": timestamp(ticket.updated_at),
        "type": None,
        "subject": ticket.subject,
        "raw_subject": ticket.subject,
        "description": first,
        "priority": ticket.priority,
        "status": ticket.status,
        "recipient": None,
        "requester_id": ticket.requester_id,
        "submitter_id": submitter_id or ticket.requester_id,
        "assignee_id": assignee_id,
        "organization_id": None,
        "group_id": group_id,
        "collaborator_ids": [],
        "follower_ids": [],
        "email_cc_ids": [],
        "forum_topic_id": None,
        "problem_id": None,
        "has_incidents": False,
        "is_public": any(comment.public for comment in ticket.comments),
        "due_at": None,
        "tags": list(ticket.tags),
        "custom_fields": [],
        "satisfaction_rating": None,
        "sharing_agreement_ids": [],
        "custom_status_id": CUSTOM_STATUS_IDS.get(ticket.status),
        "fields": [],
        "followup_ids": [],
        "ticket_form_id": TICKET_FORM_ID,
        "brand_id": BRAND_ID,
        "allow_channelback": False,
        "allow_attachments": True,
        "from_messaging_channel": False,
    }
    if generated:
        rendered["generated_timestamp"] = generated_timestamp(ticket)
    return rendered


def generated_timestamp(ticket: Ticket) -> int:
    """Zendesk bumps it on every change, system ones included; ours move with ``updated_at``."""
    return int(ticket.updated_at.timestamp())


def audit_json(ticket: Ticket, author_id: int, client: str, audit_id: int) -> dict[str, Any]:
    """The audit of a ticket creation: its first comment, then one Create event per field.

    Event ids follow the audit id, as Zendesk allocates them together.
    """
    comment = ticket.comments[0]
    ids = itertools.count(audit_id + 1)
    events: list[dict[str, Any]] = [
        {
            "id": next(ids),
            "type": "Comment",
            "author_id": comment.author_id,
            "body": comment.body,
            "html_body": f'<div class="zd-comment" dir="auto"><p dir="auto">{_html(comment.body)}'
            "</p></div>",
            "plain_body": comment.body,
            "public": comment.public,
            "attachments": [],
            "audit_id": audit_id,
        }
    ]
    created = {
        "subject": ticket.subject,
        "requester_id": str(ticket.requester_id),
        "priority": ticket.priority,
        "type": None,
        "status": ticket.status,
        "brand_id": str(BRAND_ID),
        "ticket_form_id": str(TICKET_FORM_ID),
    }
    events += [
        {"id": next(ids), "type": "Create", "value": value, "field_name": name}
        for name, value in created.items()
    ]
    if ticket.tags:
        events.append(
            {"id": next(ids), "type": "Create", "value": list(ticket.tags), "field_name": "tags"}
        )
    return {
        "id": audit_id,
        "ticket_id": ticket.id,
        "created_at": timestamp(ticket.created_at),
        "author_id": author_id,
        "metadata": {
            "system": {"client": client, "ip_address": "127.0.0.1", "location": "Loopback"},
            "custom": {},
        },
        "events": events,
        "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
    }


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def error(kind: str, description: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": kind, "description": description}
    if details is not None:
        body["details"] = details
    return body


NOT_FOUND = error("RecordNotFound", "Not found")
# The real 401 body of every Zendesk API endpoint.
UNAUTHORIZED = {"error": "Couldn't authenticate you"}
