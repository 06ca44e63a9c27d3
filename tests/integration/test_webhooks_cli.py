"""``qbwc-bridge deliver-webhooks --once``: sends what is due from the database, then exits."""
from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner

from qbwc_bridge.cli import main
from qbwc_bridge.services.accounts import create_account
from qbwc_bridge.store.db import Store
from qbwc_bridge.store.migrate import upgrade
from qbwc_bridge.store.models import WebhookDelivery
from qbwc_bridge.webhooks.endpoints import put_endpoint
from qbwc_bridge.webhooks.events import EventType, invoice_key, record
from qbwc_bridge.webhooks.sealed_secret import SecretBox
from tests.integration.webhook_receiver import LiveReceiver

SECRET_KEY = "s" * 40


@pytest.fixture(autouse=True)
def root_logging_restored():
    """The command configures the root logger for a process; this test process gets its own back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_deliver_webhooks_once_sends_what_is_due_and_exits(database_url, tmp_path):
    env = {"QBWC_BRIDGE_DATABASE_URL": database_url, "QBWC_BRIDGE_DATA_DIR": str(tmp_path / "var"),
           "QBWC_BRIDGE_SECRET_KEY": SECRET_KEY, "QBWC_BRIDGE_PUBLIC_URL": "http://localhost:8080"}  # fmt: skip
    store = Store(database_url)
    upgrade(store)
    live = LiveReceiver()
    try:
        with live as receiver:
            with store.begin() as db:
                account_id = create_account(db, "Acme", "desktop").account_id
                put_endpoint(db, account_id, {"url": live.url, "events": ["invoice.paid"]}, SecretBox(SECRET_KEY))
            for n in range(3):
                with store.begin() as db:
                    record(db, account_id, EventType.INVOICE_PAID, {"n": n}, order_key=invoice_key("o-1"))
            result = CliRunner().invoke(main, ["deliver-webhooks", "--once"], env=env)
            assert result.exit_code == 0, result.output
            assert "3 deliveries attempted" in result.output
            assert [got.event["data"]["n"] for got in receiver.delivered] == [0, 1, 2]
        with store.begin() as db:
            assert {row.state for row in db.query(WebhookDelivery)} == {"delivered"}
    finally:
        store.dispose()
