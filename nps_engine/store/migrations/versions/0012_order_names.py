"""import: an index on orders by name, to link imported answers to their order

Revision ID: 0012
Revises: 0009
Create Date: 2026-11-30 11:00:00
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_orders_store_name", "orders", ["store", "name"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_orders_store_name", table_name="orders")
