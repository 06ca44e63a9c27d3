"""list counts: how many items and customers each account has, kept by triggers

The status panel shows "N of TOTAL matched" on every admin page; counting 100k rows per
view was most of the page's time. ``list_counts`` holds each account's row count of
``bt_items`` and ``bt_customers``, maintained by triggers in the writing transaction
(exact under every kind of write), and filled here from the tables as they are.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 08:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

COUNTED = ('bt_items', 'bt_customers')

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION qbwc_bridge_list_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO list_counts (account_id, list_name, total)
            SELECT account_id, TG_TABLE_NAME, count(*) FROM new_rows GROUP BY account_id ORDER BY account_id
            ON CONFLICT (account_id, list_name) DO UPDATE SET total = list_counts.total + excluded.total;
    ELSE
        UPDATE list_counts SET total = list_counts.total - gone.n
            FROM (SELECT account_id, count(*) AS n FROM old_rows GROUP BY account_id) AS gone
            WHERE list_counts.account_id = gone.account_id AND list_counts.list_name = TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END
$$
"""


def create_count_triggers(table: str) -> None:
    """The insert and delete triggers that keep ``list_counts`` for ``table`` (idempotent)."""
    drop_count_triggers(table)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_PG_FUNCTION)
        op.execute(f"CREATE TRIGGER {table}_count_insert AFTER INSERT ON {table} "
                   "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION qbwc_bridge_list_count()")
        op.execute(f"CREATE TRIGGER {table}_count_delete AFTER DELETE ON {table} "
                   "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION qbwc_bridge_list_count()")
    else:
        op.execute(f"CREATE TRIGGER {table}_count_insert AFTER INSERT ON {table} BEGIN "
                   f"INSERT INTO list_counts (account_id, list_name, total) VALUES (NEW.account_id, '{table}', 1) "
                   "ON CONFLICT (account_id, list_name) DO UPDATE SET total = total + 1; END")
        op.execute(f"CREATE TRIGGER {table}_count_delete AFTER DELETE ON {table} BEGIN "
                   f"UPDATE list_counts SET total = total - 1 WHERE account_id = OLD.account_id AND list_name = '{table}'; END")


def drop_count_triggers(table: str) -> None:
    on = f" ON {table}" if op.get_bind().dialect.name == 'postgresql' else ""
    op.execute(f"DROP TRIGGER IF EXISTS {table}_count_insert{on}")
    op.execute(f"DROP TRIGGER IF EXISTS {table}_count_delete{on}")


def upgrade() -> None:
    op.create_table('list_counts',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('list_name', sa.String(length=20), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_list_counts_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'list_name', name=op.f('pk_list_counts'))
    )
    # Triggers first, then the fill: on PostgreSQL creating a trigger locks out writers to
    # the table until this transaction ends, so no row is counted twice or missed.
    for table in COUNTED:
        create_count_triggers(table)
        op.execute(f"INSERT INTO list_counts (account_id, list_name, total) "
                   f"SELECT account_id, '{table}', count(*) FROM {table} GROUP BY account_id")


def downgrade() -> None:
    for table in COUNTED:
        drop_count_triggers(table)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS qbwc_bridge_list_count()")
    op.drop_table('list_counts')
