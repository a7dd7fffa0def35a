"""One simulated Zendesk account: its options, the shared world it serves, and account state.

The world (``sandbox.world``) holds what both simulators share: end users, tickets, user field
definitions. The account adds what only Zendesk has: the API agent, ticket fields the world does
not model (assignee, group, submitter), job statuses and rate-limit windows. Writes to the world
happen under ``world.lock`` and bump ``updated_at``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.world import Ticket, World, ZendeskUser
from sandbox.zendesk.jobs import JobBoard
from sandbox.zendesk.ratelimit import Allowance, MinuteWindow

AGENT_ID = 361_000_000_001
USER_FIELD_ID_BASE = 360_000_200_000


@dataclass(frozen=True)
class ZendeskOptions:
    subdomain: str = "nps-sandbox"
    email: str = "agent@nps-sandbox.example"
    api_token: str = "sandbox-zendesk-api-token"  # noqa: S105 (a loopback sandbox's own)
    oauth_token: str | None = "sandbox-zendesk-oauth-token"  # noqa: S105
    # Suite Growth/Professional: 400 per minute (zendesk-notes 3); exports: 10 per minute.
    requests_per_minute: int = 400
    export_requests_per_minute: int = 10
    # Update User: 5 per minute per unique user (Users API docs, zendesk-notes 2.2).
    user_updates_per_minute: int = 5
    rate_window_seconds: float = 60.0
    export_hold_back_seconds: int = 60  # the export never shows the last minute
    job_polls_to_complete: int = 2
    # User fields on the account (key -> type). None keeps the world's definitions; {} = none,
    # as on an account where nobody created the nps_* fields.
    user_fields: dict[str, str] | None = None
    # ticket.created webhooks: POSTed to this URL (if any), signed with this secret.
    webhook_url: str | None = None
    webhook_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))


class Account:
    def __init__(
        self,
        world: World,
        options: ZendeskOptions,
        *,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.world = world
        self.options = options
        self.clock = clock or (lambda: datetime.now(UTC))
        self.jobs = JobBoard(options.job_polls_to_complete, self.clock)
        window = options.rate_window_seconds
        self.account_limit = MinuteWindow(options.requests_per_minute, window, monotonic)
        self.export_limit = MinuteWindow(options.export_requests_per_minute, window, monotonic)
        self._monotonic = monotonic
        self._user_update_limits: dict[int, MinuteWindow] = {}
        self.ticket_extras: dict[int, dict[str, Any]] = {}  # assignee_id, group_id, submitter_id
        created = world.now
        self.agent = ZendeskUser(
            id=AGENT_ID,
            email=options.email,
            name="Sandbox Agent",
            tags=[],
            user_fields={},
            created_at=created,
            updated_at=created,
            role="admin",
        )
        if options.user_fields is not None:
            with world.lock:
                world.zendesk_user_field_defs = dict(options.user_fields)
        self.user_field_created: dict[str, datetime] = {}
        # Called with each ticket created through the API (the simulator sends the webhook).
        self.webhook: Callable[[Ticket], None] | None = None

    def user_update_allowance(self, user_id: int) -> Allowance:
        with self.world.lock:
            window = self._user_update_limits.get(user_id)
            if window is None:
                window = MinuteWindow(
                    self.options.user_updates_per_minute,
                    self.options.rate_window_seconds,
                    self._monotonic,
                )
                self._user_update_limits[user_id] = window
        return window.take()

    def now(self) -> datetime:
        return self.clock().astimezone(UTC).replace(microsecond=0)

    def user(self, user_id: int) -> ZendeskUser | None:
        if user_id == self.agent.id:
            return self.agent
        return self.world.zendesk_users.get(user_id)

    def users(self) -> list[ZendeskUser]:
        with self.world.lock:
            return [self.agent, *self.world.zendesk_users.values()]

    def ticket(self, ticket_id: int) -> Ticket | None:
        return self.world.tickets.get(ticket_id)

    def field_keys(self) -> dict[str, str]:
        with self.world.lock:
            return dict(self.world.zendesk_user_field_defs)

    def field_id(self, key: str) -> int:
        return USER_FIELD_ID_BASE + list(self.field_keys()).index(key)

    def extras(self, ticket_id: int) -> dict[str, Any]:
        return self.ticket_extras.get(ticket_id, {})
