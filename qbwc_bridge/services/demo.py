"""The demo `make run` starts: one Desktop account and its logins, kept under ./var.

Secrets are hashed in the database, so the demo keeps its own plain copy in
var/demo-credentials.json (mode 0600) to print them on every start. Demo only.

The account also gets a few BlueTrace items, customers and packed orders chosen against
the simulator's packaged demo company (``simulator/examples/demo-company.json``), so that
after one ``qbwc-bridge simulate`` run every tab of the help article has something to
show: a match, each kind of match issue, and an invoice blocked with its Action.
"""
from __future__ import annotations

import json
import os

from .. import security
from ..backends.desktop.qwc import render_qwc
from ..config import Settings
from ..store.db import Store
from ..store.migrate import upgrade
from .accounts import create_account
from .catalog import upsert_customer, upsert_item
from .invoices import record_packed_order
from .users import create_user

DEMO_ACCOUNT = "Demo Distribution"
DEMO_ADMIN = "admin@example.com"
DEMO_BOOKKEEPER = "bookkeeper@example.com"

# Against the demo company: WIDGET-1 and Installation match by name; "CABLE-CAT6" is not
# found but "Cable Cat6" is suggested; the bracket has no SKU.
DEMO_ITEMS = {
    "bt-widget-1": {"sku": "WIDGET-1", "name": "Widget, blue", "sales_price": "19.99", "kind": "inventory"},
    "bt-install": {"sku": "Installation", "name": "Installation hour", "sales_price": "75.00", "kind": "service"},
    "bt-cable": {"sku": "CABLE-CAT6", "name": "Cat6 cable, per metre", "sales_price": "3.50"},
    "bt-bracket": {"sku": None, "name": "Wall bracket", "sales_price": "6.00"},
}
# Blue Ridge matches one of the two addresses in its QuickBooks Email; Acme's address is
# on two QuickBooks customers (duplicate match); Northwind is not found, and creating it
# collides with the vendor of that name; Harbor has no billing email.
DEMO_CUSTOMERS = {
    "bt-blueridge": {"name": "Blue Ridge Builders", "billing_email": "owner@blueridge.test"},
    "bt-acme": {"name": "Acme", "billing_email": "AP@acme.test"},
    "bt-northwind": {"name": "Northwind Traders", "billing_email": "orders@northwind.test"},
    "bt-harbor": {"name": "Harbor Goods", "billing_email": None},
}
DEMO_ORDERS = {
    "bt-order-1001": {"order_number": "SO-1001", "customer_id": "bt-blueridge", "packed_at": "2026-11-30T15:00:00Z",
                      "lines": [{"item_id": "bt-widget-1", "quantity": "10", "unit_price": "19.99"},
                                {"item_id": "bt-install", "quantity": "2", "unit_price": "75.00"}]},
    "bt-order-1002": {"order_number": "SO-1002", "customer_id": "bt-acme", "packed_at": "2026-11-30T16:30:00Z",
                      "po_number": "PO-77", "lines": [{"item_id": "bt-cable", "quantity": "30", "unit_price": "3.50"}]},
}


def prepare_demo(store: Store, settings: Settings) -> dict:
    upgrade(store)
    path = settings.data_dir / "demo-credentials.json"
    if path.is_file():
        facts = json.loads(path.read_text())
    else:
        with store.begin() as db:
            created = create_account(db, DEMO_ACCOUNT, "desktop")
            admin_password = security.new_password()
            create_user(db, DEMO_ADMIN, admin_password, "support")
            bookkeeper_password = security.new_password()
            create_user(db, DEMO_BOOKKEEPER, bookkeeper_password, "bookkeeper", created.account_id)
            _seed_bluetrace_records(db, created.account_id)
        facts = {
            "account_id": created.account_id,
            "account_name": created.name,
            "api_token": created.api_token,
            "wc_username": created.wc_username,
            "wc_password": created.wc_password,
            "admin_email": DEMO_ADMIN,
            "admin_password": admin_password,
            "bookkeeper_email": DEMO_BOOKKEEPER,
            "bookkeeper_password": bookkeeper_password,
        }
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(facts, handle, indent=2)
    qwc_path = settings.data_dir / "demo.qwc"
    with store.begin() as db:
        qwc_path.write_text(render_qwc(db, settings, facts["account_id"]), encoding="utf-8")
    facts["qwc_path"] = str(qwc_path)
    return facts


def _seed_bluetrace_records(db, account_id: int) -> None:
    """What BlueTrace's backend would have sent before the first Web Connector run."""
    for item_id, item in DEMO_ITEMS.items():
        upsert_item(db, account_id, item_id, item)
    for customer_id, customer in DEMO_CUSTOMERS.items():
        upsert_customer(db, account_id, customer_id, customer)
    for order_id, order in DEMO_ORDERS.items():
        record_packed_order(db, account_id, order_id, order)
