"""feedback workspace: dashboard users and sessions, alerts, answers by follow-up ticket

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 05:00:00
"""
import sqlalchemy as sa
from alembic import op

from nps_engine.store.types import UtcDateTime

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

AutoId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'dashboard_users',
        sa.Column('id', AutoId, nullable=False),
        sa.Column('store', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=True),
        sa.Column('sign_in_token_hash', sa.String(length=64), nullable=True),
        sa.Column('sign_in_token_expires_at', UtcDateTime(), nullable=True),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('last_sign_in_at', UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_users')),
        sa.UniqueConstraint('store', 'email', name=op.f('uq_dashboard_users_store_email')),
    )
    op.create_table(
        'dashboard_sessions',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('store', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('expires_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_dashboard_sessions')),
    )
    op.create_index(
        op.f('ix_dashboard_sessions_store_user_id'), 'dashboard_sessions', ['store', 'user_id']
    )
    op.create_table(
        'alerts',
        sa.Column('id', AutoId, nullable=False),
        sa.Column('store', sa.String(length=64), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('subject', sa.String(length=64), nullable=False),
        sa.Column('response_id', sa.BigInteger(), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('sending_at', UtcDateTime(), nullable=True),
        sa.Column('sent_at', UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
        sa.UniqueConstraint(
            'store', 'channel', 'subject', name=op.f('uq_alerts_store_channel_subject')
        ),
    )
    op.create_index(op.f('ix_alerts_store_state'), 'alerts', ['store', 'state'])
    op.create_index(
        op.f('ix_responses_store_followup_ticket_id'), 'responses', ['store', 'followup_ticket_id']
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_responses_store_followup_ticket_id'), table_name='responses')
    op.drop_index(op.f('ix_alerts_store_state'), table_name='alerts')
    op.drop_table('alerts')
    op.drop_index(op.f('ix_dashboard_sessions_store_user_id'), table_name='dashboard_sessions')
    op.drop_table('dashboard_sessions')
    op.drop_table('dashboard_users')
