"""What the queue remembers between processes, in Redis (the budgets' Redis, ``queue.redis_url``).

* queued marks: ``(store, job)`` is waiting in the queue; the scheduler and ``nps run --enqueue``
  add no second copy until a worker picks it up, so a slow queue never piles up the same job.
* paused stores: a store whose token was refused waits ``credentials_pause_minutes`` (doubling on
  each new refusal, at most a day) before the scheduler enqueues it again; `nps stores --resume`
  ends the pause at once.
* last enqueued: when the scheduler last enqueued each job of each store, so a standby scheduler
  taking over does not enqueue everything again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import redis

PREFIX = "nps:queue"
MAX_PAUSE_SECONDS = 24 * 3600
STRIKES_TTL_SECONDS = 3 * 24 * 3600


@dataclass(frozen=True)
class Pause:
    reason: str
    since: datetime
    until: datetime


class QueueState:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    # -- queued marks ------------------------------------------------------------------------

    def mark_queued(self, store: str, job: str, ttl_seconds: int) -> bool:
        """True when (store, job) was not already waiting (it is now); the mark expires after
        ``ttl_seconds`` in case its message is lost."""
        return bool(self.redis.set(_queued(store, job), "1", nx=True, ex=ttl_seconds))

    def clear_queued(self, store: str, job: str) -> None:
        self.redis.delete(_queued(store, job))

    # -- paused stores -----------------------------------------------------------------------

    def pause(self, store: str, reason: str, now: datetime, base_minutes: int) -> Pause:
        strikes = int(self.redis.incr(_strikes(store)))
        self.redis.expire(_strikes(store), STRIKES_TTL_SECONDS)
        seconds = min(MAX_PAUSE_SECONDS, base_minutes * 60 * 2 ** (strikes - 1))
        until = datetime.fromtimestamp(now.timestamp() + seconds, now.tzinfo)
        pause = Pause(reason[:300], now, until)
        entry = {"reason": pause.reason, "since": now.isoformat(), "until": until.isoformat()}
        self.redis.set(_paused(store), json.dumps(entry), ex=seconds)
        return pause

    def paused(self, store: str) -> Pause | None:
        raw = self.redis.get(_paused(store))
        if raw is None:
            return None
        entry = json.loads(raw)
        since, until = (
            datetime.fromisoformat(entry["since"]),
            datetime.fromisoformat(entry["until"]),
        )
        return Pause(entry["reason"], since, until)

    def resume(self, store: str) -> bool:
        """End a pause (and forget earlier refusals); True if the store was paused."""
        removed = self.redis.delete(_paused(store))
        self.redis.delete(_strikes(store))
        return bool(removed)

    # -- the scheduler's memory --------------------------------------------------------------

    def last_enqueued(self, store: str) -> dict[str, datetime]:
        raw: dict[bytes, bytes] = self.redis.hgetall(_last(store))  # type: ignore[assignment]
        return {k.decode(): datetime.fromisoformat(v.decode()) for k, v in raw.items()}

    def set_enqueued(self, store: str, job: str, when: datetime) -> None:
        self.redis.hset(_last(store), job, when.isoformat())


def _queued(store: str, job: str) -> str:
    return f"{PREFIX}:queued:{store}:{job}"


def _paused(store: str) -> str:
    return f"{PREFIX}:paused:{store}"


def _strikes(store: str) -> str:
    return f"{PREFIX}:strikes:{store}"


def _last(store: str) -> str:
    return f"{PREFIX}:last:{store}"
