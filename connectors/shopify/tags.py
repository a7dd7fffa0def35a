"""The :class:`~nps_engine.ports.TagWriter` for Shopify customers.

``tagsRemove`` the stale NPS tags, then ``tagsAdd`` the new ones: both touch only the tags named,
so other apps' tags survive. ``customerUpdate(input: {tags})`` would replace the whole list and is
never used (its schema description: "Updating tags overwrites any existing tags").

Several customers go in one request as aliased mutation fields, which Shopify runs in document
order, each costing 10 points; a request stays within the single-query maximum (1000) and the
bucket's size. A ``userErrors`` entry (``Customer does not exist`` for a deleted customer) fails
that customer only, as not retryable; a request that fails as a whole fails its customers (an
authentication error stops the push).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from connectors.errors import ConnectorError
from connectors.shopify.client import ShopifyClient
from connectors.shopify.cost import MAX_QUERY_COST, MUTATION_COST
from connectors.shopify.errors import ShopifyAuthError
from connectors.shopify.mapping import gid
from connectors.shopify.queries import TagOperation, tag_mutations
from nps_engine.ports import PushOutcome, TagChange

MAX_INPUT_SIZE = 250  # Shopify refuses larger input arrays (MAX_INPUT_SIZE_EXCEEDED)


class ShopifyTagWriter:
    def __init__(self, client: ShopifyClient, *, max_request_cost: int = MAX_QUERY_COST) -> None:
        self.client = client
        self.max_request_cost = max_request_cost

    def push(self, changes: Sequence[TagChange]) -> Iterator[PushOutcome]:
        for batch in self._batches(changes):
            yield from self._push_batch(batch)

    def _batches(self, changes: Sequence[TagChange]) -> Iterator[list[TagChange]]:
        batch: list[TagChange] = []
        cost = 0
        for change in changes:
            needed = MUTATION_COST * len(_operations(change))
            if batch and cost + needed > self._budget():
                yield batch
                batch, cost = [], 0
            batch.append(change)
            cost += needed
        if batch:
            yield batch

    def _budget(self) -> int:
        bucket = self.client.bucket
        if bucket.known:
            return int(min(self.max_request_cost, bucket.maximum))
        return self.max_request_cost

    def _push_batch(self, batch: list[TagChange]) -> Iterator[PushOutcome]:
        kinds: list[TagOperation] = []
        variables: dict[str, Any] = {}
        owners: list[int] = []
        for change in batch:
            for kind, tags in _operations(change):
                index = len(kinds)
                kinds.append(kind)
                variables[f"id{index}"] = gid("Customer", change.customer_id)
                variables[f"tags{index}"] = list(tags)
                owners.append(change.customer_id)
        if not kinds:
            yield from (PushOutcome(c.customer_id, ok=True) for c in batch)
            return
        try:
            data = self.client.execute(tag_mutations(tuple(kinds)), variables).data
        except ShopifyAuthError:
            raise
        except ConnectorError as exc:
            yield from (
                PushOutcome(c.customer_id, ok=False, error=str(exc), retryable=exc.transient)
                for c in batch
            )
            return
        failures = _user_errors(data, owners)
        for change in batch:
            error = failures.get(change.customer_id)
            if error is None:
                yield PushOutcome(change.customer_id, ok=True)
            else:
                yield PushOutcome(change.customer_id, ok=False, error=error, retryable=False)


def _operations(change: TagChange) -> list[tuple[TagOperation, tuple[str, ...]]]:
    operations: list[tuple[TagOperation, tuple[str, ...]]] = []
    if change.remove:
        operations.append(("tagsRemove", change.remove[:MAX_INPUT_SIZE]))
    if change.add:
        operations.append(("tagsAdd", change.add[:MAX_INPUT_SIZE]))
    return operations


def _user_errors(data: Mapping[str, Any], owners: list[int]) -> dict[int, str]:
    """The first userError message of each customer whose mutation reported one."""
    failures: dict[int, str] = {}
    for index, customer_id in enumerate(owners):
        payload = data.get(f"m{index}") or {}
        errors = payload.get("userErrors") or []
        if errors and customer_id not in failures:
            failures[customer_id] = "; ".join(str(e.get("message")) for e in errors)
    return failures
