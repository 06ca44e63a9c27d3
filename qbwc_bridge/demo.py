"""The demo `make run` starts: a Desktop account, an Online account and their logins, kept under ./var.

Secrets are hashed in the database, so the demo keeps its own plain copy in
var/demo-credentials.json (mode 0600) to print them on every start. Demo only.

The account also gets a few BlueTrace items, customers and packed orders chosen against
the simulator's packaged demo company (``simulator/examples/demo-company.json``), so that
after one ``qbwc-bridge simulate`` run every tab of the help article has something to
show: a match, each kind of match issue, and an invoice blocked with its Action.

The Online account's records are chosen the same way against the fake QuickBooks Online's
sample company (:mod:`.fake_qbo.sample`), which the demo serves in-process: connecting that
account in the admin goes through the fake's consent page, and the worker then syncs it.
The demo composes both backends, so it lives beside the CLI rather than among the services.
"""
from __future__ import annotations

import json
import os
import secrets

from . import security
from .backends.desktop.qwc import render_qwc
from .config import Settings
from .fake_qbo import FakeIntuit, RunningFakeIntuit, add_sample_company, serve
from .store.db import Store
from .store.migrate import upgrade
from .services.accounts import create_account
from .services.catalog import upsert_customer, upsert_item
from .services.invoices import record_packed_order
from .services.users import create_user

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


DEMO_ONLINE_ACCOUNT = "Demo Online Co"
DEMO_ONLINE_CLIENT_ID = "qbwc-bridge-demo"
# Against the sample company (items matched by SKU, the default): Rock Fountain and Garden Rocks
# match; MUL-700 is not found; Pest Control has no SKU in QuickBooks, so PEST-1 is not found but
# the name is suggested. Amy's address matches her QuickBooks email; Greenleaf is not found;
# Weiskopf has no billing email; Robertson is not found, and creating it collides with the vendor.
DEMO_ONLINE_ITEMS = {
    "bt-fountain": {"sku": "FTN-300", "name": "Rock Fountain", "sales_price": "275.00", "kind": "inventory"},
    "bt-rocks": {"sku": "RCK-400", "name": "Garden Rocks", "sales_price": "22.50", "kind": "inventory"},
    "bt-mulch": {"sku": "MUL-700", "name": "Cedar mulch, per bag", "sales_price": "8.00"},
    "bt-pest": {"sku": "PEST-1", "name": "Pest Control", "sales_price": "35.00", "kind": "service"},
}
DEMO_ONLINE_CUSTOMERS = {
    "bt-amy": {"name": "Amy's Bird Sanctuary", "billing_email": "birds@intuit.com"},
    "bt-greenleaf": {"name": "Greenleaf Landscaping", "billing_email": "ap@greenleaf.test"},
    "bt-weiskopf": {"name": "Weiskopf Consulting", "billing_email": None},
    "bt-robertson": {"name": "Robertson & Associates", "billing_email": "office@robertson.test"},
}
DEMO_ONLINE_ORDERS = {
    "bt-order-2001": {"order_number": "SO-2001", "customer_id": "bt-amy", "packed_at": "2026-11-30T15:00:00Z",
                      "lines": [{"item_id": "bt-fountain", "quantity": "1", "unit_price": "275.00"},
                                {"item_id": "bt-rocks", "quantity": "4", "unit_price": "22.50"}]},
    "bt-order-2002": {"order_number": "SO-2002", "customer_id": "bt-greenleaf", "packed_at": "2026-11-30T16:30:00Z",
                      "lines": [{"item_id": "bt-mulch", "quantity": "12", "unit_price": "8.00"}]},
}


def prepare_demo(store: Store, settings: Settings) -> dict:
    """Make the demo's accounts and logins on the first start; on every start, their facts to print."""
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
            _seed(db, created.account_id, DEMO_ITEMS, DEMO_CUSTOMERS, DEMO_ORDERS)
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
    if "online" not in facts:  # also a demo made before it had an Online account
        with store.begin() as db:
            online = create_account(db, DEMO_ONLINE_ACCOUNT, "online")
            _seed(db, online.account_id, DEMO_ONLINE_ITEMS, DEMO_ONLINE_CUSTOMERS, DEMO_ONLINE_ORDERS)
        facts["online"] = {"account_id": online.account_id, "account_name": online.name,
                           "api_token": online.api_token}
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(facts, handle, indent=2)
    qwc_path = settings.data_dir / "demo.qwc"
    with store.begin() as db:
        qwc_path.write_text(render_qwc(db, settings, facts["account_id"]), encoding="utf-8")
    facts["qwc_path"] = str(qwc_path)
    return facts


def start_fake_quickbooks_online(settings: Settings) -> tuple[RunningFakeIntuit, Settings]:
    """Serve the fake QuickBooks Online (the sample company) on a loopback port, and settings that use it.

    Settings are frozen, so the demo's process gets a replaced copy whose Intuit app keys and
    URLs (authorize, token, revoke, API) name the fake; whatever QBWC_BRIDGE_QBO_* said is set
    aside. The fake keeps its state in memory: after a restart the Online account asks to be
    connected again. Stop the returned server when the demo stops.
    """
    intuit = FakeIntuit()
    client_secret = secrets.token_urlsafe(24)
    intuit.register_app(DEMO_ONLINE_CLIENT_ID, client_secret, [settings.qbo_redirect_uri])
    add_sample_company(intuit)
    server = serve(intuit)
    demo_settings = settings.replace(
        qbo_client_id=DEMO_ONLINE_CLIENT_ID, qbo_client_secret=client_secret, qbo_api_base=server.url,
        qbo_authorize_url=server.url + "/connect/oauth2", qbo_token_url=server.url + "/oauth2/v1/tokens/bearer",
        qbo_revoke_url=server.url + "/v2/oauth2/tokens/revoke")  # fmt: skip
    return server, demo_settings


def _seed(db, account_id: int, items: dict, customers: dict, orders: dict) -> None:
    """What BlueTrace's backend would have sent before the first sync."""
    for item_id, item in items.items():
        upsert_item(db, account_id, item_id, item)
    for customer_id, customer in customers.items():
        upsert_customer(db, account_id, customer_id, customer)
    for order_id, order in orders.items():
        record_packed_order(db, account_id, order_id, order)
