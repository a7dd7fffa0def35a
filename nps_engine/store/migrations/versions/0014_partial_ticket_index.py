"""responses: the index of our follow-up tickets holds only the answers that have one

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 19:00:00

``(store, followup_ticket_id)`` serves one question, "which tickets are our own follow-ups",
and each query that asks it says ``followup_ticket_id IS NOT NULL`` (the report's and the
feed's "contacted support", the follow-up job's changed answers), so a partial index answers
it on both databases. Imported and most other answers have no ticket: the full index held a
NULL entry for each, and a large import built it again over all of them after its load
(1M answers: 0.8 s of 20 s of index builds on PostgreSQL, bench/import_responses.py).
"""

from alembic import op
from sqlalchemy import text

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_NAME = "ix_responses_store_followup_ticket_id"
_COLUMNS = ["store", "followup_ticket_id"]


def upgrade() -> None:
    op.drop_index(_NAME, table_name="responses")
    having = text("followup_ticket_id IS NOT NULL")
    op.create_index(_NAME, "responses", _COLUMNS, sqlite_where=having, postgresql_where=having)


def downgrade() -> None:
    op.drop_index(_NAME, table_name="responses")
    op.create_index(_NAME, "responses", _COLUMNS)
