"""item sku: QuickBooks Online items carry a Sku, the field their matching reads by default

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('qb_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sku', sa.String(length=100), nullable=True))
        batch_op.create_index('ix_qb_items_sku', ['account_id', 'sku'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('qb_items', schema=None) as batch_op:
        batch_op.drop_index('ix_qb_items_sku')
        batch_op.drop_column('sku')
