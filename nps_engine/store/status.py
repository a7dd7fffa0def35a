"""The counts behind ``nps status``: what the store holds and what is still waiting to be done.

Read-only, a handful of aggregate queries, so it stays quick on a store of a million answers.
The queries are SQLAlchemy Core over lightweight table clauses naming only the columns they read,
not the ORM models: ``nps status`` then starts without building the mapper of every table
(most of its start-up CPU before; bench/cli_start.py). They run on a Connection or a Session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, ColumnElement, and_, column, func, or_, select, table
from sqlalchemy.sql.expression import TableClause

from nps_engine.store.types import UtcDateTime
from nps_engine.vocabulary import NO_ZENDESK_USER, InviteState, SurveyKind

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

# The columns status reads, table by table (the full definitions are in models.py).
Customer = table("customers", column("store"))
Order = table(
    "orders",
    column("store"),
    column("delivered_at", UtcDateTime()),
    column("returned", Boolean()),
    column("refunded", Boolean()),
)
Ticket = table("tickets", column("store"))
Invite = table("invites", column("store"), column("state"))
Response = table(
    "responses",
    column("store"),
    column("customer_id"),
    column("kind"),
    column("updated_at", UtcDateTime()),
)
TagState = table(
    "tag_state",
    column("store"),
    column("system"),
    column("customer_id"),
    column("pushed_at", UtcDateTime()),
    column("error"),
)
JobRun = table(
    "job_runs",
    column("id"),
    column("store"),
    column("job"),
    column("status"),
    column("started_at", UtcDateTime()),
    column("finished_at", UtcDateTime()),
)
Cursor = table(
    "cursors", column("store"), column("name"), column("value"), column("updated_at", UtcDateTime())
)
Alert = table(
    "alerts",
    column("id"),
    column("store"),
    column("channel"),
    column("subject"),
    column("state"),
    column("attempts"),
    column("error"),
)

TAG_SYSTEMS = ("shopify", "zendesk")


@dataclass(frozen=True, slots=True)
class LastRun:
    status: str
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class CursorPosition:
    value: str
    updated_at: datetime

    def lag_seconds(self, now: datetime) -> float:
        """How far behind the sync is: the syncs record in ``updated_at`` the moment up to which
        they have read everything (Shopify: the end of the run's window, even when nothing had
        changed; Zendesk: the time of the last page), so an idle but healthy store is not
        "behind" and a stopped sync shows its age."""
        return max(0.0, (now - self.updated_at).total_seconds())


@dataclass(frozen=True)
class StoreStatus:
    store: str
    customers: int
    orders: int
    orders_delivered: int
    orders_returned: int
    tickets: int
    invites: dict[str, int]
    responses: int
    tag_pushes_pending_by_system: dict[str, int]
    # Customers whose tags no push can write: no Zendesk user has their email (yet).
    tag_pushes_without_zendesk_user: int = 0
    last_runs: dict[str, LastRun] = field(default_factory=dict)
    cursors: dict[str, CursorPosition] = field(default_factory=dict)
    # Alerts by state (due, sending, sent, failed, unknown) and the latest problems.
    alerts: dict[str, int] = field(default_factory=dict)
    alert_problems: list[str] = field(default_factory=list)

    @property
    def tag_pushes_pending(self) -> int:
        """Customer-and-system pairs whose latest post-delivery answer has not been written back
        yet and that the next push will write (not those without a Zendesk user)."""
        return sum(self.tag_pushes_pending_by_system.values())

    def as_json(self, now: datetime | None = None) -> dict[str, Any]:
        """The ``nps status --format json`` object (docs/architecture.md, section 5)."""
        return {
            "store": self.store,
            "customers": self.customers,
            "orders": self.orders,
            "orders_delivered": self.orders_delivered,
            "orders_returned": self.orders_returned,
            "tickets": self.tickets,
            "invites": dict(self.invites),
            "responses": self.responses,
            "tag_pushes_pending": self.tag_pushes_pending,
            "tag_pushes_pending_by_system": dict(self.tag_pushes_pending_by_system),
            "tag_pushes_without_zendesk_user": self.tag_pushes_without_zendesk_user,
            "last_runs": {
                job: {
                    "status": run.status,
                    "started_at": run.started_at.isoformat(),
                    "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                }
                for job, run in self.last_runs.items()
            },
            "cursors": {
                name: {
                    "value": cursor.value,
                    "updated_at": cursor.updated_at.isoformat(),
                    **({"lag_seconds": round(cursor.lag_seconds(now))} if now else {}),
                }
                for name, cursor in self.cursors.items()
            },
            "alerts": dict(self.alerts),
            "alert_problems": list(self.alert_problems),
        }


def read_status(
    session: Connection | Session, store: str, *, tag_systems: tuple[str, ...] = TAG_SYSTEMS
) -> StoreStatus:
    """Counts for one store. ``tag_systems`` are the systems tags are pushed to (the configured
    ones): a store without Zendesk has no Zendesk pushes pending."""
    return StoreStatus(
        store=store,
        customers=_count(session, Customer, Customer.c.store == store),
        orders=_count(session, Order, Order.c.store == store),
        orders_delivered=_count(
            session, Order, Order.c.store == store, Order.c.delivered_at.is_not(None)
        ),
        orders_returned=_count(
            session,
            Order,
            Order.c.store == store,
            or_(Order.c.returned.is_(True), Order.c.refunded.is_(True)),
        ),
        tickets=_count(session, Ticket, Ticket.c.store == store),
        invites=_invites_by_state(session, store),
        responses=_count(session, Response, Response.c.store == store),
        tag_pushes_pending_by_system={
            system: _pending_tag_pushes(session, store, system) for system in tag_systems
        },
        tag_pushes_without_zendesk_user=(
            _pending_tag_pushes(session, store, "zendesk", without_user=True)
            if "zendesk" in tag_systems
            else 0
        ),
        last_runs=_last_runs(session, store),
        cursors=_cursors(session, store),
        alerts=_alerts_by_state(session, store),
        alert_problems=_alert_problems(session, store),
    )


def _count(session: Connection | Session, model: TableClause, *where: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _invites_by_state(session: Connection | Session, store: str) -> dict[str, int]:
    """Every known state, zeros included, so scripts can read ``invites.sent`` unconditionally."""
    counts = {state.value: 0 for state in InviteState}
    statement = (
        select(Invite.c.state, func.count()).where(Invite.c.store == store).group_by(Invite.c.state)
    )
    for state, count in session.execute(statement):
        counts[state] = count
    return counts


def _pending_tag_pushes(
    session: Connection | Session, store: str, system: str, *, without_user: bool = False
) -> int:
    """Customers whose latest post-delivery answer (by ``updated_at``: a re-submitted answer
    counts as new) is newer than their last successful push to ``system``, or who were never
    pushed. Relationship answers are not tagged (README, Zendesk): they are not counted. With
    ``without_user``, the Zendesk customers the push skipped for having no Zendesk user, which
    only their first ticket (a sync) can change; otherwise every other pending customer."""
    latest = (
        select(Response.c.customer_id, func.max(Response.c.updated_at).label("latest"))
        .where(
            Response.c.store == store,
            Response.c.customer_id.is_not(None),
            Response.c.kind == SurveyKind.TRANSACTIONAL.value,
        )
        .group_by(Response.c.customer_id)
        .subquery()
    )
    no_user = and_(TagState.c.error.is_not(None), TagState.c.error.contains(NO_ZENDESK_USER))
    pushed = and_(
        TagState.c.store == store,
        TagState.c.system == system,
        TagState.c.customer_id == latest.c.customer_id,
    )
    statement = (
        select(func.count())
        .select_from(latest)
        .outerjoin(TagState, pushed)
        .where(or_(TagState.c.pushed_at.is_(None), TagState.c.pushed_at < latest.c.latest))
        .where(no_user if without_user else or_(TagState.c.error.is_(None), ~no_user))
    )
    return session.scalar(statement) or 0


def _last_runs(session: Connection | Session, store: str) -> dict[str, LastRun]:
    newest = (
        select(JobRun.c.job, func.max(JobRun.c.started_at).label("started_at"))
        .where(JobRun.c.store == store)
        .group_by(JobRun.c.job)
        .subquery()
    )
    statement = (
        select(JobRun.c.job, JobRun.c.status, JobRun.c.started_at, JobRun.c.finished_at)
        .join(
            newest,
            and_(JobRun.c.job == newest.c.job, JobRun.c.started_at == newest.c.started_at),
        )
        .where(JobRun.c.store == store)
        .order_by(JobRun.c.job, JobRun.c.id.desc())
    )
    runs: dict[str, LastRun] = {}
    for run in session.execute(statement):
        runs.setdefault(run.job, LastRun(run.status, run.started_at, run.finished_at))
    return runs


def _cursors(session: Connection | Session, store: str) -> dict[str, CursorPosition]:
    statement = (
        select(Cursor.c.name, Cursor.c.value, Cursor.c.updated_at)
        .where(Cursor.c.store == store)
        .order_by(Cursor.c.name)
    )
    return {
        cursor.name: CursorPosition(cursor.value, cursor.updated_at)
        for cursor in session.execute(statement)
    }


ALERT_STATES = ("due", "sending", "sent", "failed", "unknown")


def _alerts_by_state(session: Connection | Session, store: str) -> dict[str, int]:
    counts = dict.fromkeys(ALERT_STATES, 0)
    statement = (
        select(Alert.c.state, func.count()).where(Alert.c.store == store).group_by(Alert.c.state)
    )
    for state, count in session.execute(statement):
        counts[state] = count
    return counts


def _alert_problems(session: Connection | Session, store: str, shown: int = 3) -> list[str]:
    """The latest alerts that failed, may not have arrived, or wait for a retry (with why)."""
    statement = (
        select(Alert.c.subject, Alert.c.channel, Alert.c.state, Alert.c.attempts, Alert.c.error)
        .where(Alert.c.store == store, Alert.c.error.is_not(None), Alert.c.state != "sent")
        .order_by(Alert.c.id.desc())
        .limit(shown)
    )
    return [
        f"{alert.subject} via {alert.channel}: {alert.state} after {alert.attempts} "
        f"attempt(s): {alert.error}"
        for alert in session.execute(statement)
    ]


def last_runs(session: Connection | Session, store: str) -> dict[str, LastRun]:
    """The newest run of each job of ``store`` (``nps stores``)."""
    return _last_runs(session, store)


def last_success(session: Connection | Session, store: str, job: str) -> datetime | None:
    """When the newest successful run of ``job`` started: how far behind the store is."""
    statement = select(func.max(JobRun.c.started_at)).where(
        JobRun.c.store == store, JobRun.c.job == job, JobRun.c.status == "succeeded"
    )
    started: datetime | None = session.scalar(statement)
    return started
