"""hardening: erasures (what a privacy webhook erased, and when); webhook events by event id

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 05:00:00
"""
from alembic import op
import sqlalchemy as sa
import nps_engine.store.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('erasures',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store', sa.String(length=64), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=128), nullable=False),
    sa.Column('rows_erased', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.String(length=128), nullable=True),
    sa.Column('erased_at', nps_engine.store.types.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasures'))
    )
    with op.batch_alter_table('erasures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erasures_store_erased_at'), ['store', 'erased_at'], unique=False)
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_events_store_source_event_id'), ['store', 'source', 'event_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_events_store_source_event_id'))
    with op.batch_alter_table('erasures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erasures_store_erased_at'))
    op.drop_table('erasures')
