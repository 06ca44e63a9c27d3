"""live mode: an account's minutes of keeping a finished Web Connector session open, and each session's end of it

accounts.live_mode_minutes (0 = off, the default) is the General tab's and PATCH /settings' live_mode;
wc_sessions.live_until is when a session that ran out of work stops answering NoOp.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 14:00:00
"""
from alembic import op
import sqlalchemy as sa

import qbwc_bridge.store.models

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('live_mode_minutes', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('wc_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('live_until', qbwc_bridge.store.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('wc_sessions', schema=None) as batch_op:
        batch_op.drop_column('live_until')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('live_mode_minutes')
