"""PostgreSQL: the report's covering indexes carry the row ids they read

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-30 11:00:00

SQLite keeps every row's id in each of its indexes, so ``ix_responses_report`` already covers
the report's read of a period there; a PostgreSQL index holds only its own columns, so the read
went to the table for each answer's ``id`` (a tenth of the report's time at 100,000 answers,
bench/report.py). The same for the last ticket before an answer, read for every counted answer:
its ``id`` is checked against our own follow-up tickets. Nothing changes on SQLite.
"""

from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None

_REPORT = ["store", "kind", "responded_at", "customer_id", "email", "order_id", "score"]
_TICKETS = ["store", "customer_id", "created_at", "status"]
_TICKETS_NAME = "ix_tickets_store_customer_id_created_at_status"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_responses_report", table_name="responses")
    op.create_index(
        "ix_responses_report", "responses", _REPORT, postgresql_include=["id"]
    )
    op.drop_index(_TICKETS_NAME, table_name="tickets")
    op.create_index(_TICKETS_NAME, "tickets", _TICKETS, postgresql_include=["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_responses_report", table_name="responses")
    op.create_index("ix_responses_report", "responses", _REPORT)
    op.drop_index(_TICKETS_NAME, table_name="tickets")
    op.create_index(_TICKETS_NAME, "tickets", _TICKETS)
