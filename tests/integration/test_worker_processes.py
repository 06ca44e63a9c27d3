"""Two worker processes on one PostgreSQL never drive one company at once (the lease), and between them
drain every company.

Each process runs :func:`child`: a Worker whose driver does one unit of a company's work per
drive, in tables of this test's own. On entering a drive it inserts the company into
``test_driving`` (primary key): a second driver of that company at the same moment finds the
row there and records the overlap in ``test_overlaps``, whatever the two processes' clocks say.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from qbwc_bridge.services.accounts import create_account
from qbwc_bridge.store.db import Store
from qbwc_bridge.worker import Worker

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
COMPANIES = 4
UNITS = 10
PROCESS_TIMEOUT_SECONDS = 120
PROCESSES = 2

TABLES = sa.MetaData()
WORK = sa.Table("test_work", TABLES, sa.Column("account_id", sa.Integer, primary_key=True),
                sa.Column("remaining", sa.Integer, nullable=False))
DRIVING = sa.Table("test_driving", TABLES, sa.Column("account_id", sa.Integer, primary_key=True),
                   sa.Column("holder", sa.String(100), nullable=False))
DRIVES = sa.Table("test_drives", TABLES, sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("account_id", sa.Integer, nullable=False), sa.Column("holder", sa.String(100), nullable=False),
                  sa.Column("did_work", sa.Boolean, nullable=False))
READY = sa.Table("test_ready", TABLES, sa.Column("holder", sa.String(100), primary_key=True))
OVERLAPS = sa.Table("test_overlaps", TABLES, sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("account_id", sa.Integer, nullable=False), sa.Column("holder", sa.String(100), nullable=False))


@pytest.fixture
def database_url(postgres_url):  # PostgreSQL only: SQLite is one file on one host
    return postgres_url


def child(database_url: str, holder: str) -> None:
    """One worker process: drain every due company once, then exit."""
    store = Store(database_url)

    def due(db, now) -> list[int]:
        return list(db.scalars(sa.select(WORK.c.account_id).where(WORK.c.remaining > 0).order_by(WORK.c.account_id)))

    def drive(store_, account_id, lease) -> None:
        with store.engine.begin() as connection:
            try:
                with connection.begin_nested():
                    connection.execute(DRIVING.insert().values(account_id=account_id, holder=holder))
            except IntegrityError:
                connection.execute(OVERLAPS.insert().values(account_id=account_id, holder=holder))
        time.sleep(0.02)  # a driver busy for a while: time for the other process to try this company
        with store.engine.begin() as connection:
            did_work = connection.execute(
                WORK.update().where(WORK.c.account_id == account_id, WORK.c.remaining > 0)
                .values(remaining=WORK.c.remaining - 1)
            ).rowcount == 1  # fmt: skip
            connection.execute(DRIVES.insert().values(account_id=account_id, holder=holder, did_work=did_work))
            connection.execute(DRIVING.delete().where(DRIVING.c.account_id == account_id, DRIVING.c.holder == holder))

    # Both start draining together: otherwise the first could be done before the second has started.
    with store.engine.begin() as connection:
        connection.execute(READY.insert().values(holder=holder))
    deadline = time.monotonic() + PROCESS_TIMEOUT_SECONDS / 2
    while time.monotonic() < deadline:
        with store.engine.connect() as connection:
            if connection.scalar(sa.select(sa.func.count()).select_from(READY)) == PROCESSES:
                break
        time.sleep(0.01)
    try:
        Worker(store, due=due, drive=drive, holder=holder).run_once()
    finally:
        store.dispose()


def test_two_worker_processes_never_drive_one_company_at_once(store, settings):
    TABLES.create_all(store.engine)
    with store.begin() as db:
        accounts = [create_account(db, f"Online {n}", "online").account_id for n in range(COMPANIES)]
        db.execute(WORK.insert(), [{"account_id": account, "remaining": UNITS} for account in accounts])

    code = "import sys; from tests.integration.test_worker_processes import child; child(sys.argv[1], sys.argv[2])"
    processes = [
        subprocess.Popen([sys.executable, "-c", code, settings.database_url, f"process-{n}"], cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE, text=True)
        for n in range(1, PROCESSES + 1)
    ]  # fmt: skip
    for process in processes:
        _, stderr = process.communicate(timeout=PROCESS_TIMEOUT_SECONDS)
        assert process.returncode == 0, stderr

    with store.engine.connect() as connection:
        assert connection.execute(sa.select(OVERLAPS)).all() == []
        assert connection.scalar(sa.select(sa.func.sum(WORK.c.remaining))) == 0
        done = connection.execute(sa.select(DRIVES.c.account_id, DRIVES.c.holder).where(DRIVES.c.did_work)).all()
        assert len(done) == COMPANIES * UNITS
        assert connection.execute(sa.text("SELECT count(*) FROM worker_leases")).scalar() == 0
    assert {holder for _, holder in done} <= {"process-1", "process-2"}
