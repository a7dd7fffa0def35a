"""The response simulator: customers reading their survey email and (some of them) answering.

It reads the messages the SMTP sink received, and for a share of them (default 35%) behaves like a
person without JavaScript: opens the score link, reads the form the page rendered (so whatever
anti-forgery fields the page uses are honoured) and submits it, sometimes with a comment in the
customer's language. Scores are drawn around the customer's hidden true experience, which
returns, tickets and late deliveries lowered when the world was generated, so segments in the
report differ the way they would in a real store.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter, Retry

from nps_engine.records import normalise_email
from sandbox.comment_text import COMMENT_BANK, comment_theme
from sandbox.smtp import ReceivedMessage, SmtpSink
from sandbox.world import World

_SCORE_LINK = re.compile(r"(https?://[^\s<>\"]+/s/[^\s/<>\"]+/(10|[0-9]))(?=[\s<>\"]|$)")


@dataclass
class ResponderStats:
    emails_read: int = 0
    answered: int = 0
    with_comment: int = 0
    failed: int = 0
    scores: list[int] = field(default_factory=list)


class _FormReader(HTMLParser):
    """Collects the first form's action and its hidden inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.hidden: dict[str, str] = {}
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form" and self.action is None:
            self.action, self._in_form = values.get("action", ""), True
        elif tag == "input" and self._in_form and values.get("type") == "hidden":
            self.hidden[values.get("name", "")] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


def draw_score(experience: float, rng: random.Random) -> int:
    """A score around the customer's experience: people round, and some days are better."""
    return max(0, min(10, round(rng.gauss(experience, 1.3))))


class Responder:
    def __init__(
        self,
        world: World,
        sink: SmtpSink,
        *,
        share: float = 0.35,
        comment_share: float = 0.3,
        seed: int = 0,
        session: requests.Session | None = None,
        on_answer: Callable[[], None] | None = None,
    ) -> None:
        self.world, self.sink = world, sink
        self.share, self.comment_share = share, comment_share
        self.rng = random.Random(seed)  # simulation, not security
        self.http = session or _http_session()
        self.on_answer = on_answer
        self._read = 0
        self._customers = {normalise_email(c.email): c for c in world.customers.values()}
        orders = list(world.orders.values())
        self._late = {o.customer_id for o in orders if any(f.late for f in o.fulfillments)}
        self._returned = {o.customer_id for o in orders if o.returns}
        users = {u.id: u for u in world.zendesk_users.values()}
        self._contacted = {
            self._customers[address].id
            for t in world.tickets.values()
            if (user := users.get(t.requester_id)) is not None
            and (address := normalise_email(user.email)) in self._customers
        }

    def answer_new_emails(self) -> ResponderStats:
        """Handle every message received since the last call."""
        stats = ResponderStats()
        messages = self.sink.messages[self._read :]
        self._read += len(messages)
        for message in messages:
            stats.emails_read += 1
            if self.rng.random() >= self.share:
                continue
            self._answer(message, stats)
        return stats

    def _answer(self, message: ReceivedMessage, stats: ResponderStats) -> None:
        customer = self._customers.get(normalise_email(message.rcpt_tos[0]))
        if customer is None:
            return
        score = draw_score(self.world.true_experience.get(customer.id, 8.0), self.rng)
        link = _score_links(message).get(score)
        if link is None:
            stats.failed += 1
            return
        comment = self._comment(customer.locale, score, customer.id)
        if self._submit(link, score, comment):
            stats.answered += 1
            stats.with_comment += comment is not None
            stats.scores.append(score)
            if self.on_answer is not None:
                self.on_answer()
        else:
            stats.failed += 1

    def _comment(self, locale: str, score: int, customer_id: int) -> str | None:
        """A comment about what really happened to the customer (late parcels, returns, support
        tickets), in their language; happy customers praise the quality, passives the price."""
        if self.rng.random() >= self.comment_share:
            return None
        theme = comment_theme(
            customer_id in self._late,
            customer_id in self._returned,
            customer_id in self._contacted,
            score,
        )
        bank = COMMENT_BANK[theme]
        return self.rng.choice(bank.get(locale[:2], bank["en"]))

    def _submit(self, link: str, score: int, comment: str | None) -> bool:
        page = self.http.get(link, timeout=10)
        if page.status_code != 200:
            return False
        form = _FormReader()
        form.feed(page.text)
        if form.action is None:
            return False
        fields = {**form.hidden, "score": str(score), "comment": comment or ""}
        answer = self.http.post(urljoin(link, form.action), data=fields, timeout=10)
        return answer.status_code == 200


def _http_session() -> requests.Session:
    """Keep-alive with retries: the survey pages' server (uvicorn) closes a connection idle for
    5 s, and a request sent on it at that moment is reset (seen with ``nps demo`` on a loaded
    machine, where a simulated week can take longer than that). Sending it again is safe: a page
    GET records nothing, and a second POST of the form updates the same answer."""
    session = requests.Session()
    retries = Retry(total=2, connect=2, read=2, status=0, other=0, allowed_methods=None)
    session.mount("http://", HTTPAdapter(max_retries=retries))
    return session


def _score_links(message: ReceivedMessage) -> dict[int, str]:
    body = message.message.get_body(("plain",))
    text = body.get_content() if body is not None else message.raw.decode(errors="replace")
    return {int(score): url for url, score in _SCORE_LINK.findall(text)}
