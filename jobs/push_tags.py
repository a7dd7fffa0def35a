"""Write each customer's NPS standing back as tags (and fields) in one system, diff-based.

For every customer with an answer: the desired state comes from their latest answer (category,
score, churn risk), the previous state from ``tag_state`` (what we last pushed there), and
:func:`nps_engine.tag_plan.plan` keeps only the customers whose tags or fields differ, so a second
run with nothing new makes no write call at all. A customer may also carry NPS-format tags we did
not push (an older tool, a reinstall, an agent by hand: ``nps:detractor``, ``NPS-Score:2``): the
tags synced from the system count as well, compared case-insensitively, whenever they were synced
after our last push (before it, they may only show the state our push has since replaced), so
stale ones are removed and a customer never ends as both promoter and detractor.

The job knows no vendor: the ``TagWriter`` given (Shopify, Zendesk) does the writing. Each outcome
is recorded as it arrives, committed in small batches; a failure is kept in ``tag_state.error``
and the push goes on with the next customer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from nps_engine.config.settings import ChurnRiskSegment, TagFormat
from nps_engine.ports import PushOutcome, TagChange, TagPreview, TagWriter
from nps_engine.segments import ResponseFacts
from nps_engine.store import models
from nps_engine.store.database import Database, upsert
from nps_engine.store.report_facts import latest_facts_per_customer
from nps_engine.tag_plan import (
    NpsState,
    PushedState,
    desired_tags,
    is_churn_risk_for_tag,
    plan,
    zendesk_fields,
)

COMMIT_EVERY = 200
PERMANENT = "permanent: "
_NEVER = datetime.min.replace(tzinfo=UTC)
# Where each system's current tags are synced to, by our customer id, and when.
SYNCED_TAGS: Mapping[str, tuple[Any, Any, Any]] = {
    "shopify": (models.Customer.tags, models.Customer.id, models.Customer.synced_at),
    "zendesk": (
        models.ZendeskUser.tags,
        models.ZendeskUser.customer_id,
        models.ZendeskUser.synced_at,
    ),
}


@dataclass
class PushSummary:
    system: str
    customers: int = 0
    planned: int = 0
    pushed: int = 0
    failed: int = 0
    skipped: int = 0  # nothing to write to (no Zendesk user yet): not an error
    dry_run: bool = False
    changes: list[TagChange] = field(default_factory=list)
    # Dry run: the changes the push would not write, and why (no Zendesk user).
    unwritable: list[tuple[TagChange, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "planned": self.planned,
            "pushed": self.pushed,
            "failed": self.failed,
            "skipped": self.skipped,
        }


def push_tags(
    database: Database,
    store_id: str,
    system: str,
    writer: TagWriter,
    tag_format: TagFormat,
    now: datetime,
    *,
    dry_run: bool = False,
    with_fields: bool = False,
    churn_settings: ChurnRiskSegment | None = None,
    support_window_days: int = 90,
) -> PushSummary:
    """Plan and push ``system``'s tags for every answering customer; ``dry_run`` only plans."""
    churn = churn_settings or ChurnRiskSegment()
    facts = latest_facts_per_customer(
        database, store_id, now, support_window_days=support_window_days
    )
    states = [_state_of(f, churn, now) for f in facts if f.customer_id is not None]
    with database.session() as session:
        pushed = _previous_states(session, store_id, system, tag_format)
        refused = _refused_since(session, store_id, system)
    # A change the system refused for good (a deleted customer) is tried again only once the
    # customer has answered since; until then a push with nothing new stays silent.
    states = [s for s in states if s.responded_at > refused.get(s.customer_id, _NEVER)]
    summary = PushSummary(system, customers=len(states), dry_run=dry_run)
    changes = plan(states, pushed, tag_format, with_fields=with_fields)
    summary.planned = len(changes)
    if dry_run:
        _preview(summary, writer, changes)
        return summary
    by_customer = {c.customer_id: c for c in changes}
    _confirm_unchanged(
        database, store_id, system, states, by_customer, tag_format, now, with_fields=with_fields
    )
    for batch in _chunks(writer.push(changes), COMMIT_EVERY):
        with database.session() as session:
            for outcome in batch:
                _record(session, store_id, system, by_customer[outcome.customer_id], outcome, now)
                _count(summary, outcome)
    return summary


def _preview(summary: PushSummary, writer: TagWriter, changes: list[TagChange]) -> None:
    if not isinstance(writer, TagPreview):
        summary.changes = changes
        return
    outcomes = {outcome.customer_id: outcome for outcome in writer.preview(changes)}
    for change in changes:
        outcome = outcomes.get(change.customer_id)
        if outcome is None or outcome.ok:
            summary.changes.append(change)
        else:
            summary.unwritable.append((change, outcome.error or "cannot write"))
            summary.skipped += 1
    summary.planned = len(summary.changes)


def _confirm_unchanged(
    database: Database,
    store_id: str,
    system: str,
    states: Sequence[NpsState],
    changes: Mapping[int, TagChange],
    tag_format: TagFormat,
    now: datetime,
    *,
    with_fields: bool,
) -> None:
    """Record as pushed the customers whose answer changed without changing their tags (a new
    comment, 8 -> 7): the system already shows them right, and ``nps status`` must not call
    them pending forever. Only those newer than their record are written."""
    unchanged = {s.customer_id: s for s in states if s.customer_id not in changes}
    if not unchanged:
        return
    r, t = models.Response, models.TagState
    latest = (
        select(r.customer_id, func.max(r.updated_at).label("latest"))
        .where(r.store == store_id, r.customer_id.is_not(None), r.kind == "transactional")
        .group_by(r.customer_id)
        .subquery()
    )
    stale = (
        select(latest.c.customer_id)
        .outerjoin(
            t, and_(t.store == store_id, t.system == system, t.customer_id == latest.c.customer_id)
        )
        .where(or_(t.pushed_at.is_(None), t.pushed_at < latest.c.latest))
        .where(or_(t.error.is_(None), t.customer_id.is_(None)))
    )
    with database.session() as session:
        ids = [i for i in session.scalars(stale) if i in unchanged]
        rows = [
            {"store": store_id, "system": system, "customer_id": i,
             "tags": list(desired_tags(unchanged[i], tag_format)),
             "fields": zendesk_fields(unchanged[i]) if with_fields else {},
             "pushed_at": now, "error": None, "error_at": None}
            for i in ids
        ]  # fmt: skip
        for start in range(0, len(rows), 500):
            upsert(session, models.TagState, rows[start : start + 500])


def _state_of(facts: ResponseFacts, churn: ChurnRiskSegment, now: datetime) -> NpsState:
    assert facts.customer_id is not None
    at_risk = churn.enabled and is_churn_risk_for_tag(facts, churn, now)
    return NpsState(
        facts.customer_id, facts.email, facts.score, facts.category, facts.responded_at, at_risk
    )


def _previous_states(
    session: Session, store_id: str, system: str, tag_format: TagFormat
) -> dict[int, PushedState]:
    """What we pushed last, plus the tags synced from the system since (or ever, for customers
    never pushed): every tag the customer may carry there."""
    # Plain rows, not ORM objects: every weekly push reads every customer's state.
    rows = session.execute(
        select(
            models.TagState.customer_id,
            models.TagState.tags,
            models.TagState.fields,
            models.TagState.pushed_at,
        ).where(models.TagState.store == store_id, models.TagState.system == system)
    )
    states: dict[int, PushedState] = {}
    pushed_at: dict[int, datetime] = {}
    for row in rows:
        if row.pushed_at is not None:
            states[row.customer_id] = PushedState(tuple(row.tags or ()), dict(row.fields or {}))
            pushed_at[row.customer_id] = row.pushed_at
    if system in SYNCED_TAGS:
        tags_column, id_column, synced_column = SYNCED_TAGS[system]
        # Only customers who answered can get a change; a shop has many more who never did.
        answered = select(models.Response.customer_id).where(
            models.Response.store == store_id, models.Response.customer_id.is_not(None)
        )
        query = select(id_column, tags_column, synced_column).where(
            tags_column.table.c.store == store_id, id_column.in_(answered)
        )
        for customer_id, tags, synced_at in session.execute(query):
            if not tags:
                continue
            before = states.get(customer_id)
            if before is None:
                states[customer_id] = PushedState(tuple(tags), {})
            elif synced_at is not None and synced_at > pushed_at[customer_id]:
                states[customer_id] = PushedState((*before.tags, *tags), before.fields)
    return states


def _refused_since(session: Session, store_id: str, system: str) -> dict[int, datetime]:
    query = select(models.TagState.customer_id, models.TagState.error_at).where(
        models.TagState.store == store_id,
        models.TagState.system == system,
        models.TagState.error.startswith(PERMANENT),
        models.TagState.error_at.is_not(None),
    )
    return {customer_id: at or _NEVER for customer_id, at in session.execute(query)}


def _record(
    session: Session,
    store_id: str,
    system: str,
    change: TagChange,
    outcome: PushOutcome,
    now: datetime,
) -> None:
    key = {"store": store_id, "system": system, "customer_id": change.customer_id}
    if outcome.ok:
        row = {**key, "tags": list(change.desired), "fields": dict(change.fields),
               "pushed_at": now, "error": None, "error_at": None}  # fmt: skip
        upsert(session, models.TagState, [row])
        return
    error = (outcome.error or "failed")[:1000]
    if not outcome.retryable:
        error = f"{PERMANENT}{error}"
    existing = session.get(models.TagState, (store_id, system, change.customer_id))
    if existing is None:
        session.add(models.TagState(**key, tags=[], fields={}, error=error, error_at=now))
    else:
        existing.error = error
        existing.error_at = now


def _count(summary: PushSummary, outcome: PushOutcome) -> None:
    if outcome.ok:
        summary.pushed += 1
        return
    if outcome.skipped:
        summary.skipped += 1
        return
    summary.failed += 1
    if len(summary.errors) < 20:
        summary.errors.append(f"customer {outcome.customer_id}: {outcome.error}")


def _chunks(outcomes: Iterable[PushOutcome], size: int) -> Iterator[Sequence[PushOutcome]]:
    batch: list[PushOutcome] = []
    for outcome in outcomes:
        batch.append(outcome)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
