"""``nps scheduler``: enqueue each store's jobs at the intervals of its ``schedule:``.

Which jobs are due is the same pure function the built-in scheduler of ``nps serve`` uses
(:func:`jobs.runtime.scheduler.due_jobs`), with each store's ``send_between`` read in the store's
own time zone. Jobs due together go as one chain, in ``nps run``'s order (sync, send, push,
themes, report), so surveys are chosen from freshly synced orders. Paused stores are skipped;
jobs still waiting in the queue are not enqueued twice (``queue_state``).

Only one scheduler enqueues at a time: it holds a PostgreSQL advisory lock on a connection of its
own, which the server frees the moment that process or its machine dies. Others wait as standby,
trying the lock at every tick, and the one that takes it reads when each job was last enqueued
from Redis, so a takeover does not enqueue everything again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from kombu.exceptions import KombuError
from redis.exceptions import RedisError
from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from jobs.distributed.queue_app import StoreApp, enqueue
from jobs.distributed.queue_state import QueueState
from jobs.runtime.scheduler import Schedule, due_jobs
from nps_engine.config import Settings
from nps_engine.store.database import Database

log = logging.getLogger("nps.scheduler")

LEADER_KEY = 0x6E70_735F_7363_6864  # "nps_schd": the scheduler's advisory lock, one per database


def store_schedules(settings: Settings) -> list[Schedule]:
    """The jobs ``nps scheduler`` runs for one store, in chain order."""
    plan = settings.schedule
    schedules = [Schedule("sync", timedelta(minutes=plan.sync_minutes))]
    if settings.email is not None and settings.web is not None:
        schedules.append(
            Schedule("surveys send", timedelta(minutes=plan.send_minutes), plan.send_between)
        )
    schedules.append(Schedule("tags push", timedelta(minutes=plan.push_minutes)))
    schedules.append(Schedule("themes", timedelta(hours=plan.themes_hours)))
    schedules.append(Schedule("report", timedelta(hours=plan.report_hours)))
    if settings.alerts.enabled:  # as in `nps serve`: fresh answers are looked at every minute
        schedules.append(Schedule("alerts", timedelta(minutes=1)))
    return schedules


class Leadership:
    """The scheduler's PostgreSQL advisory lock, held on a dedicated connection."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._connection: Connection | None = None

    @property
    def held(self) -> bool:
        return self._connection is not None

    def try_take(self) -> bool:
        """Take the lock if it is free, or check that we still hold it (a lost connection
        means the server has freed it: we are no longer the leader)."""
        try:
            if self._connection is not None:
                self._connection.scalar(text("SELECT 1"))
                return True
            connection = self.database.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            )
            if connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_KEY}):
                self._connection = connection
                return True
            connection.close()
        except SQLAlchemyError as error:
            log.warning("scheduler lock: database unreachable (%s)", type(error).__name__)
            self.release()
        return False

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LEADER_KEY})
                self._connection.close()
            except SQLAlchemyError:
                pass  # the server frees the lock with the connection anyway
            self._connection = None


class Dispatcher:
    def __init__(
        self,
        app: StoreApp,
        stores: Sequence[Settings],
        state: QueueState,
        leadership: Leadership,
        clock: Callable[[], datetime],
    ) -> None:
        self.app, self.stores, self.state = app, stores, state
        self.leadership, self.clock = leadership, clock
        self.stop = threading.Event()
        self.enqueued = 0

    def tick(self) -> bool:
        """Enqueue what is due now if we lead; False when another scheduler does."""
        was_leader = self.leadership.held
        if not self.leadership.try_take():
            if was_leader:
                log.warning("scheduler: lost the lock; standing by")
            return False
        if not was_leader:
            log.info("scheduler: active (%d stores)", len(self.stores))
        for settings in self.stores:
            if self.stop.is_set():
                break
            self._store_tick(settings)
        return True

    def _store_tick(self, settings: Settings) -> None:
        store = settings.store.id
        if self.state.paused(store) is not None:
            return
        now = self.clock()
        last = self.state.last_enqueued(store)
        due = due_jobs(store_schedules(settings), dict(last), now, settings.store.tz)
        if not due:
            return
        try:
            sent, waiting = enqueue(self.app, self.state, store, due)
        except (KombuError, RedisError, OSError) as error:  # broker or Redis down: next tick
            log.error("%s: cannot enqueue %s: %s: %s", store, ", ".join(due),
                      type(error).__name__, error)  # fmt: skip
            return
        for job in due:
            self.state.set_enqueued(store, job, now)
        self.enqueued += len(sent)
        if sent:
            log.info("%s: enqueued %s", store, ", ".join(sent))
        if waiting:
            log.info("%s: still queued, not enqueued again: %s", store, ", ".join(waiting))

    def run_forever(self, tick_seconds: float) -> None:
        standby_said = False
        while not self.stop.is_set():
            leading = self.tick()
            if not leading and not standby_said:
                log.info("scheduler: another scheduler is active; standing by")
            standby_said = not leading
            self.stop.wait(tick_seconds)
        self.leadership.release()
        log.info("scheduler stopped")
