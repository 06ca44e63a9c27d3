"""logins: atomic lockout, throttling by source, disabled users

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 19:00:00
"""
from alembic import op
import sqlalchemy as sa
import qbwc_bridge.store.models

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Failures are counted per (login, source address) now; the per-login counters go.
    # A lock in force at upgrade time is dropped with them: it lasted five minutes at most.
    op.create_table('login_throttles',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('login', sa.String(length=320), nullable=False),
    sa.Column('source', sa.String(length=45), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', qbwc_bridge.store.models.UTCDateTime(), nullable=True),
    sa.Column('last_failed_at', qbwc_bridge.store.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'login', 'source', name=op.f('pk_login_throttles'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at', qbwc_bridge.store.models.UTCDateTime(), nullable=True))
        batch_op.drop_column('failed_attempts')
        batch_op.drop_column('locked_until')
    with op.batch_alter_table('wc_credentials', schema=None) as batch_op:
        batch_op.drop_column('failed_attempts')
        batch_op.drop_column('locked_until')


def downgrade() -> None:
    with op.batch_alter_table('wc_credentials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_until', qbwc_bridge.store.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('failed_attempts', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_until', qbwc_bridge.store.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('failed_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.drop_column('disabled_at')
    op.drop_table('login_throttles')
