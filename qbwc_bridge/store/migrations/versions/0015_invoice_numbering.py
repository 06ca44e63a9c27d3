"""invoice numbering: the General tab says whether invoices carry the order number or QuickBooks' own

Every account made before this revision numbered its invoices with the BlueTrace order number; the
server default keeps that for them (and for any row written by an older process during an upgrade).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 12:50:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invoice_numbering', sa.String(length=20), nullable=False,
                                      server_default='order_number'))


def downgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('invoice_numbering')
