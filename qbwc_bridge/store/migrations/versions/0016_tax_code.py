"""tax code: the company's sales tax codes mirrored, the account's chosen one and its company's country

QuickBooks Online outside the US needs a VAT/GST tax code on every invoice line. The worker pulls
the company's tax codes into qb_tax_codes with the other small lists; the General tab's choice is
accounts.tax_code_id; accounts.company_country (from CompanyInfo) says whether the company needs one.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 13:00:00
"""
from alembic import op
import sqlalchemy as sa

import qbwc_bridge.store.models

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_code_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('company_country', sa.String(length=40), nullable=True))
    op.create_table(
        'qb_tax_codes',
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('list_id', sa.String(length=40), nullable=False),
        sa.Column('full_name', sa.String(length=400), nullable=False),
        sa.Column('edit_sequence', sa.String(length=20), nullable=True),
        sa.Column('time_modified', qbwc_bridge.store.models.UTCDateTime(), nullable=True),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.Column('description', sa.String(length=400), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_qb_tax_codes_account_id_accounts'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('account_id', 'list_id', name=op.f('pk_qb_tax_codes')),
    )


def downgrade() -> None:
    op.drop_table('qb_tax_codes')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('company_country')
        batch_op.drop_column('tax_code_id')
