"""Alembic, driven from code: ``qbwc-bridge migrate`` and the test fixtures call this.

The migration scripts ship inside the package, so an installed bridge migrates itself
without a checkout or an alembic.ini.

Several hosts may migrate at once (each ``serve`` migrates at start, and a deploy runs
``qbwc-bridge migrate`` from every host): on an empty database both would see no
``alembic_version`` table and both create the schema, and one would fail half-way. On
PostgreSQL the upgrade therefore runs under a session-level advisory lock: the others
wait for it, then find the schema at head and do nothing. SQLite is one file on one
host, whose writers already take turns.
"""
from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config

from .db import Store

SCRIPT_LOCATION = "qbwc_bridge.store:migrations"
# pg_advisory_lock's key: any bigint no other code of ours uses; derived from a name so it reads as ours.
MIGRATION_LOCK_KEY = zlib.crc32(b"qbwc_bridge.store.migrate")


def alembic_config(store: Store) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", store.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["engine"] = store.engine
    return config


@contextmanager
def migration_lock(store: Store) -> Iterator[None]:
    """Hold PostgreSQL's advisory lock for migrations (blocking until it is free); nothing elsewhere.

    The lock lives on a connection of its own, held until the block ends; if this process
    dies, PostgreSQL releases it with the connection.
    """
    if store.engine.dialect.name != "postgresql":
        yield
        return
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")
        try:
            yield
        finally:
            connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")


def upgrade(store: Store, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (idempotent; safe from several hosts at once)."""
    with migration_lock(store):
        command.upgrade(alembic_config(store), revision)
