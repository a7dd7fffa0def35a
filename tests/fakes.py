"""One fake for every port of ``nps_engine/ports.py``, and the one clock (``ManualClock``).

Each fake keeps what it was asked in plain lists, so a test asserts behaviour a user would notice
("the bounced address got no second email", "one follow-up ticket, not two"), and can be told to
fail the way the real system fails (the same error classes the real adapters raise).
``tests/unit/test_fakes.py`` checks that each one matches its port, method by method.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from connectors.email.errors import SYSTEM as SMTP
from connectors.email.errors import SmtpDeferred, SmtpUnavailable
from connectors.errors import PermanentError, RateLimited, TransientError
from nps_engine.alert_messages import AlertMessage
from nps_engine.ports import (
    FollowupTicket,
    PromoterCode,
    PushOutcome,
    SendResult,
    SurveyEmail,
    TagChange,
    TicketPage,
)
from nps_engine.records import Customer, Order, ZendeskUser
from nps_engine.shop_events import Intent, WebhookPayloadError
from sandbox.clock import ManualClock

__all__ = [
    "FakeCommentEmbedder",
    "FakeFollowupDesk",
    "FakeOrderSource",
    "FakeShopifyWebhookReader",
    "FakeSurveyMailer",
    "FakeTagWriter",
    "FakeTicketSource",
    "FakeTicketTagger",
    "FakeUserDirectory",
    "ManualClock",
]


class FakeOrderSource:
    """``OrderSource``: the same pages on every read; remembers each window asked for."""

    def __init__(
        self,
        pages: Sequence[Sequence[Order]] = (),
        customers: Sequence[Sequence[Customer]] = (),
        backfill: Sequence[Order] = (),
    ) -> None:
        self.pages = [list(page) for page in pages]
        self.customers = [list(page) for page in customers]
        self.backfill = list(backfill)
        self.windows: list[tuple[datetime | None, datetime]] = []
        self.customer_windows: list[tuple[datetime | None, datetime]] = []
        self.backfilled_after: datetime | None = None

    def order_pages(
        self, updated_after: datetime | None, updated_before: datetime
    ) -> Iterator[Sequence[Order]]:
        self.windows.append((updated_after, updated_before))
        yield from self.pages

    def customer_pages(
        self, updated_after: datetime | None, updated_before: datetime
    ) -> Iterator[Sequence[Customer]]:
        self.customer_windows.append((updated_after, updated_before))
        yield from self.customers

    def backfill_orders(self, created_after: datetime) -> Iterator[Order]:
        self.backfilled_after = created_after
        yield from self.backfill


class FakeTicketSource:
    """``TicketSource`` over a fixed export: a saved cursor resumes after its page, as Zendesk's
    cursor-based export does. ``rate_limited_after=n`` answers 429 (past the client's budget)
    once ``n`` pages of one read were served."""

    def __init__(self, pages: Sequence[TicketPage], rate_limited_after: int | None = None) -> None:
        self.pages = list(pages)
        self.rate_limited_after = rate_limited_after
        self.reads: list[tuple[str | None, datetime]] = []

    def ticket_pages(self, cursor: str | None, start_time: datetime) -> Iterator[TicketPage]:
        self.reads.append((cursor, start_time))
        cursors = [page.after_cursor for page in self.pages]
        first = cursors.index(cursor) + 1 if cursor in cursors else 0
        for served, page in enumerate(self.pages[first:]):
            if self.rate_limited_after is not None and served >= self.rate_limited_after:
                raise RateLimited("429 Too Many Requests", retry_after=60, system="zendesk")
            yield page


class FakeTagWriter:
    """``TagWriter``: records every batch; fails the customers listed, transiently or for good,
    and skips those ``absent`` from the system (no Zendesk user)."""

    def __init__(
        self,
        transient: Iterable[int] = (),
        permanent: Iterable[int] = (),
        absent: Iterable[int] = (),
    ) -> None:
        self.transient = set(transient)
        self.permanent = set(permanent)
        self.absent = set(absent)
        self.calls: list[list[TagChange]] = []
        # What each customer's tags are now, as the system would show them.
        self.tags: dict[int, set[str]] = {}

    def push(self, changes: Sequence[TagChange]) -> Iterator[PushOutcome]:
        self.calls.append(list(changes))
        for change in changes:
            customer = change.customer_id
            if customer in self.permanent:
                yield PushOutcome(customer, False, "User not found", retryable=False)
            elif customer in self.transient:
                yield PushOutcome(customer, False, "timeout", retryable=True)
            elif customer in self.absent:
                yield PushOutcome(customer, False, "no user", retryable=False, skipped=True)
            else:
                tags = self.tags.setdefault(customer, set())
                tags.difference_update(change.remove)
                tags.update(change.add)
                yield PushOutcome(customer, True)


class FakeTagPreview(FakeTagWriter):
    """``TagPreview`` (and ``TagWriter``): says, writing nothing, what ``push`` would do; the
    customers ``absent`` from the system would be skipped."""

    def preview(self, changes: Sequence[TagChange]) -> Iterator[PushOutcome]:
        for change in changes:
            if change.customer_id in self.absent:
                yield PushOutcome(
                    change.customer_id, False, "no user", retryable=False, skipped=True
                )
            else:
                yield PushOutcome(change.customer_id, True)


class FakeSurveyMailer:
    """``SurveyMailer``: an outbox. Addresses in ``bounce`` are refused for good (5xx to RCPT),
    in ``refuse`` the message is refused (5xx to DATA), in ``defer`` the recipient is greylisted;
    ``down_after=n`` makes the server unreachable once ``n`` emails were accepted."""

    def __init__(
        self,
        *,
        bounce: Iterable[str] = (),
        refuse: Iterable[str] = (),
        defer: Iterable[str] = (),
        down_after: int | None = None,
    ) -> None:
        self.bounce = set(bounce)
        self.refuse = set(refuse)
        self.defer = set(defer)
        self.down_after = down_after
        self.sent: list[SurveyEmail] = []
        self.attempts: list[str] = []

    def send(self, email: SurveyEmail) -> SendResult:
        self.attempts.append(email.to)
        if self.down_after is not None and len(self.sent) >= self.down_after:
            raise SmtpUnavailable("cannot connect to smtp.example:587", system=SMTP)
        if email.to in self.defer:
            raise SmtpDeferred("RCPT TO refused for now: 450 greylisted", system=SMTP)
        if email.to in self.bounce:
            return SendResult(ok=False, bounced=True, error="RCPT TO refused: 550 no such user")
        if email.to in self.refuse:
            return SendResult(ok=False, error="DATA refused: 554 message looks like spam")
        self.sent.append(email)
        return SendResult(ok=True)

    def to(self, address: str) -> list[SurveyEmail]:
        return [email for email in self.sent if email.to == address]


class FakeUserDirectory:
    """``UserDirectory``: the store's customer-to-Zendesk-user links and open tickets."""

    def __init__(
        self,
        users: Mapping[int, int] | None = None,
        tickets: Mapping[int, Sequence[int]] | None = None,
    ) -> None:
        self.users = dict(users or {})
        self.tickets = {user: list(ids) for user, ids in (tickets or {}).items()}
        self.remembered: list[tuple[int, int]] = []
        self.forgotten: list[int] = []

    def known_users(self, customer_ids: Sequence[int]) -> Mapping[int, int]:
        return {c: self.users[c] for c in customer_ids if c in self.users}

    def remember_user(self, customer_id: int, user: ZendeskUser) -> None:
        self.remembered.append((customer_id, user.id))
        self.users[customer_id] = user.id

    def forget_user(self, user_id: int) -> None:
        self.forgotten.append(user_id)
        self.users = {c: u for c, u in self.users.items() if u != user_id}

    def open_tickets(self, user_ids: Sequence[int]) -> Mapping[int, Sequence[int]]:
        return {u: self.tickets[u] for u in user_ids if u in self.tickets}


class FakeFollowupDesk:
    """``FollowupDesk``: a help desk that keeps tickets by ``external_id``.

    ``refuse`` lists requester emails whose ticket Zendesk rejects for good (422); ``down`` makes
    every call a 503; ``lose_answers=n`` creates the next ``n`` tickets but loses the answer (a
    timeout after the POST), as happens when a connection drops at the wrong moment.
    """

    def __init__(
        self,
        requesters: Mapping[str, int] | None = None,
        *,
        refuse: Iterable[str] = (),
        down: bool = False,
        lose_answers: int = 0,
    ) -> None:
        self.requesters = dict(requesters or {})
        self.refuse = set(refuse)
        self.down = down
        self.lose_answers = lose_answers
        self.tickets: dict[int, FollowupTicket] = {}
        self.created: list[FollowupTicket] = []
        self.notes: dict[int, list[str]] = {}  # internal notes added later, per ticket

    def _reachable(self) -> None:
        if self.down:
            raise TransientError("503 Service Unavailable", system="zendesk", status=503)

    def requester_id(self, email: str) -> int | None:
        self._reachable()
        return self.requesters.get(email)

    def find_followup(self, external_id: str) -> int | None:
        self._reachable()
        found = [i for i, ticket in self.tickets.items() if ticket.external_id == external_id]
        return found[0] if found else None

    def create_followup(self, ticket: FollowupTicket) -> int:
        self._reachable()
        if ticket.requester_email in self.refuse:
            raise PermanentError("422 requester is suspended", system="zendesk", status=422)
        ticket_id = 9000 + len(self.tickets)
        self.tickets[ticket_id] = ticket
        self.created.append(ticket)
        if self.lose_answers > 0:
            self.lose_answers -= 1
            raise TransientError("read timed out after the POST", system="zendesk")
        return ticket_id

    def add_note(self, ticket_id: int, note: str) -> None:
        self._reachable()
        if ticket_id not in self.tickets:
            raise PermanentError("404 ticket not found", system="zendesk", status=404)
        self.notes.setdefault(ticket_id, []).append(note)


class FakeTicketTagger:
    """``TicketTagger``: records the tags added to each ticket; ``fail`` is Zendesk down."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[int, list[str]]] = []
        self.fail = fail

    def add_ticket_tags(self, ticket_id: int, tags: Sequence[str]) -> None:
        if self.fail:
            raise TransientError("503 Service Unavailable", system="zendesk", status=503)
        self.calls.append((ticket_id, list(tags)))


class FakeShopifyWebhookReader:
    """``ShopifyWebhookReader``: a delivery is signed when its header is ``signed(secret)``;
    ``intents`` says what each topic's body asks (a body without ``id`` is malformed)."""

    def __init__(self, intents: Mapping[str, Intent]) -> None:
        self.intents = dict(intents)
        self.read: list[tuple[str, Mapping[str, Any]]] = []

    @staticmethod
    def signed(secret: str) -> str:
        return f"signed-with:{secret}"

    def signature_is_valid(self, raw_body: bytes, header: str | None, secret: str) -> bool:
        return header == self.signed(secret)

    def intent_of(self, topic: str, payload: Mapping[str, Any]) -> Intent | None:
        self.read.append((topic, payload))
        if topic not in self.intents:
            return None
        if "id" not in payload:
            raise WebhookPayloadError(f"{topic}: 'id' is missing")
        return self.intents[topic]


class FakeAlertChannel:
    """``AlertChannel``: keeps every message it accepted.

    ``down=n`` fails the next ``n`` deliveries with a 503 (nothing delivered); ``lose=n`` takes the
    next ``n`` messages but loses the answer (the connection broke after sending), as
    ``connectors.alerts`` reports it; ``refuse`` fails every delivery for good (a 404 webhook).
    """

    def __init__(
        self, name: str = "webhook", *, down: int = 0, lose: int = 0, refuse: bool = False
    ) -> None:
        self.name = name
        self.down, self.lose, self.refuse = down, lose, refuse
        self.delivered: list[AlertMessage] = []

    def deliver(self, message: AlertMessage) -> None:
        from connectors.alerts import AlertOutcomeUnknown

        if self.refuse:
            raise PermanentError(
                "the webhook refused the alert", system="alert webhook", status=404
            )
        if self.down:
            self.down -= 1
            raise TransientError("the webhook failed", system="alert webhook", status=503)
        self.delivered.append(message)
        if self.lose:
            self.lose -= 1
            raise AlertOutcomeUnknown("connection lost while the alert was sent; not re-sent")


class FakeQueryCostMemory:
    """``QueryCostMemory``: learned points per node in a dict; ``writes`` counts the saves."""

    def __init__(self, stored: Mapping[str, float] | None = None) -> None:
        self.stored = dict(stored or {})
        self.writes = 0

    def node_cost(self, query: str) -> float | None:
        return self.stored.get(query)

    def remember_node_cost(self, query: str, points_per_node: float) -> None:
        self.stored[query] = points_per_node
        self.writes += 1


class FakeDiscountDesk:
    """``DiscountDesk``: codes kept by their (case-insensitive) text, as Shopify does;
    ``refuse`` makes every creation a permanent refusal, ``lose_answers`` loses that many
    answers after the code was made (a crash or timeout after the POST)."""

    def __init__(self, refuse: str | None = None, lose_answers: int = 0) -> None:
        self.codes: dict[str, PromoterCode] = {}
        self.refuse = refuse
        self.lose_answers = lose_answers
        self.created = 0

    def find_code(self, code: str) -> str | None:
        return (
            f"gid://shopify/DiscountCodeNode/{code.upper()}" if code.upper() in self.codes else None
        )

    def create_code(self, reward: PromoterCode) -> str:
        if self.refuse:
            raise PermanentError(self.refuse, system="shopify")
        if reward.code.upper() in self.codes:
            raise PermanentError("Code must be unique", system="shopify")
        self.codes[reward.code.upper()] = reward
        self.created += 1
        if self.lose_answers:
            self.lose_answers -= 1
            raise TransientError("read timed out after the POST", system="shopify")
        return f"gid://shopify/DiscountCodeNode/{reward.code.upper()}"


class FakeShopAccessProbe:
    """Whether the Admin API still takes our token: ``accepts`` False once the app is uninstalled;
    ``down`` raises as the real probe does when Shopify cannot be asked."""

    def __init__(self, accepts: bool = True, down: bool = False) -> None:
        self.accepts = accepts
        self.down = down
        self.asked = 0

    def admin_api_accepts_us(self) -> bool:
        self.asked += 1
        if self.down:
            raise TransientError("no answer from Shopify", system="shopify")
        return self.accepts


# Comment themes: topic words point along their topic's axis, so tests know which comments
# belong together without loading a model.
TOPICS = {
    "delivery": ("late", "retard", "parcel", "colis", "shipping", "livraison", "delivery"),
    "sizing": ("size", "taille", "small", "petit", "fit", "large"),
    "service": ("support", "service", "answer", "réponse", "agent", "conseiller"),
    "quality": ("quality", "qualité", "fabric", "tissu", "broke", "stitching"),
}
THEME_DIM = 16


class FakeCommentEmbedder:
    model_name = "fake-topics"

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.embedded.extend(texts)
        rows = np.zeros((len(texts), THEME_DIM), np.float32)
        for row, text in enumerate(texts):
            words = text.lower().replace(",", " ").replace(".", " ").split()
            for axis, cues in enumerate(TOPICS.values()):
                rows[row, axis] = sum(word in cues for word in words)
            digest = hashlib.sha256(text.encode()).digest()
            rows[row, 8:] = np.frombuffer(digest[:8], np.uint8) / 2550.0  # small, fixed noise
            rows[row, 4] = 0.3  # every comment shares a common direction, as real models do
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        result: NDArray[np.float32] = rows / np.maximum(norms, 1e-9)
        return result

    def languages(self, texts: Sequence[str]) -> list[str | None]:
        french = ("colis", "taille", "qualité", "retard", "réponse", "tissu", "conseiller")
        return ["fr" if any(w in t.lower() for w in french) else "en" for t in texts]


class FakeShopifyCostBudget:
    """A shop's cost bucket that pays at once and remembers what it was asked and told."""

    def __init__(self, maximum: float = 1000.0) -> None:
        self.maximum = maximum
        self.known = False
        self.asked: list[float] = []
        self.observed: list[Mapping[str, Any]] = []

    def wait_before(self, cost: float, now: float) -> float:
        self.asked.append(cost)
        return 0.0

    def spend(self, cost: float, now: float) -> None:
        return None

    def available_at(self, now: float) -> float:
        return self.maximum

    def observe(self, throttle_status: Mapping[str, Any], now: float) -> None:
        self.known = True
        self.maximum = float(throttle_status["maximumAvailable"])
        self.observed.append(throttle_status)


class FakeRequestBudget:
    """A Zendesk request budget that lets every request go and records the answers' headers."""

    def __init__(self) -> None:
        self.acquired = 0
        self.observed: list[tuple[int, dict[str, str]]] = []

    def acquire(self) -> float:
        self.acquired += 1
        return 0.0

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        self.observed.append((status, dict(headers)))
