"""Alerts: tell the team about an answer (a detractor, by default) within a minute of it landing,
or once a day in a digest. Exactly once per answer and channel, across crashes and restarts.

A run first queues: one ``due`` row per fresh, settled answer and channel (``nps_engine.store
.alerts``; the table's unique key is the claim, as ``responses.followup_state`` is for follow-ups
in ``jobs/followups.py``). Then it sends each due row: ``sending`` is committed before the message
leaves, ``sent`` after. A transient failure (after the shared retry policy) puts the row back to
``due`` for the next run, and that channel is left alone for the rest of this run; a lasting one
marks it ``failed``; a message that may have left before the connection broke is ``unknown``. Rows
left ``sending`` by a crash are never re-sent (``nps status`` counts them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from connectors.alerts import AlertOutcomeUnknown
from connectors.errors import PermanentError, TransientError
from nps_engine.alert_messages import AlertMessage, answer_alert, digest_alert
from nps_engine.config import Settings
from nps_engine.ports import AlertChannel
from nps_engine.store import alerts as alert_store
from nps_engine.store.database import Database
from nps_engine.store.models import Alert

# A channel that keeps failing for this many runs in a row stops being tried for that alert.
MAX_ATTEMPTS = 10


@dataclass
class AlertSummary:
    queued: int = 0
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "alerts_queued": self.queued,
            "alerts_sent": self.sent,
            "alerts_failed": self.failed,
            "alerts_unknown": self.unknown,
            "alerts_waiting": self.waiting,
        }


def send_alerts(
    database: Database, settings: Settings, channels: Sequence[AlertChannel], now: datetime
) -> AlertSummary:
    summary = AlertSummary()
    if not channels:
        return summary
    run = _AlertRun(database, settings, {channel.name: channel for channel in channels}, now)
    summary.queued = run.queue()
    down: set[str] = set()
    for alert in alert_store.due_alerts(database, settings.store.id):
        channel = run.channels.get(alert.channel)
        if channel is None or alert.channel in down:
            continue  # a channel no longer configured, or one that is down this run
        outcome = run.send(alert, channel)
        if outcome == "waiting":
            down.add(alert.channel)
        _count(summary, outcome, alert, run.last_error)
    return summary


def _count(summary: AlertSummary, outcome: str, alert: Alert, error: str | None) -> None:
    if outcome == "sent":
        summary.sent += 1
        return
    setattr(summary, outcome, getattr(summary, outcome) + 1)
    if error:
        summary.errors.append(f"alert {alert.id} ({alert.subject}, {alert.channel}): {error}")


@dataclass
class _AlertRun:
    database: Database
    settings: Settings
    channels: dict[str, AlertChannel]
    now: datetime
    last_error: str | None = None

    @property
    def store(self) -> str:
        return self.settings.store.id

    def queue(self) -> int:
        alerts = self.settings.alerts
        if alerts.mode == "instant":
            return alert_store.queue_answers(
                self.database,
                self.store,
                list(self.channels),
                alerts.categories,
                self.now,
                settle=timedelta(minutes=alerts.settle_minutes),
                max_age=timedelta(days=alerts.max_age_days),
            )
        day = self.digest_day()
        if day is None:
            return 0
        return sum(
            alert_store.queue_digest(self.database, self.store, name, day, self.now)
            for name in self.channels
        )

    def digest_day(self) -> str | None:
        """Yesterday (store time), once today's ``digest_at`` has passed."""
        local = self.now.astimezone(self.settings.store.tz)
        if local.time() < self.settings.alerts.digest_at:
            return None
        return (local.date() - timedelta(days=1)).isoformat()

    def send(self, alert: Alert, channel: AlertChannel) -> str:
        """Deliver one due alert; returns sent, waiting, failed or unknown."""
        self.last_error = None
        message = self.message(alert)
        if message is None:
            alert_store.finish(
                self.database, alert.id, alert_store.SENT, self.now, "nothing to send"
            )
            return "sent"
        if not alert_store.start_sending(self.database, alert.id, self.now):
            return "sent"  # another worker has it
        state, error = alert_store.SENT, None
        try:
            channel.deliver(message)
        except AlertOutcomeUnknown as problem:
            state, error = alert_store.UNKNOWN, str(problem)
        except TransientError as problem:
            error = str(problem)
            state = alert_store.FAILED if alert.attempts + 1 >= MAX_ATTEMPTS else alert_store.DUE
        except PermanentError as problem:
            state, error = alert_store.FAILED, str(problem)
        alert_store.finish(self.database, alert.id, state, self.now, error)
        self.last_error = error
        return {
            alert_store.SENT: "sent",
            alert_store.DUE: "waiting",
            alert_store.FAILED: "failed",
            alert_store.UNKNOWN: "unknown",
        }[state]

    def message(self, alert: Alert) -> AlertMessage | None:
        key = f"{self.store}-{alert.id}"
        name = self.settings.store.name
        if alert.subject.startswith("digest:"):
            day = alert.subject.removeprefix("digest:")
            answers = alert_store.answers_between(
                self.database, self.store, self.settings.alerts.categories, *self.day_bounds(day)
            )
            if not answers:
                return None
            return digest_alert(key, name, day, [(a, self.url(a.response_id)) for a in answers])
        if alert.response_id is None:
            return None
        answer = alert_store.answer_of(self.database, self.store, alert.response_id)
        if answer is None:  # deleted (a privacy request) since it was queued
            return None
        return answer_alert(key, name, answer, self.url(answer.response_id))

    def day_bounds(self, day: str) -> tuple[datetime, datetime]:
        from nps_engine.report import Period

        period = Period(*(datetime.fromisoformat(day).date(),) * 2, self.settings.store.timezone)
        return period.start, period.end

    def url(self, response_id: int) -> str:
        web = self.settings.web
        base = str(web.public_url).rstrip("/") if web is not None else ""
        return f"{base}/admin/responses/{response_id}"
