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
from nps_engine.config.settings import Settings
from nps_engine.config.texts import load_catalog
from nps_engine.eligibility import (
    Eligibility,
    due_relationship_surveys,
    due_reminders,
    eligible_orders,
    in_quiet_hours,
)
from nps_engine.ports import SurveyMailer
from nps_engine.records import InviteState, SuppressionReason
from nps_engine.store import invites as invite_store
from nps_engine.store.database import Database
from nps_engine.store.models import Customer, Invite, Order
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
    # Dry run: what would go, e.g. "#1001 -> a***@example.com (fr)".
    planned: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = [self.eligibility.summary()]
        if self.dry_run:
            return [*lines, *(f"would send {p}" for p in self.planned)]
        parts = ["sent", "failed", "bounced", "waiting", "reminders", "relationship"]
        done = ", ".join(f"{self.counts[p]} {p}" for p in parts if self.counts[p] or p == "sent")
        lines.append(done)
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
    """Send what is due at ``now``; never more than ``limit`` (or ``survey.max_per_run``)."""
    store = settings.store.id
    survey = settings.survey
    if limit is not None:
        survey = survey.model_copy(update={"max_per_run": max(1, min(limit, survey.max_per_run))})
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
        catalog = load_catalog(settings)  # the language the email will be in, not the locale
        summary.planned = [
            _planned(
                d.order.name if d.order else "-", d.email, catalog.language_for(d.customer.locale)
            )
            for d in eligibility.due
        ]
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
    composer = composer or SurveyEmailComposer(settings)
    _deliver(database, settings, mailer, composer, batch, now, summary, progress)
    if not summary.errors:
        _extras(database, settings, mailer, composer, now, summary)
    return summary


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
    for done, invite in enumerate(batch, start=1):
        with database.session() as session:
            # An address may have unsubscribed or bounced since this invite was created.
            reason = is_suppressed(session, store, invite.email)
            if reason is not None:
                invite_store.withdraw(session, store, invite.id, f"address {reason.value}")
                continue
            if not invite_store.claim(session, store, invite.id, now):
                continue
            letter = _letter(session, invite)
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
    mailer: SurveyMailer,
    composer: SurveyEmailComposer,
    now: datetime,
    summary: SendSummary,
) -> None:
    """Relationship surveys and reminders, both off by default."""
    store = settings.store.id
    survey_settings = settings.survey
    if survey_settings.relationship.enabled:
        with database.session() as session:
            audience = audience_for(session, store, [], survey_settings, now, every_customer=True)
            due = due_relationship_surveys(audience, survey_settings, now, settings.store.tz)
            created = invite_store.create_invites(session, store, due.due, now)
        before = summary.counts["sent"]
        _deliver(database, settings, mailer, composer, created, now, summary, None)
        summary.counts["relationship"] += summary.counts["sent"] - before
    if survey_settings.reminder.enabled and not summary.errors:
        _remind(database, settings, mailer, composer, now, summary)


def _remind(
    database: Database,
    settings: Settings,
    mailer: SurveyMailer,
    composer: SurveyEmailComposer,
    now: datetime,
    summary: SendSummary,
) -> None:
    store = settings.store.id
    after = timedelta(days=settings.survey.reminder.after_days)
    with database.session() as session:
        candidates = invite_store.reminder_candidates(session, store, now - after)
        suppressed = suppressions(session, store)
    due, _skipped = due_reminders(candidates, suppressed, settings.survey, now, settings.store.tz)
    for invite_id in due:
        with database.session() as session:
            invite = invite_store.invite(session, store, invite_id)
            if invite is None or not invite_store.claim_reminder(session, store, invite_id, now):
                continue
            letter = _letter(session, invite, reminder=True)
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


def _letter(session: Session, invite: Invite, *, reminder: bool = False) -> Letter:
    customer = (
        session.get(Customer, (invite.store, invite.customer_id)) if invite.customer_id else None
    )
    order = session.get(Order, (invite.store, invite.order_id)) if invite.order_id else None
    return Letter(
        invite_id=invite.id,
        email=invite.email,
        locale=invite.locale,
        first_name=customer.first_name if customer else None,
        order_name=order.name if order else None,
        reminder=reminder,
    )


def _planned(order: str, email: str, language: str) -> str:
    local, _, domain = email.partition("@")
    return f"{order} -> {local[:1]}***@{domain} ({language})"
