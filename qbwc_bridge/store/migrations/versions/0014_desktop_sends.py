"""desktop sends: the outbox's Web Connector columns move to a table QuickBooks Desktop owns

``outbox.session_id`` (the session whose message set carried an operation) and
``outbox.send_alone`` only ever meant something to the Web Connector. They move, with their
values, to ``desktop_sends`` (one row per operation Desktop handed out or set apart), so the
outbox every backend shares carries only what every backend uses.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 13:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'desktop_sends',
        sa.Column('outbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=True),
        sa.Column('send_alone', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_desktop_sends_outbox_id_outbox'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['session_id'], ['wc_sessions.id'],
                                name=op.f('fk_desktop_sends_session_id_wc_sessions'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('outbox_id', name=op.f('pk_desktop_sends')),
    )
    with op.batch_alter_table('desktop_sends', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_desktop_sends_session_id'), ['session_id'], unique=False)
    op.execute("INSERT INTO desktop_sends (outbox_id, session_id, send_alone) "
               "SELECT id, session_id, send_alone FROM outbox WHERE session_id IS NOT NULL OR send_alone")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_session')
        batch_op.drop_constraint('fk_outbox_session_id_wc_sessions', type_='foreignkey')
        batch_op.drop_column('session_id')
        batch_op.drop_column('send_alone')


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('send_alone', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('session_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_outbox_session_id_wc_sessions', 'wc_sessions', ['session_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_index('ix_outbox_session', ['session_id'], unique=False)
    op.execute("UPDATE outbox SET session_id = (SELECT session_id FROM desktop_sends WHERE outbox_id = outbox.id), "
               "send_alone = COALESCE((SELECT send_alone FROM desktop_sends WHERE outbox_id = outbox.id), false)")
    with op.batch_alter_table('desktop_sends', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_desktop_sends_session_id'))
    op.drop_table('desktop_sends')
