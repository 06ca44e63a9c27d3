"""operations: retention, silent Web Connectors

Indexes for the metrics scrape and for pruning old exchange-log entries and sessions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 19:00:00
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_waiting', ['state', 'kind', 'created_at'], unique=False)
        batch_op.create_index('ix_outbox_session', ['session_id'], unique=False)
    with op.batch_alter_table('exchange_log', schema=None) as batch_op:
        batch_op.create_index('ix_exchange_log_at', ['at'], unique=False)
        batch_op.create_index('ix_exchange_log_session_id', ['session_id'], unique=False)
    with op.batch_alter_table('wc_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_wc_sessions_closed_at', ['closed_at'], unique=False)
    with op.batch_alter_table('packed_orders', schema=None) as batch_op:
        batch_op.create_index('ix_packed_orders_by_status', ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('packed_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_packed_orders_by_status')
    with op.batch_alter_table('wc_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_wc_sessions_closed_at')
    with op.batch_alter_table('exchange_log', schema=None) as batch_op:
        batch_op.drop_index('ix_exchange_log_session_id')
        batch_op.drop_index('ix_exchange_log_at')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_session')
        batch_op.drop_index('ix_outbox_waiting')
