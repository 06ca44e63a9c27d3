"""``qbwc-bridge migrate`` from several hosts at once (a deploy, or several ``serve`` starting).

Without a lock, two upgrades of an empty PostgreSQL database both see no schema and both
create it: one fails with "relation already exists". Under the advisory lock the second
waits, then finds the schema at head.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa

from qbwc_bridge.store.db import Store
from qbwc_bridge.store.migrate import MIGRATION_LOCK_KEY, migration_lock, upgrade

pytestmark = pytest.mark.timeout(180)


def _migrate_process(database_url: str, tmp_path) -> subprocess.Popen:
    env = {**os.environ, "QBWC_BRIDGE_DATABASE_URL": database_url, "QBWC_BRIDGE_DATA_DIR": str(tmp_path),
           "QBWC_BRIDGE_SECRET_KEY": "m" * 40}  # fmt: skip
    return subprocess.Popen([sys.executable, "-m", "qbwc_bridge", "migrate"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip


def _head_revision(database_url: str) -> list[str]:
    store = Store(database_url)
    try:
        with store.begin() as db:
            return list(db.scalars(sa.text("SELECT version_num FROM alembic_version")))
    finally:
        store.dispose()


def test_three_concurrent_migrates_of_an_empty_postgres_database_all_succeed(postgres_url, tmp_path):
    processes = [_migrate_process(postgres_url, tmp_path) for _ in range(3)]
    outputs = []
    for process in processes:
        output, _ = process.communicate(timeout=120)
        outputs.append((process.returncode, output.decode(errors="replace")))
    assert [status for status, _ in outputs] == [0, 0, 0], outputs
    assert all("database is up to date" in output for _, output in outputs), outputs
    assert len(_head_revision(postgres_url)) == 1


def test_an_upgrade_waits_while_another_holds_the_migration_lock(postgres_url):
    holder, waiter = Store(postgres_url), Store(postgres_url)
    finished = threading.Event()
    try:
        with migration_lock(holder):
            thread = threading.Thread(target=lambda: (upgrade(waiter), finished.set()), daemon=True)
            thread.start()
            time.sleep(1.0)
            assert not finished.is_set(), "upgrade ran while another process held the migration lock"
            with holder.engine.connect() as connection:  # the lock is the one we documented
                held = connection.scalar(sa.text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :key AND granted"
                ), {"key": MIGRATION_LOCK_KEY})  # fmt: skip
            assert held == 1
        thread.join(timeout=60)
        assert finished.is_set()
        assert len(_head_revision(postgres_url)) == 1
    finally:
        holder.dispose()
        waiter.dispose()
