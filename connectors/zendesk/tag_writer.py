"""NPS onto Zendesk users and their open tickets: the Zendesk ``TagWriter``.

Per customer whose desired state changed (``nps_engine.tag_plan``), in chunks of 100 customers:

1. Find the Zendesk user: the store first (users come with the ticket export), else Search Users
   by email (https://developer.zendesk.com/api-reference/ticketing/users/users/#search-users),
   and remember the answer in the store.
2. Tags with the additive endpoints: ``PUT /users/{id}/tags`` adds, ``DELETE`` removes. Never
   ``set_tags``/``POST``, which replaces every tag, other apps' included.
3. ``nps_score``/``nps_category``/``nps_responded_at`` user fields, only those the account has
   (listed once per run), one ``PUT /users/update_many`` per 100 users, its job polled.
4. The user's open tickets get the same tags: user tags only reach tickets created afterwards
   (zendesk-notes 2.4). ``PUT /tickets/update_many`` in its batch form, 100 tickets per call
   across users, each item with its own ``additional_tags``/``remove_tags``: the bulk ``?ids=``
   form would need one call per distinct change. Closed tickets are never touched.

Write calls per changed customer: 1 (+1 when an old tag is removed) + 1/100 for fields
+ open tickets/100. A change with nothing to do never reaches this class.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from connectors.zendesk.client import ZendeskClient
from connectors.zendesk.errors import (
    ZendeskRateLimited,
    ZendeskRecordNotFound,
    ZendeskRequestRejected,
)
from connectors.zendesk.job_status import wait_for_job
from connectors.zendesk.tickets import user_from_json
from nps_engine.ports import NO_ZENDESK_USER, PushOutcome, TagChange, UserDirectory
from nps_engine.records import ZendeskUser, normalise_email

BULK_LIMIT = 100  # update_many takes at most 100 items; zenpy does not chunk (TooManyValues)
NPS_FIELDS = ("nps_score", "nps_category", "nps_responded_at")
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = BULK_LIMIT) -> Iterator[Sequence[T]]:
    """``items`` in slices of ``size`` (``itertools.batched`` is Python 3.12+)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def find_user_by_email(client: ZendeskClient, email: str) -> ZendeskUser | None:
    """The user whose address is exactly ``email`` (search also matches partial words).

    New users take "up to a few minutes" to be searchable: None now may be a user later.
    """
    wanted = normalise_email(email)
    params = {"query": f'email:"{wanted}"'}
    body = client.call(
        "search user", lambda _z: client.send("GET", "users/search.json", params=params)
    )
    for raw in (body or {}).get("users") or ():
        user = user_from_json(raw)
        if user.email == wanted:
            return user
    return None


@dataclass
class PushCounts:
    users_searched: int = 0
    users_missing: int = 0
    field_batches: int = 0
    ticket_batches: int = 0
    tickets_tagged: int = 0
    tickets_failed: int = 0
    fields_available: tuple[str, ...] = ()
    stopped: str | None = None  # why the push stopped early, when it did


class ZendeskTagWriter:
    """``TagWriter`` for Zendesk. One instance per run: it lists the user fields once."""

    def __init__(
        self,
        client: ZendeskClient,
        directory: UserDirectory,
        *,
        tag_open_tickets: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._directory = directory
        self._tag_open_tickets = tag_open_tickets
        self._sleep = sleep
        self._fields: frozenset[str] | None = None
        self.counts = PushCounts()

    def push(self, changes: Sequence[TagChange]) -> Iterator[PushOutcome]:
        """Outcomes chunk by chunk. When zenpy has waited out its whole 429 budget, the rest is
        reported as not attempted (retryable) instead of hammering a throttled account."""
        for start in range(0, len(changes), BULK_LIMIT):
            chunk = changes[start : start + BULK_LIMIT]
            try:
                outcomes = list(self._push_chunk(chunk))
            except ZendeskRateLimited as error:
                if not error.budget_spent:
                    raise
                self.counts.stopped = str(error)
                yield from (_not_attempted(c, error) for c in changes[start:])
                return
            yield from outcomes

    def preview(self, changes: Sequence[TagChange]) -> Iterator[PushOutcome]:
        """What ``push`` would do with each change, reading only: the users already known, else
        one search by email each (as ``push`` would), remembering nothing and writing nothing."""
        known = self._directory.known_users([c.customer_id for c in changes])
        for change in changes:
            cid = change.customer_id
            if cid in known:
                yield PushOutcome(cid, ok=True)
            elif not change.email:
                yield PushOutcome(cid, False, "customer has no email", retryable=False)
            elif find_user_by_email(self._client, change.email) is None:
                yield PushOutcome(cid, False, NO_ZENDESK_USER, retryable=False, skipped=True)
            else:
                yield PushOutcome(cid, ok=True)

    def _push_chunk(self, chunk: Sequence[TagChange]) -> Iterator[PushOutcome]:
        failed: dict[int, PushOutcome] = {}
        users = self._users_for(chunk, failed)
        for change in chunk:
            if change.customer_id in users:
                self._push_user_tags(change, users[change.customer_id], failed)
        live = [c for c in chunk if c.customer_id in users and c.customer_id not in failed]
        self._push_fields(live, users, failed)
        if self._tag_open_tickets:
            self._push_ticket_tags(live, users, failed)
        for change in chunk:
            yield failed.get(change.customer_id, PushOutcome(change.customer_id, ok=True))

    def _users_for(
        self, chunk: Sequence[TagChange], failed: dict[int, PushOutcome]
    ) -> dict[int, int]:
        users = dict(self._directory.known_users([c.customer_id for c in chunk]))
        for change in chunk:
            cid = change.customer_id
            if cid in users:
                continue
            if not change.email:
                failed[cid] = PushOutcome(cid, False, "customer has no email", retryable=False)
                continue
            self.counts.users_searched += 1
            user = find_user_by_email(self._client, change.email)
            if user is None:
                self.counts.users_missing += 1
                failed[cid] = PushOutcome(
                    cid, False, NO_ZENDESK_USER, retryable=False, skipped=True
                )
                continue
            self._directory.remember_user(cid, user)
            users[cid] = user.id
        return users

    def _push_user_tags(
        self, change: TagChange, user_id: int, failed: dict[int, PushOutcome]
    ) -> None:
        cid = change.customer_id
        try:
            path = f"users/{user_id}/tags.json"
            if change.add:
                added = {"tags": list(change.add)}
                self._client.call(
                    "add user tags", lambda _z: self._client.send("PUT", path, payload=added)
                )
            if change.remove:
                gone = {"tags": list(change.remove)}
                self._client.call(
                    "remove user tags", lambda _z: self._client.send("DELETE", path, payload=gone)
                )
        except ZendeskRecordNotFound:
            self._directory.forget_user(user_id)
            failed[cid] = PushOutcome(cid, False, f"Zendesk user {user_id} no longer exists")
        except ZendeskRequestRejected as error:
            failed[cid] = PushOutcome(cid, False, str(error), retryable=False)

    def _push_fields(
        self, changes: Sequence[TagChange], users: Mapping[int, int], failed: dict[int, PushOutcome]
    ) -> None:
        wanted = [c for c in changes if c.fields]
        available = self._available_fields() if wanted else frozenset()
        items = {}
        for change in wanted:
            values = {k: v for k, v in change.fields.items() if k in available}
            if values:
                items[users[change.customer_id]] = {
                    "id": users[change.customer_id],
                    "user_fields": values,
                }
        if not items:
            return
        self.counts.field_batches += 1
        payload = {"users": list(items.values())}
        queued = self._client.call(
            "set user fields",
            lambda _z: self._client.send("PUT", "users/update_many.json", payload=payload),
        )
        outcome = wait_for_job(self._client, queued, what="set user fields", sleep=self._sleep)
        by_user = {users[c.customer_id]: c.customer_id for c in wanted}
        for user_id, reason in outcome.failures.items():
            if user_id in by_user:
                cid = by_user[user_id]
                failed[cid] = PushOutcome(cid, False, f"user fields not set: {reason}")
        if outcome.status == "failed":
            for user_id in items:
                cid = by_user[user_id]
                failed.setdefault(cid, PushOutcome(cid, False, "user fields job failed"))

    def _available_fields(self) -> frozenset[str]:
        """The NPS user fields this account has, listed once per run (``nps setup zendesk``
        creates them; agents cannot, so their absence is not an error)."""
        if self._fields is None:
            keys = self._client.call("list user fields", lambda z: [f.key for f in z.user_fields()])
            self._fields = frozenset(key for key in keys if key in NPS_FIELDS)
            self.counts.fields_available = tuple(sorted(self._fields))
        return self._fields

    def _push_ticket_tags(
        self, changes: Sequence[TagChange], users: Mapping[int, int], failed: dict[int, PushOutcome]
    ) -> None:
        user_ids = [users[c.customer_id] for c in changes]
        open_tickets = self._directory.open_tickets(user_ids) if user_ids else {}
        items: list[tuple[int, dict[str, Any]]] = []
        for change in changes:
            for ticket_id in open_tickets.get(users[change.customer_id], ()):
                items.append((change.customer_id, ticket_item(ticket_id, change)))
        for batch in chunks(items):
            self._update_tickets(batch, failed)

    def _update_tickets(
        self, batch: Sequence[tuple[int, dict[str, Any]]], failed: dict[int, PushOutcome]
    ) -> None:
        self.counts.ticket_batches += 1
        payload = {"tickets": [item for _cid, item in batch]}
        queued = self._client.call(
            "tag open tickets",
            lambda _z: self._client.send("PUT", "tickets/update_many.json", payload=payload),
        )
        outcome = wait_for_job(self._client, queued, what="tag open tickets", sleep=self._sleep)
        # A ticket closed or deleted since the last sync fails alone; the customer is still done.
        self.counts.tickets_failed += len(outcome.failures)
        self.counts.tickets_tagged += len(batch) - len(outcome.failures)
        if outcome.status == "failed":
            for cid, _item in batch:
                failed.setdefault(cid, PushOutcome(cid, False, "open tickets job failed"))


def _not_attempted(change: TagChange, error: ZendeskRateLimited) -> PushOutcome:
    return PushOutcome(change.customer_id, False, f"not pushed this run: {error}", retryable=True)


def ticket_item(ticket_id: int, change: TagChange) -> dict[str, Any]:
    """One ticket's additive change: every desired tag (a ticket opened before the first push
    has none) and the stale ones removed."""
    item: dict[str, Any] = {"id": ticket_id, "additional_tags": list(change.desired)}
    if change.remove:
        item["remove_tags"] = list(change.remove)
    return item
