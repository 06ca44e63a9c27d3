"""A bookkeeper connects QuickBooks Online in a real browser: Connect → Quickbooks → Intuit's (fake)
consent page → back to the integration page, Connecting, the connection card; then Disconnect. And,
once the worker has synced, the four tabs of an Online company: General, Items (matched on the
Sku), Customers (on the billing email) and an invoice created in QuickBooks Online."""
from __future__ import annotations

import pytest

from qbwc_bridge.backends.push import PushDriver
from qbwc_bridge.fake_qbo import FakeIntuit, serve
from qbwc_bridge.services import catalog, invoices
from qbwc_bridge.services.users import create_user
from qbwc_bridge.store.models import QboConnection
from qbwc_bridge.worker import Worker
from tests.online.connect_world import CLIENT_ID, CLIENT_SECRET, serve_world

expect = pytest.importorskip("playwright.sync_api").expect

REALM = "9130350000000001"
EMAIL, PASSWORD = "books@acme-online.test", "correct horse battery"


def test_connect_through_intuits_consent_page_and_disconnect(browser, artifacts, tmp_path):
    intuit = FakeIntuit()
    intuit.add_company(REALM, "Sandbox Company US")
    database_url = f"sqlite:///{(tmp_path / 'bridge.sqlite3').as_posix()}"
    with serve(intuit) as fake, serve_world(database_url, tmp_path / "var", fake.url) as world:
        intuit.register_app(CLIENT_ID, CLIENT_SECRET, [world.url + "/qbo/callback"])
        with world.store.begin() as db:
            create_user(db, EMAIL, PASSWORD, "bookkeeper", world.online.account_id)
        context = browser.new_context(base_url=world.url)
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.goto("/admin")
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("#connection-status")).to_have_text("Not connected")

        page.get_by_role("link", name="Connect", exact=True).click()
        page.get_by_role("button", name="Quickbooks", exact=True).click()
        expect(page.get_by_text("Connect your QuickBooks company")).to_be_visible()  # Intuit's page
        artifacts(page, "online-01-intuit-consent")
        page.get_by_role("button", name="Connect", exact=True).click()

        expect(page).to_have_url(f"{world.url}/admin/accounts/{world.online.account_id}/general")
        expect(page.locator("#connection-status")).to_have_text("Connecting")
        expect(page.get_by_text(f"QuickBooks Online company {REALM} connected.")).to_be_visible()
        card = page.locator("#connection-card")
        expect(card).to_contain_text("Sandbox Company US")
        expect(card).to_contain_text(REALM)
        expect(card).to_contain_text("Sandbox")
        artifacts(page, "online-02-connecting")

        page.get_by_role("button", name="Disconnect").click()
        expect(page.get_by_text("Disconnected from QuickBooks.")).to_be_visible()
        expect(page.locator("#connection-status")).to_have_text("Not connected")
        expect(page.locator("#connection-card")).to_have_count(0)
        with world.store.begin() as db:
            assert db.get(QboConnection, world.online.account_id) is None
        assert intuit.authorization.grants[0].revoked
        context.close()


def _tab(page, name: str) -> None:
    page.get_by_role("navigation", name="Integration tabs").get_by_role("link", name=name, exact=True).click()


def test_an_online_company_walks_the_four_tabs_after_the_worker_synced(browser, artifacts, tmp_path):
    intuit = FakeIntuit()
    company = intuit.add_company(REALM, "Sandbox Company US")
    company.add_item("Widget, blue", sku="W-1", unit_price="9.50")
    company.add_customer("Harbor Supply", email="ap@harbor.test")
    database_url = f"sqlite:///{(tmp_path / 'bridge.sqlite3').as_posix()}"
    with serve(intuit) as fake, serve_world(database_url, tmp_path / "var", fake.url) as world:
        intuit.register_app(CLIENT_ID, CLIENT_SECRET, [world.url + "/qbo/callback"])
        account_id = world.online.account_id
        driver = PushDriver(world.settings)
        worker = Worker(world.store, due=driver.due_accounts, drive=driver.drive_account)
        with world.store.begin() as db:
            create_user(db, EMAIL, PASSWORD, "bookkeeper", account_id)
            catalog.upsert_item(db, account_id, "I1", {"sku": "W-1", "name": "Blue widget"})
            catalog.upsert_customer(db, account_id, "C1", {"name": "Harbor", "billing_email": "AP@harbor.test"})
        context = browser.new_context(base_url=world.url)
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.goto("/admin")
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("link", name="Connect", exact=True).click()
        page.get_by_role("button", name="Quickbooks", exact=True).click()
        page.get_by_role("button", name="Connect", exact=True).click()
        expect(page.locator("#connection-status")).to_have_text("Connecting")

        worker.run_once()  # the initial sync, over REST to the fake
        page.reload()
        expect(page.locator("#connection-status")).to_have_text("Connected")
        page.get_by_label("Default invoice payment terms").select_option(label="Net 30")
        page.get_by_label("AR account").select_option(label="Sales of Product Income")
        page.get_by_label("AP account").select_option(label="Cost of Goods Sold")
        page.get_by_label("Invoice creation").check()
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("General settings saved.")).to_be_visible()
        artifacts(page, "online-03-general")

        _tab(page, "Items")
        expect(page.locator('tr[data-record-id="I1"]')).to_contain_text("Matched")
        expect(page.get_by_role("link", name="Any issue (0)")).to_be_visible()
        _tab(page, "Customers")
        expect(page.locator('tr[data-record-id="C1"]')).to_contain_text("Matched")
        artifacts(page, "online-04-customers")

        with world.store.begin() as db:
            invoices.record_packed_order(db, account_id, "o-1", {
                "order_number": "SO-1001", "customer_id": "C1", "packed_at": "2026-11-30T15:00:00-05:00",
                "lines": [{"item_id": "I1", "quantity": "2", "unit_price": "9.50"}]})
        worker.run_once()
        _tab(page, "Invoices")
        created = page.locator('tr[data-order-id="o-1"]')
        expect(created).to_contain_text("Created")
        expect(created).to_contain_text("SO-1001")
        artifacts(page, "online-05-invoices")
        assert [invoice["DocNumber"] for invoice in intuit.invoices(REALM)] == ["SO-1001"]
        context.close()
