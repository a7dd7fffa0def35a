"""report indexes: answers by kind and time (covering), a customer's answers with kind and
score, a customer's orders by date, tickets with their status and by requester email

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 23:15:00
"""
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.create_index(
            'ix_responses_report',
            ['store', 'kind', 'responded_at', 'customer_id', 'email', 'order_id', 'score'],
            unique=False,
        )
        batch_op.drop_index(batch_op.f('ix_responses_store_customer_id_responded_at'))
        batch_op.create_index(
            batch_op.f('ix_responses_store_customer_id_responded_at_kind_score'),
            ['store', 'customer_id', 'responded_at', 'kind', 'score'],
            unique=False,
        )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_store_customer_id'))
        batch_op.create_index(
            batch_op.f('ix_orders_store_customer_id_created_at_cancelled_at'),
            ['store', 'customer_id', 'created_at', 'cancelled_at'],
            unique=False,
        )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_store_customer_id_created_at'))
        batch_op.create_index(
            batch_op.f('ix_tickets_store_customer_id_created_at_status'),
            ['store', 'customer_id', 'created_at', 'status'],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f('ix_tickets_store_requester_email_created_at'),
            ['store', 'requester_email', 'created_at'],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_index('ix_responses_report')
        batch_op.drop_index(batch_op.f('ix_responses_store_customer_id_responded_at_kind_score'))
        batch_op.create_index(
            batch_op.f('ix_responses_store_customer_id_responded_at'),
            ['store', 'customer_id', 'responded_at'],
            unique=False,
        )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_store_requester_email_created_at'))
        batch_op.drop_index(batch_op.f('ix_tickets_store_customer_id_created_at_status'))
        batch_op.create_index(
            batch_op.f('ix_tickets_store_customer_id_created_at'),
            ['store', 'customer_id', 'created_at'],
            unique=False,
        )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_store_customer_id_created_at_cancelled_at'))
        batch_op.create_index(
            batch_op.f('ix_orders_store_customer_id'), ['store', 'customer_id'], unique=False
        )
