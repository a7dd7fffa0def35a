"""Rate budgets shared by every worker of a shop or a Zendesk account, kept in Redis.

Shopify charges one cost bucket per shop (and app), Zendesk one request allowance per account and
minute. Four workers each pacing themselves on their own view would together spend four times
the restore rate and be throttled; here each of them reserves from one budget, atomically (a Lua
script runs alone on the Redis server), and each answer's ``throttleStatus`` or rate-limit
headers bring the shared view back to the vendor's truth.

Shopify (:class:`SharedCostBucket`): a reservation takes the query's requested cost from the
extrapolated bucket *at once*, even into debt; a worker whose reservation left the bucket negative
waits ``debt / restoreRate`` seconds, so the reservations form a queue that drains at exactly the
restore rate. An answer's ``currentlyAvailable`` then replaces the estimate, less the reservations
of queries still on their way (at most one per client: a client is used by one thread). Before any
answer the bucket is assumed to be the smallest Shopify publishes (1000 points, 50 per second).

Zendesk (:class:`SharedRequestBudget`): ``ratelimit-remaining``/``-reset`` of the last answer;
each request takes one; at zero the next waits for the window's reset. Within one window the
remaining count only goes down (an answer cannot give back what other workers reserved).

Times come from the Redis server (``TIME``), the one clock every machine shares.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import redis

SAFETY_SECONDS = 0.05  # the vendor measured its bucket before the answer travelled to us
KEY_TTL_SECONDS = 3600
PENDING_STALE_SECONDS = 60  # a reservation whose answer never came (the worker died)
ASSUMED_BUCKET = (1000.0, 50.0)  # Shopify's smallest: points, points restored per second
ASSUMED_WINDOW_SECONDS = 60.0  # Zendesk counts per minute

_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1000000\n"

_RESERVE = (
    _NOW
    + """
local s = redis.call('HMGET', KEYS[1], 'max', 'avail', 'rate', 'at')
local max = tonumber(s[1]) or tonumber(ARGV[3])
local rate = tonumber(s[3]) or tonumber(ARGV[4])
local avail = tonumber(s[2]) or max
local at = tonumber(s[4]) or now
avail = math.min(max, avail + math.max(0, now - at) * rate)
local cost = math.min(tonumber(ARGV[1]), max)
avail = avail - cost
redis.call('HSET', KEYS[1], 'max', max, 'avail', avail, 'rate', rate, 'at', now)
redis.call('HSET', KEYS[2], ARGV[2], cost .. ' ' .. now)
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
local wait = 0
if avail < 0 then wait = -avail / rate end
return {tostring(wait), tostring(max)}
"""
)

_OBSERVE = (
    _NOW
    + """
redis.call('HDEL', KEYS[2], ARGV[4])
local pending = 0
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  local cost, at = string.match(all[i + 1], '(%S+) (%S+)')
  if now - tonumber(at) > tonumber(ARGV[5]) then
    redis.call('HDEL', KEYS[2], all[i])
  else
    pending = pending + tonumber(cost)
  end
end
local avail = tonumber(ARGV[2]) - pending
redis.call('HSET', KEYS[1], 'max', ARGV[1], 'avail', avail, 'rate', ARGV[3], 'at', now)
redis.call('EXPIRE', KEYS[1], ARGV[6])
return tostring(avail)
"""
)

_ACQUIRE = (
    _NOW
    + """
local s = redis.call('HMGET', KEYS[1], 'limit', 'remaining', 'reset_at')
local limit = tonumber(s[1])
if not limit then return '0' end
local remaining = tonumber(s[2])
local reset_at = tonumber(s[3])
if now >= reset_at then
  remaining = limit
  reset_at = now + tonumber(ARGV[1])
end
if remaining >= 1 then
  redis.call('HSET', KEYS[1], 'remaining', remaining - 1, 'reset_at', reset_at)
  return '0'
end
redis.call('HSET', KEYS[1], 'remaining', remaining, 'reset_at', reset_at)
return tostring(reset_at - now)
"""
)

_HEADERS = (
    _NOW
    + """
local limit = tonumber(ARGV[1])
local remaining = tonumber(ARGV[2])
local reset_at = now + tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'remaining', 'reset_at')
local known_reset = tonumber(s[2])
if known_reset and now < known_reset and math.abs(reset_at - known_reset) < 1.5 then
  remaining = math.min(remaining, tonumber(s[1]))
  reset_at = known_reset
end
redis.call('HSET', KEYS[1], 'limit', limit, 'remaining', remaining, 'reset_at', reset_at)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return tostring(remaining)
"""
)


def budget_key(kind: str, address: str) -> str:
    """``nps:budget:shopify:<hash of the endpoint>``: one budget per shop or account, whichever
    store ids point at it."""
    digest = hashlib.blake2b(address.encode(), digest_size=10).hexdigest()
    return f"nps:budget:{kind}:{digest}"


class SharedCostBucket:
    """A shop's Shopify cost bucket in Redis (module docstring). One per client and thread."""

    def __init__(self, client: redis.Redis, address: str) -> None:
        self._redis = client
        self._state = budget_key("shopify", address)
        self._pending = self._state + ":pending"
        self._holder = uuid.uuid4().hex
        self._reserve = client.register_script(_RESERVE)
        self._observe = client.register_script(_OBSERVE)
        self.maximum = ASSUMED_BUCKET[0]
        self.known = False

    def wait_before(self, cost: float, now: float) -> float:
        wait, maximum = self._reserve(
            keys=[self._state, self._pending],
            args=[cost, self._holder, *ASSUMED_BUCKET, KEY_TTL_SECONDS],
        )
        self.maximum = float(maximum)
        seconds = float(wait)
        return seconds + SAFETY_SECONDS if seconds > 0 else 0.0

    def spend(self, cost: float, now: float) -> None:
        """Nothing: :meth:`wait_before` reserved the points."""

    def observe(self, throttle_status: Mapping[str, Any], now: float) -> None:
        self.maximum = float(throttle_status["maximumAvailable"])
        self.known = True
        self._observe(
            keys=[self._state, self._pending],
            args=[
                self.maximum,
                float(throttle_status["currentlyAvailable"]),
                float(throttle_status["restoreRate"]),
                self._holder,
                PENDING_STALE_SECONDS,
                KEY_TTL_SECONDS,
            ],
        )


class SharedRequestBudget:
    """A Zendesk account's per-minute allowance in Redis (module docstring)."""

    def __init__(self, client: redis.Redis, address: str) -> None:
        self._key = budget_key("zendesk", address)
        self._acquire = client.register_script(_ACQUIRE)
        self._headers = client.register_script(_HEADERS)

    def acquire(self) -> float:
        wait = float(self._acquire(keys=[self._key], args=[ASSUMED_WINDOW_SECONDS]))
        return wait + SAFETY_SECONDS if wait > 0 else 0.0

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        reading = _allowance(status, headers)
        if reading is not None:
            self._headers(keys=[self._key], args=[*reading, KEY_TTL_SECONDS])


def _allowance(status: int, headers: Mapping[str, str]) -> tuple[int, int, float] | None:
    """(limit, remaining, seconds to reset) from an answer, or None when it says nothing.

    A 429 says "nothing left until Retry-After", whatever the counters claim."""
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        limit = int(lowered.get("ratelimit-limit") or lowered.get("x-rate-limit") or 0)
        remaining = int(
            lowered.get("ratelimit-remaining") or lowered.get("x-rate-limit-remaining") or 0
        )
        reset = float(lowered.get("ratelimit-reset") or ASSUMED_WINDOW_SECONDS)
        if status == 429:
            reset = float(lowered.get("retry-after") or reset)
            remaining = 0
    except ValueError:
        return None
    if limit <= 0:
        return None
    return limit, remaining, reset


def wait_for(budget: Callable[[], float], sleep: Callable[[float], None], cap: float) -> float:
    """Ask ``budget`` until it says go, sleeping as told (at most ``cap`` seconds in all, then go
    anyway: the vendor's own 429 handling takes over). The seconds slept."""
    slept = 0.0
    while (wait := budget()) > 0 and slept < cap:
        step = min(wait, cap - slept, 5.0)
        sleep(step)
        slept += step
    return slept


def connect(url: str) -> redis.Redis:
    """A Redis client for the budgets, quick to give up: a budget that cannot be reached must
    fail the job with a clear error, not hang it."""
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
