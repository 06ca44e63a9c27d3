"""Restoring an old backup, then ``qbwc-bridge after-restore``: no invoice is sent twice.

The backup is taken after an order was packed and before the Web Connector created its
invoice. Restored as it is, the order is pending again and the next session creates a
second invoice in QuickBooks; after ``after-restore`` it is looked up and adopted instead.
"""
from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3

import pytest
import requests
from click.testing import CliRunner

from qbwc_bridge.backends.desktop.qwc import render_qwc
from qbwc_bridge.backends.desktop.schema import schema_dir
from qbwc_bridge.cli import main
from qbwc_bridge.config import Settings
from qbwc_bridge.simulator import RequestProcessor, WebConnector, load_company, save_company
from qbwc_bridge.store.db import Store
from qbwc_bridge.store.migrate import upgrade
from qbwc_bridge.store.models import PackedOrder
from qbwc_bridge.web.app import create_app
from tests.integration.conftest import make_tenant
from tests.integration.invoice_world import make_company, ours, seed_matches
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.timeout(120)


def _copy(source: str, target: str) -> None:
    """SQLite's online backup: a consistent copy while the server has the file open."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def test_after_restore_adopts_what_quickbooks_created_since_the_backup(tmp_path, shared_dir):
    live, backup = str(tmp_path / "bridge.sqlite3"), str(tmp_path / "backup.sqlite3")
    env = {"QBWC_BRIDGE_DATABASE_URL": f"sqlite:///{live}", "QBWC_BRIDGE_DATA_DIR": str(tmp_path),
           "QBWC_BRIDGE_SECRET_KEY": "r" * 40, "QBWC_BRIDGE_PUBLIC_URL": "http://localhost:8080",
           "QBWC_BRIDGE_BUSY_WINDOW_SECONDS": "1"}
    settings = Settings.from_env(env)
    store = Store.from_settings(settings)
    upgrade(store)
    tenant = make_tenant(store, "Restored Supply")
    company = make_company(seed=31)
    world = seed_matches(store, tenant.account.account_id, company)
    try:
        with LiveServer(create_app(settings, store)) as server:
            answer = requests.post(f"{server.url}/api/v1/orders/o-1/packed", timeout=10,
                                   data=json.dumps(world.order(random.Random(3), "R-0001")),
                                   headers={"Authorization": f"Bearer {tenant.account.api_token}",
                                            "Content-Type": "application/json"})
            assert answer.status_code == 202, answer.text
            _copy(live, backup)
            backup_taken_at = dt.datetime.now(dt.timezone.utc)

            qwc = tmp_path / "restored.qwc"
            with store.begin() as db:
                qwc.write_text(render_qwc(db, settings.replace(public_url=f"http://localhost:{server.url.rsplit(':', 1)[1]}"),
                                          tenant.account.account_id))

            def session(quickbooks):
                connector = WebConnector(RequestProcessor(quickbooks, schema_dir(shared_dir)),
                                         password=tenant.password, noop_pause=0)
                assert connector.add_application(str(qwc)).ok
                transcript = connector.run_session()
                assert transcript.ok, transcript.to_text()

            session(company)
            assert len(ours(company, "o-1")) == 1
            save_company(company, tmp_path / "company.json")  # QuickBooks as it stands after the backup

            # Restored as it is: the invoice goes out again.
            _copy(backup, live)
            store.engine.dispose()
            as_is = load_company(tmp_path / "company.json")
            session(as_is)
            assert len(ours(as_is, "o-1")) == 2

            # Restored, then after-restore: looked up and adopted.
            _copy(backup, live)
            store.engine.dispose()
            result = CliRunner().invoke(main, ["after-restore", "--backup-taken-at",
                                               backup_taken_at.strftime("%Y-%m-%dT%H:%M:%S%z"), "--json"], env=env)
            assert result.exit_code == 0, result.output
            assert json.loads(result.output) == {"invoices_to_look_up": 1}
            restored = load_company(tmp_path / "company.json")
            session(restored)
            assert len(ours(restored, "o-1")) == 1
            with store.begin() as db:
                order = db.query(PackedOrder).filter_by(account_id=tenant.account.account_id, order_id="o-1").one()
                assert order.status == "created" and order.txn_id == ours(restored, "o-1")[0].stamp.id
    finally:
        store.dispose()
