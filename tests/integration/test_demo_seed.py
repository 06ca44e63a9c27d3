"""The demo account arrives with BlueTrace records that show every tab of the help article."""
from __future__ import annotations

from qbwc_bridge.config import Settings
from qbwc_bridge.demo import DEMO_CUSTOMERS, DEMO_ITEMS, DEMO_ORDERS, prepare_demo
from qbwc_bridge.services.invoices import invoice_view, list_invoices
from qbwc_bridge.store.db import Store
from qbwc_bridge.store.models import BtCustomer, BtItem


def test_the_demo_seeds_items_customers_and_blocked_orders_once(tmp_path):
    settings = Settings.from_env({"QBWC_BRIDGE_DATA_DIR": str(tmp_path / "var"), "QBWC_BRIDGE_SECRET_KEY": "s" * 40,
                                  "QBWC_BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/demo.sqlite3"})  # fmt: skip
    store = Store.from_settings(settings)
    try:
        facts = prepare_demo(store, settings)
        prepare_demo(store, settings)  # a second start seeds nothing more
        with store.begin() as db:
            account_id = facts["account_id"]
            assert {row.item_id for row in db.query(BtItem).filter_by(account_id=account_id)} == set(DEMO_ITEMS)
            assert {row.customer_id for row in db.query(BtCustomer).filter_by(account_id=account_id)} == set(DEMO_CUSTOMERS)
            invoices = list_invoices(db, account_id)
            assert invoices.total == len(DEMO_ORDERS)
            # Invoice creation starts off: every order waits with an Action that says so.
            assert all("Invoice creation is off" in (invoice_view(row)["action"] or "") for row in invoices.rows)
    finally:
        store.dispose()

