"""exactly once: unconfirmed operations wait for sets that may still be applying

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 19:00:00
"""
from alembic import op
import sqlalchemy as sa
import qbwc_bridge.store.models
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verify_first', sa.Boolean(), nullable=False, server_default=sa.false()))
    # Operations already waiting for a look-up: unconfirmed ones, and invoices that kept the old payload flag.
    op.execute("UPDATE outbox SET verify_first = true WHERE state = 'unconfirmed'")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("UPDATE outbox SET verify_first = true WHERE payload->>'verify' = 'true'")
    else:
        op.execute("UPDATE outbox SET verify_first = 1 WHERE json_extract(payload, '$.verify') = 1")


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('verify_first')
