"""report in SQL: a partial index on commented answers for the report's "what they said"

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 08:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_responses_commented",
            ["store", "responded_at"],
            unique=False,
            sqlite_where=sa.text("comment IS NOT NULL"),
            postgresql_where=sa.text("comment IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("responses", schema=None) as batch_op:
        batch_op.drop_index("ix_responses_commented")
