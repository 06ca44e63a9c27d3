"""error action: the backend that met an account's error stores what to do about it

The status used to work the Action of a Desktop error out of the HRESULT table itself, so the
services depended on the Desktop backend. Errors already on an account keep their message, which
holds the action text as well.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 10:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error_action', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('error_action')
