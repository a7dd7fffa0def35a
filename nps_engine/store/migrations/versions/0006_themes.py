"""comment themes: cached embeddings and themes per commented answer, stable theme ids with the
owner's renames and merges, and the store's current theme model

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-30 05:40:00
"""
import sqlalchemy as sa
from alembic import op

from nps_engine.store.types import UtcDateTime


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'comment_themes',
        sa.Column('store', sa.String(length=64), nullable=False),
        sa.Column('response_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('embedder', sa.String(length=64), nullable=False),
        sa.Column('text_hash', sa.String(length=32), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=True),
        sa.Column('vector', sa.LargeBinary(), nullable=False),
        sa.Column('theme_id', sa.Integer(), nullable=True),
        sa.Column('similarity', sa.Float(), nullable=True),
        sa.Column('assigned_at', UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('store', 'response_id', name=op.f('pk_comment_themes')),
    )
    with op.batch_alter_table('comment_themes', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_comment_themes_store_theme_id'), ['store', 'theme_id'], unique=False
        )
    op.create_table(
        'themes',
        sa.Column('store', sa.String(length=64), nullable=False),
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('label', sa.String(length=120), nullable=False),
        sa.Column('keywords', sa.JSON(), nullable=False),
        sa.Column('pinned', sa.Boolean(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=True),
        sa.Column('renamed_to', sa.String(length=120), nullable=True),
        sa.Column('merged_into', sa.Integer(), nullable=True),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('updated_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('store', 'id', name=op.f('pk_themes')),
    )
    op.create_table(
        'theme_models',
        sa.Column('store', sa.String(length=64), nullable=False),
        sa.Column('embedder', sa.String(length=64), nullable=False),
        sa.Column('parameters', sa.LargeBinary(), nullable=False),
        sa.Column('comments', sa.Integer(), nullable=False),
        sa.Column('seed', sa.Integer(), nullable=False),
        sa.Column('computed_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('store', name=op.f('pk_theme_models')),
    )


def downgrade() -> None:
    op.drop_table('theme_models')
    op.drop_table('themes')
    with op.batch_alter_table('comment_themes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comment_themes_store_theme_id'))
    op.drop_table('comment_themes')
