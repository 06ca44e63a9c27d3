"""ref number 21: a QuickBooks Online DocNumber holds 21 characters (Desktop's RefNumber 11)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('packed_orders', schema=None) as batch_op:
        batch_op.alter_column('ref_number', existing_type=sa.String(length=20), type_=sa.String(length=21),
                              existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('packed_orders', schema=None) as batch_op:
        batch_op.alter_column('ref_number', existing_type=sa.String(length=21), type_=sa.String(length=20),
                              existing_nullable=True)
