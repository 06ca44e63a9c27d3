"""accounts.plan_due_at: until when the schedule has nothing to queue for the account (a quiet poll's one read)

Set when an account is found with nothing to do, cleared when a session opens; None (every row
before this migration) means "look in full", as before.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 16:00:00
"""
from alembic import op
import sqlalchemy as sa

import qbwc_bridge.store.models

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_due_at', qbwc_bridge.store.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('plan_due_at')
