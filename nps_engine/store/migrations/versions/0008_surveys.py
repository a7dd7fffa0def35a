"""surveys: fulfilment tracking on orders (and an index on when they were placed), answer metadata and follow-up updates on responses,
suppressions keyed by a hash of the address instead of the address itself

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-30 05:10:00
"""

import hashlib

import sqlalchemy as sa
from alembic import op

import nps_engine.store.types

revision = "0008"
down_revision = "0006"  # re-chained on main's head 0006 (was 0002)
branch_labels = None
depends_on = None


def _digest(email: str) -> str:
    # Same as nps_engine.records.email_digest, frozen here: a migration must not change later.
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tracked", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("delivery_status", sa.String(length=32), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_orders_store_created_at"), ["store", "created_at"], unique=False
        )
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("properties", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "followup_noted_at",
                nps_engine.store.types.UtcDateTime(timezone=True),
                nullable=True,
            )
        )
    # Tickets opened before this version reflect the answer as it was then.
    op.execute(
        "UPDATE responses SET followup_noted_at = updated_at WHERE followup_state = 'created'"
    )
    _suppressions_by_hash()


def _suppressions_by_hash() -> None:
    """Rebuild the table keyed by the hash: the plain addresses are gone once this commits."""
    connection = op.get_bind()
    rows = (
        connection.execute(
            sa.text("SELECT store, email, reason, detail, created_at FROM suppressions")
        )
        .mappings()
        .all()
    )
    op.drop_table("suppressions")
    op.create_table(
        "suppressions",
        sa.Column("store", sa.String(length=64), nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", nps_engine.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("store", "email_hash", name=op.f("pk_suppressions")),
    )
    kept: dict[tuple[str, str], dict[str, object]] = {}
    for row in sorted(rows, key=lambda r: str(r["created_at"])):
        key = (row["store"], _digest(row["email"]))
        kept.setdefault(
            key,
            {
                "store": row["store"],
                "email_hash": key[1],
                "reason": row["reason"],
                "detail": row["detail"],
                "created_at": row["created_at"],
            },
        )
    if kept:
        # Raw values straight back: each backend reads and writes its own date format.
        connection.execute(
            sa.text(
                'INSERT INTO suppressions (store, email_hash, reason, detail, created_at) '
                'VALUES (:store, :email_hash, :reason, :detail, :created_at)'
            ),
            list(kept.values()),
        )


def downgrade() -> None:
    # The addresses cannot be recovered from their hashes: the list is kept under the hash.
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.alter_column("email_hash", new_column_name="email", type_=sa.String(length=320))
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_column("followup_noted_at")
        batch_op.drop_column("properties")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_store_created_at"))
        batch_op.drop_column("delivery_status")
        batch_op.drop_column("tracked")
