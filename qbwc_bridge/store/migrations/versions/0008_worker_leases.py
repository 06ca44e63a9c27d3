"""worker leases: which worker drives each QuickBooks Online company

One row per push account being driven (qbwc_bridge.leases): several worker processes on one
database never drive one company at once, and a lease past its expiry marks a dead worker
whose in-flight operations are looked up before anything is sent again.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 09:30:00
"""
import sqlalchemy as sa
from alembic import op

import qbwc_bridge.store.models

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('worker_leases',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('holder', sa.String(length=100), nullable=False),
    sa.Column('acquired_at', qbwc_bridge.store.models.UTCDateTime(), nullable=False),
    sa.Column('expires_at', qbwc_bridge.store.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_worker_leases_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_worker_leases'))
    )


def downgrade() -> None:
    op.drop_table('worker_leases')
