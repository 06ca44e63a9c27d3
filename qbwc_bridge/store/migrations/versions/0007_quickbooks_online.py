"""quickbooks online: encrypted OAuth tokens per account, single-use OAuth states

``qbo_connections`` links an account to one QuickBooks Online company (realm, unique
across accounts) and holds its tokens, encrypted; ``oauth_states`` holds the SHA-256 of
each state handed to Intuit's consent page.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:20:00
"""
from alembic import op
import sqlalchemy as sa
import qbwc_bridge.store.models

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('qbo_connections',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('realm_id', sa.String(length=32), nullable=False),
    sa.Column('environment', sa.String(length=16), nullable=False),
    sa.Column('company_name', sa.String(length=200), nullable=True),
    sa.Column('access_token_enc', sa.Text(), nullable=False),
    sa.Column('access_expires_at', qbwc_bridge.store.models.UTCDateTime(), nullable=False),
    sa.Column('refresh_token_enc', sa.Text(), nullable=False),
    sa.Column('refresh_expires_at', qbwc_bridge.store.models.UTCDateTime(), nullable=False),
    sa.Column('connected_at', qbwc_bridge.store.models.UTCDateTime(), nullable=False),
    sa.Column('refreshed_at', qbwc_bridge.store.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_qbo_connections_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_qbo_connections')),
    sa.UniqueConstraint('realm_id', name=op.f('uq_qbo_connections_realm_id'))
    )
    op.create_table('oauth_states',
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('created_at', qbwc_bridge.store.models.UTCDateTime(), nullable=False),
    sa.Column('expires_at', qbwc_bridge.store.models.UTCDateTime(), nullable=False),
    sa.Column('used_at', qbwc_bridge.store.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_oauth_states_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('state_hash', name=op.f('pk_oauth_states'))
    )
    with op.batch_alter_table('oauth_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_states_account_id'), ['account_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('oauth_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_states_account_id'))
    op.drop_table('oauth_states')
    op.drop_table('qbo_connections')
