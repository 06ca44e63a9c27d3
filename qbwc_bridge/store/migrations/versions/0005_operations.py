"""operations: retention, silent Web Connectors

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 19:00:00
"""
from alembic import op
import sqlalchemy as sa
import qbwc_bridge.store.models
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
