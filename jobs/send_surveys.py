"""``nps surveys send``: create invites for due surveys and mail them, at most once each.

Per invite: ``claim`` (pending -> sending) is COMMITTED, then SMTP, then the outcome is committed
(see ``nps_engine.store.invites`` for why a crash in between never causes a second email).
Outcomes: accepted -> sent; 5xx recipient -> suppressed, and the address is suppressed for good;
refused message -> failed; deferred recipient -> pending again (next run); server unreachable or
login refused -> pending again, and the batch stops (every other invite would fail the same way).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from connectors.email.errors import SmtpDeferred
from connectors.errors import ConnectorError
from jobs.followups import due_followups
from jobs.survey_letters import letter_of, letters_for
from nps_engine.config.settings import Settings, SurveySettings
from nps_engine.config.texts import load_catalog
from nps_engine.eligibility import (
    Eligibility,
    SkipReason,
    due_relationship_surveys,
    due_reminders,
    eligible_orders,
    in_quiet_hours,
)
from nps_engine.ports import SurveyMailer
from nps_engine.records import InviteState, SuppressionReason
from nps_engine.store import invites as invite_store
from nps_engine.store.database import Database
from nps_engine.store.models import Invite
from nps_engine.store.suppressions import is_suppressed, suppress, suppressions
from nps_engine.store.survey_audience import audience_for, orders_in_window
from nps_engine.survey_email import Letter, SurveyEmailComposer

Progress = Callable[[str, int, int | None], None]


@dataclass
class SendSummary:
    eligibility: Eligibility
    dry_run: bool = False
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    # Dry run: every email the run would send, e.g. "#1001 -> a***@example.com (fr)",
    # "relationship survey -> b***@example.com (en)", "reminder -> c***@example.com".
    planned: list[str] = field(default_factory=list)
    # Dry run: detractor follow-up tickets the next ``nps tags push`` would open.
    followups_due: int = 0

    def lines(self) -> list[str]:
        lines = [self.eligibility.summary()]
        if self.dry_run:
            lines += [f"would send {p}" for p in self.planned]
            kinds = ", ".join(
                f"{self.counts[f'would_{kind}']} {label}"
                for kind, label in _PLANNED_KINDS
                if self.counts[f"would_{kind}"]
            )
            total = f"would send {len(self.planned)} email(s)"
            lines.append(total + (f": {kinds}" if kinds else ""))
            if self.followups_due:
                lines.append(
                    f"`nps tags push` would open {self.followups_due} detractor follow-up ticket(s)"
                )
            return lines
        parts = ["sent", "failed", "bounced", "waiting", "reminders", "relationship"]
        done = ", ".join(f"{self.counts[p]} {p}" for p in parts if self.counts[p] or p == "sent")
        lines.append(done)
        if self.counts["over_limit"]:
            lines.append(
                f"{self.counts['over_limit']} more due but over this run's limit: next run"
            )
        if self.counts["unknown_outcome"]:
            lines.append(
                f"{self.counts['unknown_outcome']} left in 'sending' by an interrupted run: "
                "marked failed, not re-sent (the customer may have received them)"
            )
        if self.counts["withdrawn"]:
            lines.append(
                f"{self.counts['withdrawn']} waiting since the order was due (SMTP down?): "
                "withdrawn, not sent"
            )
        return lines + [f"error: {e}" for e in self.errors]


_PLANNED_KINDS = (
    ("survey", "post-delivery survey(s)"),
    ("relationship", "relationship survey(s)"),
    ("reminder", "reminder(s)"),
)


def send_surveys(
    database: Database,
    settings: Settings,
    mailer: SurveyMailer,
    now: datetime,
    *,
    dry_run: bool = False,
    limit: int | None = None,
    progress: Progress | None = None,
    composer: SurveyEmailComposer | None = None,
) -> SendSummary:
    """Send what is due at ``now``: never more than ``limit`` (or ``survey.max_per_run``) emails
    in all, post-delivery surveys first, then relationship surveys, then reminders."""
    store = settings.store.id
    survey = settings.survey
    if limit is not None:
        survey = survey.model_copy(update={"max_per_run": max(1, min(limit, survey.max_per_run))})
    budget = _Budget(survey.max_per_run)
    with database.session() as session:
        settled = 0 if dry_run else invite_store.settle_interrupted(session, store, now)
        # An order is due for (max_age - delay) days; an invite still waiting after that is late.
        due_for = timedelta(days=max(1, survey.max_age_days - survey.delay_days))
        withdrawn = 0 if dry_run else invite_store.withdraw_stale(session, store, now - due_for)
    with database.session() as session:
        orders = orders_in_window(session, store, survey, now)
        audience = audience_for(session, store, orders, survey, now)
        eligibility = eligible_orders(orders, audience, survey, now, settings.store.tz)
    summary = SendSummary(eligibility, dry_run=dry_run)
    summary.counts["unknown_outcome"] = settled
    summary.counts["withdrawn"] = withdrawn
    if dry_run:
        _plan(database, settings, survey, now, eligibility, budget, summary)
        return summary
    # Invites left pending by an earlier run wait for a moment outside quiet hours too.
    quiet = in_quiet_hours(now, survey.quiet_hours, settings.store.tz)
    with database.session() as session:
        created = invite_store.create_invites(session, store, eligibility.due, now)
        room = 0 if quiet else survey.max_per_run - len(created)
        retried = (
            invite_store.pending_invites(session, store, survey.max_per_run) if room > 0 else []
        )
    fresh = {invite.id for invite in created}
    batch = created + [i for i in retried if i.id not in fresh][: max(room, 0)]
    budget.spend(len(batch))
    composer = composer or SurveyEmailComposer(settings)
    _deliver(database, settings, mailer, composer, batch, now, summary, progress)
    if not summary.errors:
        _extras(database, settings, survey, mailer, composer, now, summary, budget)
    return summary


@dataclass
class _Budget:
    """What is left of the run's email limit, shared by every kind of email."""

    left: int

    def spend(self, emails: int) -> None:
        self.left = max(0, self.left - emails)

    def settings(self, survey: SurveySettings) -> SurveySettings:
        # Not validated (max_per_run >= 1 in config): 0 means this kind gets nothing this run.
        return survey.model_copy(update={"max_per_run": self.left})


def _plan(
    database: Database,
    settings: Settings,
    survey: SurveySettings,
    now: datetime,
    eligibility: Eligibility,
    budget: _Budget,
    summary: SendSummary,
) -> None:
    """The dry run: every email the real run would send, by kind, in the order it would."""
    catalog = load_catalog(settings)  # the language the email will be in, not the locale

    def planned(kind: str, what: str, email: str, locale: str | None) -> None:
        summary.planned.append(_planned(what, email, catalog.language_for(locale)))
        summary.counts[f"would_{kind}"] += 1

    for due in eligibility.due:
        planned("survey", due.order.name if due.order else "-", due.email, due.customer.locale)
    budget.spend(len(eligibility.due))
    store = settings.store.id
    surveyed = {due.customer.id for due in eligibility.due}
    if survey.relationship.enabled and budget.left > 0:
        for due in _relationship_due(database, settings, survey, now, budget).due:
            if due.customer.id not in surveyed:  # the post-delivery survey goes first
                planned("relationship", "relationship survey", due.email, due.customer.locale)
                budget.spend(1)
    if survey.reminder.enabled and budget.left > 0:
        with database.session() as session:
            for invite_id in _reminders_due(session, settings, survey, now, budget):
                invite = invite_store.invite(session, store, invite_id)
                if invite is not None:
                    planned("reminder", "reminder", invite.email, invite.locale)
    summary.followups_due = _followups_due(database, settings, now)


def _relationship_due(
    database: Database, settings: Settings, survey: SurveySettings, now: datetime, budget: _Budget
) -> Eligibility:
    with database.session() as session:
        audience = audience_for(session, settings.store.id, [], survey, now, every_customer=True)
    return due_relationship_surveys(audience, budget.settings(survey), now, settings.store.tz)


def _reminders_due(
    session: Session, settings: Settings, survey: SurveySettings, now: datetime, budget: _Budget
) -> tuple[int, ...]:
    store = settings.store.id
    after = timedelta(days=survey.reminder.after_days)
    candidates = invite_store.reminder_candidates(session, store, now - after)
    suppressed = suppressions(session, store)
    due, _skipped = due_reminders(
        candidates, suppressed, budget.settings(survey), now, settings.store.tz
    )
    return due


def _followups_due(database: Database, settings: Settings, now: datetime) -> int:
    if settings.zendesk is None or not settings.zendesk.followup.enabled:
        return 0
    return len(due_followups(database, settings.store.id, now, settings.zendesk.followup))


def _deliver(
    database: Database,
    settings: Settings,
    mailer: SurveyMailer,
    composer: SurveyEmailComposer,
    batch: list[Invite],
    now: datetime,
    summary: SendSummary,
    progress: Progress | None,
) -> None:
    store = settings.store.id
    letters = letters_for(database, store, batch)
    for done, invite in enumerate(batch, start=1):
        with database.session() as session:
            # An address may have unsubscribed or bounced since this invite was created.
            reason = is_suppressed(session, store, invite.email)
            if reason is not None:
                invite_store.withdraw(session, store, invite.id, f"address {reason.value}")
                continue
            if not invite_store.claim(session, store, invite.id, now):
                continue
        letter = letters[invite.id]
        # The claim is committed: from here on, a crash leaves 'sending' and no resend.
        if not _send_one(database, store, mailer, composer, invite, letter, now, summary):
            break
        if progress is not None:
            progress("surveys", done, len(batch))


def _send_one(
    database: Database,
    store: str,
    mailer: SurveyMailer,
    composer: SurveyEmailComposer,
    invite: Invite,
    letter: Letter,
    now: datetime,
    summary: SendSummary,
) -> bool:
    """Mail one claimed invite and record the outcome; False when the batch must stop."""
    try:
        email = composer.compose(letter, now)
        result = mailer.send(email)
    except (UnicodeError, ValueError) as error:
        # Something in this one invite cannot be written as mail: it fails, the batch goes on,
        # and it is never left 'sending' (which would later read as an unknown outcome).
        reason = f"not sent: {type(error).__name__} while writing the message"
        _finish(database, store, invite, InviteState.FAILED, now, error=reason)
        summary.counts["failed"] += 1
        return True
    except SmtpDeferred as error:
        _finish(database, store, invite, InviteState.PENDING, now, error=str(error))
        summary.counts["waiting"] += 1
        return True
    except ConnectorError as error:
        _finish(database, store, invite, InviteState.PENDING, now, error=str(error))
        summary.counts["waiting"] += 1
        summary.errors.append(f"sending stopped: {error}")
        return False
    if result.ok:
        _finish(database, store, invite, InviteState.SENT, now, message_id=email.message_id)
        summary.counts["sent"] += 1
    elif result.bounced:
        with database.session() as session:
            suppress(session, store, invite.email, SuppressionReason.BOUNCED, now, result.error)
            invite_store.finish(
                session, store, invite.id, InviteState.SUPPRESSED, now, error=result.error
            )
        summary.counts["bounced"] += 1
    else:
        _finish(database, store, invite, InviteState.FAILED, now, error=result.error)
        summary.counts["failed"] += 1
    return True


def _extras(
    database: Database,
    settings: Settings,
    survey: SurveySettings,
    mailer: SurveyMailer,
    composer: SurveyEmailComposer,
    now: datetime,
    summary: SendSummary,
    budget: _Budget,
) -> None:
    """Relationship surveys and reminders (both off by default), within what the run has left."""
    store = settings.store.id
    if survey.relationship.enabled and budget.left > 0:
        due = _relationship_due(database, settings, survey, now, budget)
        summary.counts["over_limit"] += due.skipped.get(SkipReason.OVER_LIMIT, 0)
        with database.session() as session:
            created = invite_store.create_invites(session, store, due.due, now)
        budget.spend(len(created))
        before = summary.counts["sent"]
        _deliver(database, settings, mailer, composer, created, now, summary, None)
        summary.counts["relationship"] += summary.counts["sent"] - before
    if survey.reminder.enabled and budget.left > 0 and not summary.errors:
        _remind(database, settings, survey, mailer, composer, now, summary, budget)


def _remind(
    database: Database,
    settings: Settings,
    survey: SurveySettings,
    mailer: SurveyMailer,
    composer: SurveyEmailComposer,
    now: datetime,
    summary: SendSummary,
    budget: _Budget,
) -> None:
    store = settings.store.id
    with database.session() as session:
        due = _reminders_due(session, settings, survey, now, budget)
    for invite_id in due:
        with database.session() as session:
            invite = invite_store.invite(session, store, invite_id)
            if invite is None or not invite_store.claim_reminder(session, store, invite_id, now):
                continue
            letter = letter_of(session, invite, reminder=True)
        # Recorded before sending: a reminder is never sent twice, even after a crash.
        try:
            result = mailer.send(composer.compose(letter, now))
        except ConnectorError as error:
            summary.errors.append(f"reminders stopped: {error}")
            return
        if result.bounced:
            with database.session() as session:
                suppress(session, store, letter.email, SuppressionReason.BOUNCED, now, result.error)
        summary.counts["reminders" if result.ok else "bounced" if result.bounced else "failed"] += 1


def _finish(
    database: Database,
    store: str,
    invite: Invite,
    state: InviteState,
    now: datetime,
    *,
    message_id: str | None = None,
    error: str | None = None,
) -> None:
    with database.session() as session:
        invite_store.finish(
            session, store, invite.id, state, now, message_id=message_id, error=error
        )


def _planned(order: str, email: str, language: str) -> str:
    local, _, domain = email.partition("@")
    return f"{order} -> {local[:1]}***@{domain} ({language})"
