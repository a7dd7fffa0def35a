"""Tables (docs/architecture.md, section 3). Changing one means a new Alembic revision: a test
compares the migrations with these models on a fresh database."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from nps_engine.store.types import AutoId, Money, StoreKey, UtcDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        Decimal: Money,
        dict[str, Any]: JSON,
    }


class Customer(Base):
    """A Shopify customer. ``email`` is normalised; PII is blanked by ``customers/redact``."""

    __tablename__ = "customers"
    __table_args__ = (Index(None, "store", "email"),)

    store: Mapped[str] = mapped_column(StoreKey, primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    email: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(16))
    country: Mapped[str | None] = mapped_column(String(2))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    orders_count: Mapped[int] = mapped_column(Integer, default=0)
    total_spent: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    marketing_state: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    redacted_at: Mapped[datetime | None]
    synced_at: Mapped[datetime | None]


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        # created_at and cancelled_at ride along so the report finds a customer's last order and
        # next order from the index alone (bench/report.py).
        Index(None, "store", "customer_id", "created_at", "cancelled_at"),
        Index(None, "store", "delivered_at"),
        Index(None, "store", "fulfilled_at"),
        # The survey window also counts orders placed recently (cancelled, not fulfilled yet).
        Index(None, "store", "created_at"),
        # An import links answers to orders by name (#1001): without it, every batch of the
        # import read all the store's orders.
        Index(None, "store", "name"),
    )

    store: Mapped[str] = mapped_column(StoreKey, primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    fulfilled_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    refunded: Mapped[bool] = mapped_column(Boolean, default=False)
    returned: Mapped[bool] = mapped_column(Boolean, default=False)
    total_price: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    currency: Mapped[str | None] = mapped_column(String(3))
    synced_at: Mapped[datetime | None]
    # A live fulfilment has a tracking number (None: synced before this was read).
    tracked: Mapped[bool | None] = mapped_column(Boolean)
    # The latest live fulfilment's Shopify ``displayStatus`` (IN_TRANSIT, DELIVERED, ...).
    delivery_status: Mapped[str | None] = mapped_column(String(32))


class ZendeskUser(Base):
    """A Zendesk user, linked to the Shopify customer with the same normalised email."""

    __tablename__ = "zendesk_users"
    __table_args__ = (Index(None, "store", "email"), Index(None, "store", "customer_id"))

    store: Mapped[str] = mapped_column(StoreKey, primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    synced_at: Mapped[datetime | None]


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        # status rides along so "has an open ticket" is answered from the index (the report);
        # so does the id, which neither database's index holds otherwise (the key is (store,
        # id)): each answer's last ticket is checked against our own follow-ups (migration 0013)
        Index(None, "store", "customer_id", "created_at", "status", "id"),
        Index(None, "store", "requester_id"),
        # answers imported without a Shopify customer find their tickets by email
        Index(None, "store", "requester_email", "created_at", "id"),
    )

    store: Mapped[str] = mapped_column(StoreKey, primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    requester_id: Mapped[int | None] = mapped_column(BigInteger)
    requester_email: Mapped[str | None] = mapped_column(String(320))
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(32))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Invite(Base):
    """One survey email. ``state``: pending -> sending -> sent | failed | suppressed.

    ``sending`` is written and committed before the SMTP conversation: a row left in ``sending`` by
    a crash is never re-sent blindly. One transactional invite per order, ever (unique key).
    """

    __tablename__ = "invites"
    __table_args__ = (
        UniqueConstraint("store", "kind", "order_id"),
        Index(None, "store", "state"),
        Index(None, "store", "customer_id"),
        Index(None, "store", "email"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True)
    store: Mapped[str] = mapped_column(StoreKey)
    kind: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    email: Mapped[str] = mapped_column(String(320))
    locale: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    sending_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(255))
    reminder_sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class Response(Base):
    """One answer per invite (a later POST updates it); imports are de-duplicated by
    ``import_key``. ``followup_state``: None, pending, creating, created (Zendesk ticket)."""

    __tablename__ = "responses"
    __table_args__ = (
        UniqueConstraint("store", "invite_id"),
        UniqueConstraint("store", "import_key"),
        # kind and score ride along so a customer's previous answer is read from the index
        Index(None, "store", "customer_id", "responded_at", "kind", "score"),
        Index(None, "store", "email", "responded_at"),
        Index(None, "store", "responded_at"),
        # Covers the report's read of a period: every column it needs, in kind and time order,
        # so a million answers are read without touching the table (bench/report.py). The id is
        # in every SQLite index already; PostgreSQL's must carry it (migration 0011).
        Index(
            "ix_responses_report",
            "store",
            "kind",
            "responded_at",
            "customer_id",
            "email",
            "order_id",
            "score",
            postgresql_include=["id"],
        ),
        # "Not one of our own follow-up tickets" is asked for every answer the report or the
        # feed reads; without it each read scans every answer (bench/dashboard.py). Partial
        # (0014): every query of it says IS NOT NULL, and most answers have no ticket.
        Index(
            None,
            "store",
            "followup_ticket_id",
            sqlite_where=text("followup_ticket_id IS NOT NULL"),
            postgresql_where=text("followup_ticket_id IS NOT NULL"),
        ),
        # The report's "what they said" reads only commented answers; without it, it read every
        # answer of the period from the table to test its comment (1.8 s CPU at 1M answers,
        # bench/report.py). Partial: answers without a comment cost nothing here.
        Index(
            "ix_responses_commented",
            "store",
            "responded_at",
            sqlite_where=text("comment IS NOT NULL"),
            postgresql_where=text("comment IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True)
    store: Mapped[str] = mapped_column(StoreKey)
    invite_id: Mapped[int | None] = mapped_column(BigInteger)
    import_key: Mapped[str | None] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    email: Mapped[str | None] = mapped_column(String(320))
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    responded_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    followup_state: Mapped[str | None] = mapped_column(String(16))
    followup_ticket_id: Mapped[int | None] = mapped_column(BigInteger)
    # The ``updated_at`` of the answer the follow-up ticket last showed: a later change of score
    # or comment adds an internal note to the ticket.
    followup_noted_at: Mapped[datetime | None]
    # Extra columns of an imported answer (Delighted's Notes, Tags, properties), by column name.
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class Suppression(Base):
    """An address never to mail again, kept as the SHA-256 of the normalised address
    (``records.email_digest``): enough to recognise it, not to read it (a redacted customer)."""

    __tablename__ = "suppressions"

    store: Mapped[str] = mapped_column(StoreKey, primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class TagState(Base):
    """What was last pushed for a customer to one system (``shopify`` or ``zendesk``)."""

    __tablename__ = "tag_state"

    store: Mapped[str] = mapped_column(StoreKey, primary_key=True)
    system: Mapped[str] = mapped_column(String(16), primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    pushed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    error_at: Mapped[datetime | None]


class Cursor(Base):
    """An incremental cursor, saved only after the data it covers is committed."""

    __tablename__ = "cursors"

    store: Mapped[str] = mapped_column(StoreKey, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (Index(None, "store", "job", "started_at"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True)
    store: Mapped[str] = mapped_column(StoreKey)
    job: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    counters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    errors: Mapped[list[str]] = mapped_column(JSON, default=list)


class JobLock(Base):
    """Per-store job lock for SQLite (PostgreSQL uses advisory locks)."""

    __tablename__ = "job_locks"

    store: Mapped[str] = mapped_column(StoreKey, primary_key=True)
    job: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class WebhookEvent(Base):
    """Deliveries already handled, so a retried webhook is acknowledged and ignored."""

    __tablename__ = "webhook_events"
    # Shopify's X-Shopify-Event-Id: the same event re-sent under a new webhook id is a repeat too.
    __table_args__ = (Index(None, "store", "source", "event_id"),)

    store: Mapped[str] = mapped_column(StoreKey, primary_key=True)
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    event_id: Mapped[str | None] = mapped_column(String(128))
    topic: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime]


class Erasure(Base):
    """What a privacy webhook erased, and when: the proof that a redaction was done.

    Holds no personal data (a customer is named by their Shopify id) and outlives ``shop/redact``.
    """

    __tablename__ = "erasures"
    __table_args__ = (Index(None, "store", "erased_at"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True)
    store: Mapped[str] = mapped_column(StoreKey)
    topic: Mapped[str] = mapped_column(String(64))
    # "shop 954889" or "customer 207119551"
    subject: Mapped[str] = mapped_column(String(128))
    rows_erased: Mapped[int] = mapped_column(Integer)
    delivery_id: Mapped[str | None] = mapped_column(String(128))
    erased_at: Mapped[datetime]


class ShopifyQueryCost(Base):
    """What one Shopify query really cost per node, learned from its answers (page sizing)."""

    __tablename__ = "shopify_query_costs"

    store: Mapped[str] = mapped_column(StoreKey, primary_key=True)
    query: Mapped[str] = mapped_column(String(64), primary_key=True)
    points_per_node: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime]


class PromoterReward(Base):
    """The thank-you discount code of one promoter answer. ``state``: creating -> created |
    failed; ``creating`` is committed before Shopify is asked, and the code is chosen then, so a
    crash is reconciled by looking the code up. ``email_state``: sending -> sent | failed."""

    __tablename__ = "promoter_rewards"
    __table_args__ = (UniqueConstraint("store", "code"), Index(None, "store", "state"))

    store: Mapped[str] = mapped_column(StoreKey, primary_key=True)
    response_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    customer_id: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(64))
    # What the code gives, as shown to the customer ("10%", "5.00 EUR") and its minimum order.
    offer: Mapped[str] = mapped_column(String(64))
    minimum_order: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    discount_id: Mapped[str | None] = mapped_column(String(128))
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime]
    email_state: Mapped[str | None] = mapped_column(String(16))
    emailed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


# The workspace's tables, defined on the same Base (imported last: they need Base).
from nps_engine.store.workspace_models import Alert as Alert  # noqa: E402
from nps_engine.store.workspace_models import CommentTheme as CommentTheme  # noqa: E402
from nps_engine.store.workspace_models import DashboardSession as DashboardSession  # noqa: E402
from nps_engine.store.workspace_models import DashboardUser as DashboardUser  # noqa: E402
from nps_engine.store.workspace_models import Theme as Theme  # noqa: E402
from nps_engine.store.workspace_models import ThemeModel as ThemeModel  # noqa: E402
