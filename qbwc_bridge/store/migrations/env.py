"""Alembic environment: reuses the engine handed over by qbwc_bridge.store.migrate.

On SQLite a batch migration rebuilds a table (copy, drop the old one, rename). With foreign
keys enforced, dropping the old table cascades into every table that points at it: rows
deleted (ON DELETE CASCADE) or references nulled (SET NULL), silently. SQLite's own recipe
for altering a table is followed instead: enforcement off for the migration's connection
(it can only change outside a transaction), ``PRAGMA foreign_key_check`` before the commit,
and enforcement back on before the connection returns to the pool.
"""
from alembic import context
from sqlalchemy import create_engine

from qbwc_bridge.store.models import Base


class BrokenReferences(RuntimeError):
    """A migration left rows pointing at rows that do not exist; it is rolled back."""


config = context.config
engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,  # SQLite cannot ALTER most things
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                connection.rollback()
                raise BrokenReferences(f"the migration left {len(broken)} broken reference(s), e.g. {broken[0]}")
        connection.commit()
    finally:
        if sqlite:
            if connection.in_transaction():
                connection.rollback()  # a failed migration: the pragma below only takes effect outside one
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")
