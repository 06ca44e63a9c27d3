"""invoice state: what QuickBooks says of our invoices after creating them (paid, voided, its total)

Rows from before this revision hold no state yet (null, not voided): the invoice-state pull fills
them in as QuickBooks reports their invoices modified.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 13:30:00
"""
from alembic import op
import sqlalchemy as sa

import qbwc_bridge.store.models

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('packed_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('qb_total', qbwc_bridge.store.models.ExactDecimal(precision=20, scale=5), nullable=True))
        batch_op.add_column(sa.Column('qb_balance', qbwc_bridge.store.models.ExactDecimal(precision=20, scale=5), nullable=True))
        batch_op.add_column(sa.Column('paid', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('voided', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('qb_modified_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('packed_orders', schema=None) as batch_op:
        batch_op.drop_column('qb_modified_at')
        batch_op.drop_column('voided')
        batch_op.drop_column('paid')
        batch_op.drop_column('qb_balance')
        batch_op.drop_column('qb_total')
