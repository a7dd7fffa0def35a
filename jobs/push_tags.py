"""Write each customer's NPS standing back as tags (and fields) in one system, diff-based.

For every customer with an answer: the desired state comes from their latest answer (category,
score, churn risk), the previous state from ``tag_state`` (what we last pushed there), and
:func:`nps_engine.tag_plan.plan` keeps only the customers whose tags or fields differ, so a second
run with nothing new makes no write call at all. A customer never pushed before may still carry
our tags in that system (a reinstall, an older tool with the same format): the tags synced from
it count as the previous state, so stale ones are removed.

The job knows no vendor: the ``TagWriter`` given (Shopify, Zendesk) does the writing. Each outcome
is recorded as it arrives, committed in small batches; a failure is kept in ``tag_state.error``
and the push goes on with the next customer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nps_engine.config.settings import ChurnRiskSegment, TagFormat
from nps_engine.ports import PushOutcome, TagChange, TagWriter
from nps_engine.segments import ResponseFacts
from nps_engine.store import models
from nps_engine.store.database import Database, upsert
from nps_engine.store.report_facts import latest_facts_per_customer
from nps_engine.tag_plan import NpsState, PushedState, is_churn_risk_for_tag, plan

COMMIT_EVERY = 200
PERMANENT = "permanent: "
_NEVER = datetime.min.replace(tzinfo=UTC)
# Where each system's current tags are synced to, by our customer id.
SYNCED_TAGS: Mapping[str, tuple[Any, Any]] = {
    "shopify": (models.Customer.tags, models.Customer.id),
    "zendesk": (models.ZendeskUser.tags, models.ZendeskUser.customer_id),
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
        summary.changes = changes
        return summary
    by_customer = {c.customer_id: c for c in changes}
    for batch in _chunks(writer.push(changes), COMMIT_EVERY):
        with database.session() as session:
            for outcome in batch:
                _record(session, store_id, system, by_customer[outcome.customer_id], outcome, now)
                _count(summary, outcome)
    return summary


def _state_of(facts: ResponseFacts, churn: ChurnRiskSegment, now: datetime) -> NpsState:
    assert facts.customer_id is not None
    at_risk = churn.enabled and is_churn_risk_for_tag(facts, churn, now)
    return NpsState(
        facts.customer_id, facts.email, facts.score, facts.category, facts.responded_at, at_risk
    )


def _previous_states(
    session: Session, store_id: str, system: str, tag_format: TagFormat
) -> dict[int, PushedState]:
    """What we pushed last; for customers never pushed, the tags synced from the system."""
    rows = session.execute(
        select(models.TagState).where(
            models.TagState.store == store_id, models.TagState.system == system
        )
    ).scalars()
    states: dict[int, PushedState] = {}
    for row in rows:
        if row.pushed_at is not None:
            states[row.customer_id] = PushedState(tuple(row.tags or ()), dict(row.fields or {}))
    if system in SYNCED_TAGS:
        tags_column, id_column = SYNCED_TAGS[system]
        # Only customers who answered can get a change; a shop has many more who never did.
        answered = select(models.Response.customer_id).where(
            models.Response.store == store_id, models.Response.customer_id.is_not(None)
        )
        query = select(id_column, tags_column).where(
            tags_column.table.c.store == store_id, id_column.in_(answered)
        )
        for customer_id, tags in session.execute(query):
            if customer_id not in states and tags:
                states[customer_id] = PushedState(tuple(tags), {})
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
