"""The shared rate budgets on a real Redis (``NPS_TEST_REDIS_URL``): several clients of one shop
or account, on threads standing in for worker processes, never spend more than the vendor allows.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from connectors.budgets import SharedCostBucket, SharedRequestBudget, wait_for

REDIS_URL = os.environ.get("NPS_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="NPS_TEST_REDIS_URL is not set")


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    assert REDIS_URL is not None
    connection = redis.Redis.from_url(REDIS_URL)
    yield connection
    connection.close()


def status(available: float, maximum: float = 1000.0, rate: float = 100.0) -> dict[str, float]:
    return {"maximumAvailable": maximum, "currentlyAvailable": available, "restoreRate": rate}


class Sleeps:
    """A sleep that records the waits and lets the time pass (the bucket reads Redis' clock)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        time.sleep(seconds)


def test_two_workers_cannot_spend_the_same_points(client: redis.Redis) -> None:
    shop = f"https://{uuid.uuid4().hex}.myshopify.com/graphql.json"
    sleeps = Sleeps()
    first, second = SharedCostBucket(client, shop), SharedCostBucket(client, shop, sleeps)
    first.observe(status(1000, rate=1000), 0)
    assert first.wait_before(600, 0) == 0  # 400 left
    assert sleeps.waits == []
    # The second worker's 600 waits for 200 points at 1000 per second before it is paid for.
    assert second.wait_before(600, 0) == 0
    assert sleeps.waits[0] == pytest.approx(0.25, abs=0.05)
    assert second.waited_seconds >= 0.2


def test_an_answer_replaces_the_estimate_less_what_was_sent_after(client: redis.Redis) -> None:
    shop = f"https://{uuid.uuid4().hex}.myshopify.com/graphql.json"
    first, second = SharedCostBucket(client, shop), SharedCostBucket(client, shop)
    first.observe(status(1000, rate=1), 0)
    first.wait_before(500, 0)
    second.wait_before(400, 0)  # 100 left, the second query still on its way
    # The first answer: Shopify refunded most of the first query (actual cost 50) and had not
    # yet seen the second.
    first.observe(status(950, rate=1), 0)
    # 950 minus the second's 400 still pending: a third worker's 500 fits, then 50 are left.
    sleeps = Sleeps()
    third = SharedCostBucket(client, shop, sleeps)
    assert third.wait_before(500, 0) == 0
    assert sleeps.waits == []


def test_an_older_answer_arriving_last_does_not_undo_a_newer_one(client: redis.Redis) -> None:
    """Answers reach Redis out of order when workers share two cores: the bucket Shopify
    described for an earlier query does not yet show the points of later ones."""
    shop = f"https://{uuid.uuid4().hex}.myshopify.com/graphql.json"
    early, late = SharedCostBucket(client, shop), SharedCostBucket(client, shop)
    early.observe(status(1000, rate=100), 0)
    early.wait_before(300, 0)
    late.wait_before(300, 0)
    late.observe(status(100, rate=100), 0)  # the newer answer: little left
    early.observe(status(700, rate=100), 0)  # the older one, arriving last
    sleeps = Sleeps()
    SharedCostBucket(client, shop, sleeps).wait_before(200, 0)
    assert sleeps.waits, "the stale 700 points were believed"
    assert sum(sleeps.waits) >= 0.9  # 100 known, 100 more at 100 per second


def test_reservations_of_four_workers_drain_at_the_restore_rate(client: redis.Redis) -> None:
    """Four threads each pay for five 100-point queries from a 200-point bucket restoring 1000
    points a second: what they send in any window never exceeds bucket + restored points."""
    shop = f"https://{uuid.uuid4().hex}.myshopify.com/graphql.json"
    SharedCostBucket(client, shop).observe(status(200, maximum=200, rate=1000), 0)
    sent: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        bucket = SharedCostBucket(client, shop)
        for _ in range(5):
            assert bucket.wait_before(100, 0) == 0
            with lock:
                sent.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    start = min(sent)
    elapsed = max(sent) - start
    # 2000 points from a 200-point bucket at 1000/s: at least 1.8 s, and not much more.
    assert 1.7 <= elapsed <= 3.0, elapsed


def test_zendesk_budget_counts_down_and_waits_for_the_reset(client: redis.Redis) -> None:
    account = f"https://{uuid.uuid4().hex}.zendesk.com"
    first, second = SharedRequestBudget(client, account), SharedRequestBudget(client, account)
    assert first.acquire() == 0  # nothing known: one probe goes
    assert second.acquire() > 0  # the others wait for its answer
    first.observe(200, {"ratelimit-limit": "400", "ratelimit-remaining": "2",
                        "ratelimit-reset": "3"})  # fmt: skip
    assert second.acquire() == 0
    assert first.acquire() == 0
    wait = second.acquire()
    assert 2.0 <= wait <= 3.2
    # A late answer of the same window claiming more room does not undo the reservations.
    first.observe(200, {"ratelimit-limit": "400", "ratelimit-remaining": "1",
                        "ratelimit-reset": "3"})  # fmt: skip
    assert second.acquire() > 0


def test_a_429_empties_the_budget_until_retry_after(client: redis.Redis) -> None:
    account = f"https://{uuid.uuid4().hex}.zendesk.com"
    budget = SharedRequestBudget(client, account)
    budget.observe(429, {"ratelimit-limit": "400", "ratelimit-remaining": "12",
                         "Retry-After": "2"})  # fmt: skip
    assert 1.5 <= budget.acquire() <= 2.2
    slept: list[float] = []
    assert wait_for(budget.acquire, slept.append, cap=0.5) == pytest.approx(0.5)
