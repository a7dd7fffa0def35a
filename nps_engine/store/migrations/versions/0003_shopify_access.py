"""shopify access: learned query costs per node, promoter reward codes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 05:45:00
"""
import sqlalchemy as sa
from alembic import op

from nps_engine.store.types import UtcDateTime

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'shopify_query_costs',
        sa.Column('store', sa.String(length=64), nullable=False),
        sa.Column('query', sa.String(length=64), nullable=False),
        sa.Column('points_per_node', sa.Float(), nullable=False),
        sa.Column('updated_at', UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('store', 'query', name=op.f('pk_shopify_query_costs')),
    )
    op.create_table(
        'promoter_rewards',
        sa.Column('store', sa.String(length=64), nullable=False),
        sa.Column('response_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('customer_id', sa.BigInteger(), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.Column('offer', sa.String(length=64), nullable=False),
        sa.Column('minimum_order', sa.String(length=64), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('discount_id', sa.String(length=128), nullable=True),
        sa.Column('ends_at', UtcDateTime(timezone=True), nullable=False),
        sa.Column('created_at', UtcDateTime(timezone=True), nullable=False),
        sa.Column('email_state', sa.String(length=16), nullable=True),
        sa.Column('emailed_at', UtcDateTime(timezone=True), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('store', 'response_id', name=op.f('pk_promoter_rewards')),
        sa.UniqueConstraint('store', 'code', name=op.f('uq_promoter_rewards_store_code')),
    )
    with op.batch_alter_table('promoter_rewards', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_promoter_rewards_store_state'), ['store', 'state'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('promoter_rewards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promoter_rewards_store_state'))
    op.drop_table('promoter_rewards')
    op.drop_table('shopify_query_costs')
