"""Alembic, driven from code: ``qbwc-bridge migrate`` and the test fixtures call this.

The migration scripts ship inside the package, so an installed bridge migrates itself
without a checkout or an alembic.ini.
"""
from __future__ import annotations

from alembic import command
from alembic.config import Config

from .db import Store

SCRIPT_LOCATION = "qbwc_bridge.store:migrations"


def alembic_config(store: Store) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("sqlalchemy.url", store.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["engine"] = store.engine
    return config


def upgrade(store: Store, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (idempotent)."""
    command.upgrade(alembic_config(store), revision)
