"""The demo accounts arrive with BlueTrace records that show every tab of the help article."""
from __future__ import annotations

import html
import re

import requests

from qbwc_bridge.backends.push import PushDriver
from qbwc_bridge.config import Settings
from qbwc_bridge.demo import (DEMO_CUSTOMERS, DEMO_ITEMS, DEMO_ONLINE_ORDERS, DEMO_ORDERS, prepare_demo,
                              start_fake_quickbooks_online)
from qbwc_bridge.fake_qbo.sample import SAMPLE_NAME, SAMPLE_REALM
from qbwc_bridge.services.invoices import invoice_view, list_invoices
from qbwc_bridge.store.db import Store
from qbwc_bridge.store.models import Account, BtCustomer, BtItem
from qbwc_bridge.web.app import create_app
from qbwc_bridge.worker import Worker
from tests.support.live_server import LiveServer


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
            assert sorted((row.name, row.kind) for row in db.query(Account)) == [
                ("Demo Distribution", "desktop"), ("Demo Online Co", "online")]
            online_id = facts["online"]["account_id"]
            assert list_invoices(db, online_id).total == len(DEMO_ONLINE_ORDERS)
    finally:
        store.dispose()



class _LateApp:
    """A WSGI app set once the server listens: the demo's settings need its URL (Intuit's redirect URI)."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


def _csrf(page: requests.Response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_the_online_demo_account_connects_through_the_fake_consent_page_and_shows_its_issues(tmp_path):
    late = _LateApp()
    with LiveServer(late) as server:
        # The Web Connector refuses IP addresses, so the demo's public URL names the host.
        bridge_url = server.url.replace("127.0.0.1", "localhost")
        settings = Settings.from_env({"QBWC_BRIDGE_DATA_DIR": str(tmp_path / "var"), "QBWC_BRIDGE_SECRET_KEY": "s" * 40,
                                      "QBWC_BRIDGE_DATABASE_URL": f"sqlite:///{tmp_path}/demo.sqlite3",
                                      "QBWC_BRIDGE_PUBLIC_URL": bridge_url})  # fmt: skip
        store = Store.from_settings(settings)
        facts = prepare_demo(store, settings)
        fake_intuit, demo_settings = start_fake_quickbooks_online(settings)
        try:
            late.app = create_app(demo_settings, store)
            online = facts["online"]
            browser = requests.Session()
            login = browser.get(bridge_url + "/admin/login", timeout=30)
            browser.post(bridge_url + "/admin/login", timeout=30, data={
                "email": facts["admin_email"], "password": facts["admin_password"], "csrf_token": _csrf(login),
                "next": "/admin/"})
            connect_page = browser.get(f"{bridge_url}/admin/accounts/{online['account_id']}/connect/online", timeout=30)
            assert "Demo Online Co" in connect_page.text
            # Connect → the fake Intuit's consent page (the sample company preselected) → Connect → /qbo/callback.
            consent_page = browser.post(connect_page.url, data={"csrf_token": _csrf(connect_page)}, timeout=30)
            assert consent_page.url.startswith(fake_intuit.url + "/connect/oauth2"), consent_page.url
            form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', consent_page.text))
            back = browser.post(fake_intuit.url + "/connect/oauth2", timeout=30,
                                data={**{k: html.unescape(v) for k, v in form.items()}, "realm": SAMPLE_REALM,
                                      "decision": "approve"})  # fmt: skip
            assert back.url.startswith(bridge_url + "/admin/"), back.url

            driver = PushDriver(demo_settings)
            Worker(store, due=driver.due_accounts, drive=driver.drive_account).run_once()

            def api(path: str) -> dict:
                answer = requests.get(f"{bridge_url}/api/v1{path}", timeout=30,
                                      headers={"Authorization": f"Bearer {online['api_token']}"})
                assert answer.status_code == 200, answer.text
                return answer.json()

            status = api("/status")
            assert status["status"] == "connected", status
            assert status["quickbooks"]["company_name"] == SAMPLE_NAME
            items = {row["item_id"]: row for row in api("/items")["items"]}
            assert items["bt-fountain"]["match_state"] == "matched"
            assert items["bt-mulch"]["issue"] == "not_found"
            customers = {row["customer_id"]: row for row in api("/customers")["customers"]}
            assert customers["bt-amy"]["match_state"] == "matched"
            assert customers["bt-weiskopf"]["issue"] == "missing_email"
            assert customers["bt-greenleaf"]["issue"] == "not_found"
            orders = {row["order_id"]: row for row in api("/invoices")["invoices"]}
            assert set(orders) == set(DEMO_ONLINE_ORDERS)
            assert all("Invoice creation is off" in (row["action"] or "") for row in orders.values())
        finally:
            fake_intuit.stop()
            store.dispose()
