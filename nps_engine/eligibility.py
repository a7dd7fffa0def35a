"""Who gets a survey email now (docs/architecture.md, section 4). Pure: records, the survey
settings and ``now`` in, due surveys and counted exclusions out.

Every order is checked against the rules in one fixed order and counted under the FIRST rule
it fails, so "skipped: 12 throttled" means twelve orders that passed every earlier rule:

  cancelled -> not fulfilled -> not due yet -> too old -> already surveyed -> no customer ->
  no email -> unsubscribed / bounced / redacted -> no marketing consent -> throttled ->
  quiet hours -> over max_per_run

Returned and refunded orders ARE surveyed: "returned" is a segment the report compares.
Throttling counts invites that were sent, or may have been (``sending`` left by a crash), of any
kind, by customer id and by address; two orders of one customer due together give one survey.
"""

from __future__ import annotations

import enum
import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol

from nps_engine.records import Customer, Order, SuppressionReason, SurveyKind, normalise_email

# A relationship survey missed by more than this (the job did not run) waits for the next period
# instead of arriving late; it also stops a first run from mailing every slot already passed.
RELATIONSHIP_GRACE_DAYS = 7


class QuietWindow(Protocol):
    """Store-local hours when no survey leaves (``survey.quiet_hours``)."""

    @property
    def start(self) -> time: ...
    @property
    def end(self) -> time: ...


class RelationshipPolicy(Protocol):
    @property
    def enabled(self) -> bool: ...
    @property
    def every_days(self) -> int: ...


class ReminderPolicy(Protocol):
    @property
    def enabled(self) -> bool: ...
    @property
    def after_days(self) -> int: ...


class SurveyPolicy(Protocol):
    """What the rules read of the ``survey:`` settings, as frozen values.

    ``nps_engine.config.settings.SurveySettings`` is one; the engine never imports the config.
    """

    @property
    def delay_days(self) -> int: ...
    @property
    def fallback_days(self) -> int: ...
    @property
    def max_age_days(self) -> int: ...
    @property
    def throttle_days(self) -> int: ...
    @property
    def max_per_run(self) -> int: ...
    @property
    def require_marketing_consent(self) -> bool: ...
    @property
    def quiet_hours(self) -> QuietWindow | None: ...
    @property
    def relationship(self) -> RelationshipPolicy: ...
    @property
    def reminder(self) -> ReminderPolicy: ...


class SkipReason(enum.StrEnum):
    CANCELLED = "cancelled"
    NOT_FULFILLED = "not fulfilled"
    NOT_DUE_YET = "not due yet"
    TOO_OLD = "too old"
    ALREADY_SURVEYED = "already surveyed"
    NO_CUSTOMER = "no customer"
    NO_EMAIL = "no email"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    REDACTED = "redacted"
    NO_CONSENT = "no marketing consent"
    THROTTLED = "throttled"
    QUIET_HOURS = "quiet hours"
    OVER_LIMIT = "over max_per_run"


# Not a problem with the order or the customer: it is early, or its survey is done.
_ROUTINE = frozenset({SkipReason.NOT_DUE_YET, SkipReason.ALREADY_SURVEYED})


@dataclass(frozen=True, slots=True)
class PastInvite:
    """An invite already in the store, as eligibility sees it."""

    kind: SurveyKind
    order_id: int | None
    customer_id: int | None
    email: str
    # When it went out (or may have); None when it certainly never did (pending, failed before
    # SMTP, suppressed): such an invite still blocks its order but does not throttle.
    mailed_at: datetime | None


@dataclass(frozen=True, slots=True)
class DueSurvey:
    kind: SurveyKind
    customer: Customer
    email: str
    order: Order | None = None


@dataclass(frozen=True, slots=True)
class Eligibility:
    due: tuple[DueSurvey, ...]
    skipped: Mapping[SkipReason, int]

    def summary(self) -> str:
        """``42 due, skipped: 12 throttled, 3 unsubscribed, 5 no email (80 not due yet)``.

        Exclusions largest first; orders that are simply early or already done go in brackets,
        apart from the reasons an owner may want to act on.
        """
        counts = sorted(
            self.skipped.items(), key=lambda item: (-item[1], list(SkipReason).index(item[0]))
        )
        parts = [f"{n} {reason.value}" for reason, n in counts if n and reason not in _ROUTINE]
        routine = [f"{n} {reason.value}" for reason, n in counts if n and reason in _ROUTINE]
        line = f"{len(self.due)} due" + (f", skipped: {', '.join(parts)}" if parts else "")
        return line + (f" ({', '.join(routine)})" if routine else "")


@dataclass(frozen=True, slots=True)
class Audience:
    """What the rules need besides the orders: customers, suppressions and history."""

    customers: Mapping[int, Customer]
    suppressions: Mapping[str, SuppressionReason]
    past_invites: Sequence[PastInvite]
    redacted_customers: AbstractSet[int] = frozenset()


def eligible_orders(
    orders: Iterable[Order],
    audience: Audience,
    survey: SurveyPolicy,
    now: datetime,
    store_tz: tzinfo = UTC,
) -> Eligibility:
    """Post-delivery surveys due at ``now``; oldest delivery first, so none ages out waiting."""
    history = _History(audience.past_invites, now - timedelta(days=survey.throttle_days))
    skipped: Counter[SkipReason] = Counter()
    due: list[DueSurvey] = []
    for order in sorted(orders, key=lambda o: (_survey_clock(o) or now, o.id)):
        candidate, reason = _check_order(order, audience, history, survey, now)
        if reason is None:
            assert candidate is not None
            history.claim(candidate)
            due.append(candidate)
        else:
            skipped[reason] += 1
    return _apply_run_limits(due, skipped, survey, now, store_tz)


def due_relationship_surveys(
    audience: Audience,
    survey: SurveyPolicy,
    now: datetime,
    store_tz: tzinfo = UTC,
) -> Eligibility:
    """Customers with at least one order whose relationship survey falls due now.

    Each customer has a fixed day in every ``every_days`` period, from a hash of their id, so the
    emails are spread evenly over the period and a customer is asked at most once per period.
    """
    settings = survey.relationship
    if not settings.enabled:
        return Eligibility((), {})
    history = _History(audience.past_invites, now - timedelta(days=survey.throttle_days))
    skipped: Counter[SkipReason] = Counter()
    due: list[DueSurvey] = []
    for customer in sorted(audience.customers.values(), key=lambda c: c.id):
        slot = relationship_slot_start(customer.id, settings.every_days, now)
        if customer.orders_count < 1 or now - slot > timedelta(days=RELATIONSHIP_GRACE_DAYS):
            continue
        if history.relationship_since(customer.id, slot):
            continue
        email = normalise_email(customer.email)
        reason = _customer_reason(customer, email, audience, history, survey)
        if reason is not None:
            skipped[reason] += 1
            continue
        assert email is not None
        candidate = DueSurvey(SurveyKind.RELATIONSHIP, customer, email)
        history.claim(candidate)
        due.append(candidate)
    return _apply_run_limits(due, skipped, survey, now, store_tz)


@dataclass(frozen=True, slots=True)
class SentInvite:
    """A sent invite that may deserve its one reminder."""

    invite_id: int
    email: str
    sent_at: datetime
    answered: bool
    reminded: bool


def due_reminders(
    invites: Iterable[SentInvite],
    suppressions: Mapping[str, SuppressionReason],
    survey: SurveyPolicy,
    now: datetime,
    store_tz: tzinfo = UTC,
) -> tuple[tuple[int, ...], Mapping[SkipReason, int]]:
    """Invite ids due their single reminder: unanswered ``after_days`` after sending.

    Only within a week of falling due (RELATIONSHIP_GRACE_DAYS), so switching reminders on does
    not remind a year of old invites. Quiet hours and ``max_per_run`` apply as for first emails.
    """
    if not survey.reminder.enabled:
        return (), {}
    wait = timedelta(days=survey.reminder.after_days)
    late = wait + timedelta(days=RELATIONSHIP_GRACE_DAYS)
    skipped: Counter[SkipReason] = Counter()
    due: list[int] = []
    for invite in sorted(invites, key=lambda i: (i.sent_at, i.invite_id)):
        if invite.answered or invite.reminded or not wait <= now - invite.sent_at <= late:
            continue
        suppression = suppressions.get(normalise_email(invite.email) or "")
        if suppression is not None:
            skipped[_SUPPRESSION_SKIPS[suppression]] += 1
            continue
        due.append(invite.invite_id)
    if due and in_quiet_hours(now, survey.quiet_hours, store_tz):
        skipped[SkipReason.QUIET_HOURS] += len(due)
        due = []
    if len(due) > survey.max_per_run:
        skipped[SkipReason.OVER_LIMIT] += len(due) - survey.max_per_run
        due = due[: survey.max_per_run]
    return tuple(due), dict(skipped)


def relationship_slot_start(customer_id: int, every_days: int, now: datetime) -> datetime:
    """The start (UTC midnight) of the customer's latest relationship day at or before ``now``."""
    offset = int.from_bytes(hashlib.sha256(str(customer_id).encode()).digest()[:8]) % every_days
    today = (now.astimezone(UTC).date() - date(1970, 1, 1)).days
    slot = today - ((today - offset) % every_days)
    return datetime.combine(date(1970, 1, 1) + timedelta(days=slot), time(), UTC)


def in_quiet_hours(now: datetime, quiet: QuietWindow | None, store_tz: tzinfo) -> bool:
    """True inside ``[start, end)`` store-local time; a window may wrap midnight (21:00-08:00)."""
    if quiet is None or quiet.start == quiet.end:
        return False
    local = now.astimezone(store_tz).time().replace(tzinfo=None)
    if quiet.start < quiet.end:
        return quiet.start <= local < quiet.end
    return local >= quiet.start or local < quiet.end


class _History:
    """Past invites indexed for the two questions the rules ask, plus the ones due this run."""

    def __init__(self, invites: Sequence[PastInvite], throttle_since: datetime) -> None:
        self.surveyed_orders = {i.order_id for i in invites if i.order_id is not None}
        recent = [i for i in invites if i.mailed_at is not None and i.mailed_at > throttle_since]
        self.recent_customers = {i.customer_id for i in recent if i.customer_id is not None}
        self.recent_emails = {normalise_email(i.email) for i in recent}
        self.relationship = [i for i in invites if i.kind is SurveyKind.RELATIONSHIP]

    def throttled(self, customer_id: int, email: str) -> bool:
        return customer_id in self.recent_customers or email in self.recent_emails

    def relationship_since(self, customer_id: int, since: datetime) -> bool:
        return any(
            i.customer_id == customer_id and i.mailed_at is not None and i.mailed_at >= since
            for i in self.relationship
        )

    def claim(self, due: DueSurvey) -> None:
        self.recent_customers.add(due.customer.id)
        self.recent_emails.add(due.email)
        if due.order is not None:
            self.surveyed_orders.add(due.order.id)


def _survey_clock(order: Order) -> datetime | None:
    return order.delivered_at or order.fulfilled_at


def _check_order(
    order: Order, audience: Audience, history: _History, survey: SurveyPolicy, now: datetime
) -> tuple[DueSurvey | None, SkipReason | None]:
    reason = _timing_reason(order, survey, now)
    if reason is None and order.id in history.surveyed_orders:
        reason = SkipReason.ALREADY_SURVEYED
    customer = audience.customers.get(order.customer_id) if order.customer_id else None
    if reason is None and customer is None:
        reason = SkipReason.NO_CUSTOMER
    if reason is not None or customer is None:
        return None, reason
    email = normalise_email(customer.email) or normalise_email(order.email)
    reason = _customer_reason(customer, email, audience, history, survey)
    if reason is not None or email is None:
        return None, reason
    return DueSurvey(SurveyKind.TRANSACTIONAL, customer, email, order), None


def _timing_reason(order: Order, survey: SurveyPolicy, now: datetime) -> SkipReason | None:
    if order.cancelled_at is not None:
        return SkipReason.CANCELLED
    if order.delivered_at is not None:
        since, wait = order.delivered_at, timedelta(days=survey.delay_days)
    elif order.fulfilled_at is not None:
        since, wait = order.fulfilled_at, timedelta(days=survey.fallback_days)
    else:
        return SkipReason.NOT_FULFILLED
    if now - since < wait:
        return SkipReason.NOT_DUE_YET
    if now - since > timedelta(days=survey.max_age_days):
        return SkipReason.TOO_OLD
    return None


_SUPPRESSION_SKIPS = {
    SuppressionReason.UNSUBSCRIBED: SkipReason.UNSUBSCRIBED,
    SuppressionReason.BOUNCED: SkipReason.BOUNCED,
    SuppressionReason.REDACTED: SkipReason.REDACTED,
}


def _customer_reason(
    customer: Customer,
    email: str | None,
    audience: Audience,
    history: _History,
    survey: SurveyPolicy,
) -> SkipReason | None:
    if email is None:
        return SkipReason.NO_EMAIL
    if email in audience.suppressions:
        return _SUPPRESSION_SKIPS[audience.suppressions[email]]
    if customer.id in audience.redacted_customers:
        return SkipReason.REDACTED
    if survey.require_marketing_consent and customer.marketing_state != "subscribed":
        return SkipReason.NO_CONSENT
    if history.throttled(customer.id, email):
        return SkipReason.THROTTLED
    return None


def _apply_run_limits(
    due: list[DueSurvey],
    skipped: Counter[SkipReason],
    survey: SurveyPolicy,
    now: datetime,
    store_tz: tzinfo,
) -> Eligibility:
    if due and in_quiet_hours(now, survey.quiet_hours, store_tz):
        skipped[SkipReason.QUIET_HOURS] += len(due)
        due = []
    if len(due) > survey.max_per_run:
        skipped[SkipReason.OVER_LIMIT] += len(due) - survey.max_per_run
        due = due[: survey.max_per_run]
    return Eligibility(tuple(due), dict(skipped))
