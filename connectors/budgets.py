"""Rate budgets shared by every worker of a shop or a Zendesk account, kept in Redis.

Shopify charges one cost bucket per shop (and app), Zendesk one request allowance per account and
minute. Four workers each pacing themselves on their own view would together spend four times
the restore rate and be throttled; here each of them reserves from one budget, atomically (a Lua
script runs alone on the Redis server), and each answer's ``throttleStatus`` or rate-limit
headers bring the shared view back to the vendor's truth.

Shopify (:class:`SharedCostBucket`): a query takes its requested cost from the shared estimate
only when the estimate holds that many points; otherwise the worker sleeps until the restore rate
should have brought them, and asks again (whoever asks first after the refill wins; the others
wait on). An answer's ``currentlyAvailable`` then replaces the estimate, less the points of
queries sent after that one and not yet answered. Answers can reach Redis out of order (four
processes on two cores): each query takes a ticket when it is paid for, and an answer older than
the one applied last is ignored (it would not show the points spent since). Before any answer
the bucket is assumed to be the smallest Shopify publishes (1000 points, 50 per second).

Zendesk (:class:`SharedRequestBudget`): ``ratelimit-remaining``/``-reset`` of the last answer;
each request takes one; at zero the next waits for the window's reset. Within one window the
remaining count only goes down (an answer cannot give back what other workers reserved). Until
an answer has told the limit, one request goes alone (a probe) and the others wait for it.

Times come from the Redis server (``TIME``), the one clock every machine shares.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
if avail < cost then
  return {tostring((cost - avail) / rate), tostring(max), 0}
end
local ticket = redis.call('HINCRBY', KEYS[1], 'ticket', 1)
redis.call('HSET', KEYS[1], 'max', max, 'avail', avail - cost, 'rate', rate, 'at', now)
redis.call('HSET', KEYS[2], ARGV[2], cost .. ' ' .. now .. ' ' .. ticket)
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return {'0', tostring(max), ticket}
"""
)

_OBSERVE = (
    _NOW
    + """
redis.call('HDEL', KEYS[2], ARGV[4])
local mine = tonumber(ARGV[7])
if mine == 0 then mine = tonumber(redis.call('HGET', KEYS[1], 'ticket') or '0') end
local applied = tonumber(redis.call('HGET', KEYS[1], 'applied') or '0')
if mine < applied then return 'stale' end
local pending = 0
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  local cost, at, ticket = string.match(all[i + 1], '(%S+) (%S+) (%S+)')
  if now - tonumber(at) > tonumber(ARGV[5]) then
    redis.call('HDEL', KEYS[2], all[i])
  elseif tonumber(ticket) > mine then
    pending = pending + tonumber(cost)
  end
end
local avail = tonumber(ARGV[2]) - pending
redis.call('HSET', KEYS[1], 'max', ARGV[1], 'avail', avail, 'rate', ARGV[3], 'at', now,
           'applied', mine)
redis.call('EXPIRE', KEYS[1], ARGV[6])
return tostring(avail)
"""
)

_PEEK = (
    _NOW
    + """
local s = redis.call('HMGET', KEYS[1], 'max', 'avail', 'rate', 'at')
local max = tonumber(s[1]) or tonumber(ARGV[1])
local rate = tonumber(s[3]) or tonumber(ARGV[2])
local avail = tonumber(s[2]) or max
local at = tonumber(s[4]) or now
return tostring(math.min(max, avail + math.max(0, now - at) * rate))
"""
)

_ACQUIRE = (
    _NOW
    + """
local s = redis.call('HMGET', KEYS[1], 'limit', 'remaining', 'reset_at')
local limit = tonumber(s[1])
if not limit then
  if redis.call('SET', KEYS[2], '1', 'NX', 'EX', 5) then return '0' end
  return '0.2'
end
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
    """A shop's Shopify cost bucket in Redis (module docstring). One per client and thread.

    :meth:`wait_before` waits itself until the points are paid for, and returns 0: a wait it
    returned would be slept by the client without asking again, while others took the points.
    ``waited_seconds`` adds up that waiting."""

    def __init__(
        self, client: redis.Redis, address: str, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._redis = client
        self._state = budget_key("shopify", address)
        self._pending = self._state + ":pending"
        self._holder = uuid.uuid4().hex
        self._reserve = client.register_script(_RESERVE)
        self._observe = client.register_script(_OBSERVE)
        self._peek = client.register_script(_PEEK)
        self.maximum = ASSUMED_BUCKET[0]
        self.known = False
        self.waited_seconds = 0.0
        self._sleep = sleep
        self._ticket = 0

    def wait_before(self, cost: float, now: float) -> float:
        while True:
            wait, maximum, ticket = self._reserve(
                keys=[self._state, self._pending],
                args=[cost, self._holder, *ASSUMED_BUCKET, KEY_TTL_SECONDS],
            )
            self.maximum = float(maximum)
            seconds = float(wait)
            if seconds <= 0:
                self._ticket = int(ticket)
                return 0.0
            self.waited_seconds += seconds + SAFETY_SECONDS
            self._sleep(seconds + SAFETY_SECONDS)

    def spend(self, cost: float, now: float) -> None:
        """Nothing: :meth:`wait_before` has paid."""

    def available_at(self, now: float) -> float:
        """The points the shared bucket holds now (for page sizing; ``now`` is not used: the
        Redis server's clock is the one every worker shares)."""
        return float(self._peek(keys=[self._state], args=[*ASSUMED_BUCKET]))

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
                self._ticket,
            ],
        )


class SharedRequestBudget:
    """A Zendesk account's per-minute allowance in Redis (module docstring)."""

    def __init__(self, client: redis.Redis, address: str) -> None:
        self._key = budget_key("zendesk", address)
        self._acquire = client.register_script(_ACQUIRE)
        self._headers = client.register_script(_HEADERS)

    def acquire(self) -> float:
        keys = [self._key, self._key + ":probe"]
        wait = float(self._acquire(keys=keys, args=[ASSUMED_WINDOW_SECONDS]))
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
    fail the job with a clear error, not hang it.

    redis-py is imported here, not with the module: the Zendesk client reads this module's
    ``wait_for`` on every machine, and only distributed mode talks to Redis (0.15 s of every
    ``nps run``'s start-up otherwise)."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
