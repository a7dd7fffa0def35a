"""The Zendesk Support API simulator: routes, authentication, rate limits, lifecycle.

    with ZendeskSimulator(world, ZendeskOptions(requests_per_minute=400)) as zendesk:
        zendesk.base_url        # "http://127.0.0.1:PORT" (serves /api/v2/...)
        zendesk.options.email, zendesk.options.api_token
        zendesk.traffic.snapshot()
        zendesk.open_ticket(requester_id, "Where is my parcel?", "Hello...")  # + ticket.created

Authentication as Zendesk: HTTP Basic ``{email}/token:{api_token}`` or ``Authorization: Bearer
{oauth_token}``; anything else is 401 ``{"error": "Couldn't authenticate you"}``. Every answer
carries the rate-limit headers; over the account limit (or the export's own limit) the answer is
429 with an integer ``Retry-After``. Unknown ``/api/v2`` paths are 404 ``InvalidEndpoint``.
Besides the generic faults of :mod:`sandbox.traffic`, ``Fault.signal("rate_limited")`` scripts
a 429 (``Retry-After: 1``) on any call, whatever the limits.

zenpy talks to it unchanged with ``ZENPY_FORCE_SCHEME=http`` and
``ZENPY_FORCE_NETLOC=127.0.0.1:PORT`` (zendesk-notes 1.3).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any

from sandbox.loopback import LoopbackServer, Request, Response, Route
from sandbox.traffic import Traffic
from sandbox.world import Ticket, TicketComment, World
from sandbox.zendesk import tickets, users
from sandbox.zendesk.account import Account, ZendeskOptions
from sandbox.zendesk.render import UNAUTHORIZED, error, timestamp
from sandbox.zendesk.webhooks import WebhookSender, ticket_created_event

_J = r"(?:\.json)?"
_ID = r"(?P<id>\d+)"
EXPORT_ROUTE = "GET /api/v2/incremental/tickets/cursor.json"
RATE_LIMITED_SIGNAL = "rate_limited"  # Fault.signal("rate_limited"): a 429, Retry-After: 1

Endpoint = Callable[[Account, Request], Response]


def _job_status(account: Account, request: Request) -> Response:
    job = account.jobs.poll(request.params["id"])
    if job is None:
        return Response.json(404, error("RecordNotFound", "Not found"))
    return Response.json(200, account.jobs.render(job, request.base_url))


_ENDPOINTS: list[tuple[str, str, str, Endpoint]] = [
    ("GET", rf"/api/v2/users/me{_J}", "/api/v2/users/me.json", users.me),
    ("GET", rf"/api/v2/users/search{_J}", "/api/v2/users/search.json", users.search),
    ("GET", rf"/api/v2/users/show_many{_J}", "/api/v2/users/show_many.json", users.show_many),
    ("PUT", rf"/api/v2/users/update_many{_J}", "/api/v2/users/update_many.json", users.update_many),
    ("GET", rf"/api/v2/users/{_ID}{_J}", "/api/v2/users/{id}.json", users.show),
    ("PUT", rf"/api/v2/users/{_ID}{_J}", "/api/v2/users/{id}.json", users.update),
    *[
        (method, rf"/api/v2/users/{_ID}/tags{_J}", "/api/v2/users/{id}/tags.json", users.tags)
        for method in ("GET", "PUT", "POST", "DELETE")
    ],
    ("GET", rf"/api/v2/user_fields{_J}", "/api/v2/user_fields.json", users.user_fields),
    ("POST", rf"/api/v2/user_fields{_J}", "/api/v2/user_fields.json", users.create_user_field),
    ("PUT", rf"/api/v2/tickets/update_many{_J}", "/api/v2/tickets/update_many.json",
     tickets.update_many),
    ("GET", rf"/api/v2/tickets/{_ID}{_J}", "/api/v2/tickets/{id}.json", tickets.show),
    ("PUT", rf"/api/v2/tickets/{_ID}{_J}", "/api/v2/tickets/{id}.json", tickets.update),
    *[
        (method, rf"/api/v2/tickets/{_ID}/tags{_J}", "/api/v2/tickets/{id}/tags.json", tickets.tags)
        for method in ("GET", "PUT", "POST", "DELETE")
    ],
    ("POST", rf"/api/v2/tickets{_J}", "/api/v2/tickets.json", tickets.create),
    ("GET", rf"/api/v2/tickets{_J}", "/api/v2/tickets.json", tickets.list_tickets),
    ("GET", rf"/api/v2/incremental/tickets/cursor{_J}", EXPORT_ROUTE.split(" ")[1],
     tickets.incremental_export),
    ("GET", rf"/api/v2/job_statuses/(?P<id>[\w-]+?){_J}", "/api/v2/job_statuses/{id}.json",
     _job_status),
]  # fmt: skip


class ZendeskSimulator:
    def __init__(
        self,
        world: World,
        options: ZendeskOptions | None = None,
        *,
        traffic: Traffic | None = None,
        port: int = 0,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options or ZendeskOptions()
        self.account = Account(world, self.options, clock=clock, monotonic=monotonic)
        self.traffic = traffic or Traffic()
        self.webhook_sender: WebhookSender | None = None
        if self.options.webhook_url:
            self.webhook_sender = WebhookSender(
                self.options.webhook_url, self.options.webhook_secret
            )
            self.account.webhook = self.send_ticket_created
        routes = [
            Route(method, pattern, f"{method} {name}", _bind(endpoint, self.account))
            for method, pattern, name, endpoint in _ENDPOINTS
        ]
        self.server = LoopbackServer(
            routes,
            self.traffic,
            port=port,
            before_route=self._admit,
            after_route=self._stamp,
            not_found=_invalid_endpoint,
        )

    @property
    def world(self) -> World:
        return self.account.world

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> ZendeskSimulator:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
        if self.webhook_sender is not None:
            self.webhook_sender.close()

    def __enter__(self) -> ZendeskSimulator:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def open_ticket(
        self, requester_id: int, subject: str, body: str, *, tags: tuple[str, ...] = ()
    ) -> Ticket:
        """A customer writes in by email: a new public ticket, and its ``ticket.created`` event."""
        world, now = self.account.world, self.account.now()
        with world.lock:
            if requester_id not in world.zendesk_users:
                raise KeyError(f"no Zendesk user {requester_id} in the sandbox world")
            comment = TicketComment(world.next_id("comment"), requester_id, body, True, now)
            ticket = Ticket(
                id=world.next_id("ticket"),
                requester_id=requester_id,
                status="new",
                subject=subject,
                channel="email",
                tags=list(tags),
                created_at=now,
                updated_at=now,
                comments=[comment],
            )
            world.add_ticket(ticket)
        self.send_ticket_created(ticket)
        return ticket

    def send_ticket_created(self, ticket: Ticket) -> None:
        if self.webhook_sender is None:
            return
        now = self.account.now()
        event = ticket_created_event(ticket, now, self.account.extras(ticket.id))
        self.webhook_sender.send(event, timestamp(now))

    def _admit(self, request: Request) -> Response | None:
        """Authentication first, then the account limit, then the export's own limit."""
        if not self._authenticated(request.headers.get("authorization", "")):
            return Response.json(
                401, UNAUTHORIZED, {"WWW-Authenticate": 'Basic realm="Web Password"'}
            )
        allowance = self.account.account_limit.take()
        request.notes["allowance"] = allowance
        if not allowance.allowed:
            return _too_many(allowance.reset_seconds)
        if request.notes.get("signal") == RATE_LIMITED_SIGNAL:
            return _too_many(1)
        if request.route == EXPORT_ROUTE:
            export_allowance = self.account.export_limit.take()
            if not export_allowance.allowed:
                return _too_many(export_allowance.reset_seconds)
        return None

    def _authenticated(self, header: str) -> bool:
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and self.options.oauth_token:
            return hmac.compare_digest(credentials.strip(), self.options.oauth_token)
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, _, secret = decoded.partition(":")
        expected_user = f"{self.options.email}/token"
        return user.lower() == expected_user.lower() and hmac.compare_digest(
            secret, self.options.api_token
        )

    def _stamp(self, request: Request, response: Response) -> None:
        """Headers of every application answer: a request id and the account's rate limit."""
        response.headers["X-Request-Id"] = f"{uuid.uuid4().hex[:16]}-LOOPBACK"
        allowance = request.notes.get("allowance")
        if allowance is not None:
            response.headers.update(self.account.account_limit.headers(allowance))


def _bind(endpoint: Endpoint, account: Account) -> Callable[[Request], Response]:
    def handler(request: Request) -> Response:
        return endpoint(account, request)

    return handler


def _too_many(retry_after: int) -> Response:
    # Zendesk's 429 bodies are not always JSON (zendesk-notes 2.2): clients must read the header.
    return Response.text(429, "Too Many Requests", {"Retry-After": str(retry_after)})


def _invalid_endpoint(request: Request) -> Response:
    return Response.json(404, error("InvalidEndpoint", "Not found"))


def credentials(simulator: ZendeskSimulator) -> dict[str, Any]:
    """What a client needs: base URL, subdomain, agent email and API token."""
    return {
        "base_url": simulator.base_url,
        "subdomain": simulator.options.subdomain,
        "email": simulator.options.email,
        "api_token": simulator.options.api_token,
    }
