"""The help article, clicked through in a real browser by a bookkeeper and by support staff.

"How do I setup the Quickbooks Integration": Settings > Integration, Connect,
QuickbooksDesktop and its connection steps, "Connecting" → "Connected", the General tab,
Items and Customers with every kind of match issue resolved from the page, and the
Invoices tab with an invoice created and another blocked with its Action until the
match is fixed. The Web Connector and QuickBooks are the simulator, fed the .qwc file
and the password the browser got; BlueTrace's backend is played through the JSON API.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import requests

from qbwc_bridge.backends.desktop.schema import schema_dir
from qbwc_bridge.services.accounts import create_account
from qbwc_bridge.services.users import create_user
from qbwc_bridge.simulator import FaultRule, Faults, RequestProcessor, WebConnector, company_from_description
from qbwc_bridge.store.models import Account

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "a long admin password"
COMPANY = {
    "company": {"name": "Acme Supply LLC"},
    "terms": [{"name": "Net 30", "due_days": 30}, {"name": "Net 15", "due_days": 15}],
    "vendors": [{"name": "Harbor Depot"}],  # a vendor holds the name a new customer wants: duplicate name
    "customers": [
        {"name": "Northwind Traders", "email": "ap@northwind.test", "terms": "Net 30"},
        {"name": "Summit Builders", "email": "orders@shared.test"},  # two customers, one mailbox: duplicate match
        {"name": "Summit Builders West", "email": "orders@shared.test"},
        {"name": "Cedar Works", "email": "books@cedar.test"},
    ],
    "items": [
        {"kind": "non_inventory", "name": "WIDGET-1", "price": "19.99", "account": "Sales"},
        {"kind": "service", "name": "Installation", "price": "75.00", "account": "Services"},
        {"kind": "non_inventory", "name": "CABLE-5M", "price": "3.50", "account": "Sales"},
        {"kind": "non_inventory", "name": "Bracket 200", "price": "4.00", "account": "Sales"},
    ],
}
ITEMS = {
    "I1": {"sku": "WIDGET-1", "name": "Widget"},  # matches by SKU
    "I2": {"name": "Installation service"},  # missing SKU
    "I3": {"sku": "cable 5m", "name": "Cable 5 m"},  # not found; CABLE-5M is suggested
    "I4": {"sku": "GADGET-7", "name": "Gadget"},  # not found: Create in QuickBooks
    "I5": {"sku": "Bracket-200", "name": "Bracket"},  # not found until renamed in QuickBooks: Re-sync
}
CUSTOMERS = {
    "C1": {"name": "Northwind Traders", "billing_email": "AP@northwind.test"},
    "C2": {"name": "Summit Builders", "billing_email": "orders@shared.test"},
    "C3": {"name": "Cedar Works"},  # missing billing email
    "C4": {"name": "Harbor Depot", "billing_email": "hello@harbor.test"},
}


class BlueTrace:
    """BlueTrace's backend: pushes records and packed orders through the JSON API."""

    def __init__(self, url: str, token: str):
        self.url, self.http = url + "/api/v1", requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def put(self, kind: str, record_id: str, data: dict) -> None:
        response = self.http.put(f"{self.url}/{kind}/{record_id}", json=data, timeout=30)
        assert response.status_code in (200, 201), response.text

    def packed(self, order_id: str, customer_id: str, lines: list[tuple[str, str]]) -> None:
        event = {"order_number": order_id, "customer_id": customer_id, "packed_at": "2030-05-01T10:00:00+00:00",
                 "lines": [{"item_id": item, "quantity": qty, "unit_price": "10.00"} for item, qty in lines]}  # fmt: skip
        response = self.http.post(f"{self.url}/orders/{order_id}/packed", json=event, timeout=30)
        assert response.status_code == 202, response.text


def _setup(bridge) -> dict:
    with bridge.store.begin() as db:
        acme = create_account(db, "Acme Supply", "desktop")
        globex = create_account(db, "Globex Traders", "desktop")
        create_user(db, "books@acme.test", PASSWORD, "bookkeeper", acme.account_id)
        create_user(db, "help@bluetrace.test", PASSWORD, "support")
    bluetrace = BlueTrace(bridge.url, acme.api_token)
    for item_id, data in ITEMS.items():
        bluetrace.put("items", item_id, data)
    for customer_id, data in CUSTOMERS.items():
        bluetrace.put("customers", customer_id, data)
    return {"acme": acme, "globex": globex, "bluetrace": bluetrace}


def _log_in(page, email: str) -> None:
    page.goto("/admin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _status(bridge, account_id: int) -> str:
    with bridge.store.begin() as db:
        return db.get(Account, account_id).status


def _tab(page, name: str) -> None:
    page.get_by_role("navigation", name="Integration tabs").get_by_role("link", name=name, exact=True).click()


def _row(page, record_id: str):
    return page.locator(f'tr[data-record-id="{record_id}"]')


def _run(connector, sessions: int = 1) -> None:
    for transcript in connector.run(sessions):
        assert transcript.errors == [] or "connectionError" in transcript.to_text(), transcript.to_text()


def test_a_bookkeeper_and_support_walk_the_help_article(bridge, browser, artifacts, shared_dir):
    from playwright.sync_api import expect

    world = _setup(bridge)
    acme, globex, bluetrace = world["acme"], world["globex"], world["bluetrace"]
    context = browser.new_context(base_url=bridge.url, accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()

    # 1. Settings > Integration: log in, not connected yet.
    _log_in(page, "books@acme.test")
    status = page.locator("#connection-status")
    expect(status).to_have_text("Not connected")
    artifacts(page, "01-not-connected")

    # 2. Click Connect; "Quickbooks" (Online) says this is a Desktop account; pick "QuickbooksDesktop".
    page.get_by_role("link", name="Connect", exact=True).click()
    artifacts(page, "02-connect")
    page.get_by_role("link", name="Quickbooks", exact=True).click()
    expect(page.get_by_text("was set up for QuickBooks Desktop")).to_be_visible()
    page.go_back()
    page.get_by_role("link", name="QuickbooksDesktop").click()
    expect(page.get_by_text("Yes, always; allow access even if QuickBooks is not running")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the .qwc file").click()
    qwc = Path(download.value.path()).read_bytes()
    assert download.value.suggested_filename == f"bluetrace-Acme-Supply-{acme.account_id}.qwc"
    page.get_by_role("button", name="Show a new Web Connector password").click()
    password = page.locator("#wc-password").inner_text().strip()
    artifacts(page, "03-password-shown-once")
    page.get_by_role("link", name="Done, go back").click()
    artifacts(page, "04-desktop-steps")

    # 3. The Web Connector adds the .qwc; on its first run QuickBooks is not running.
    company = company_from_description(COMPANY)
    faults = Faults(not_running=FaultRule(at=frozenset({1})), slow=FaultRule(at=frozenset({1})), slow_seconds=3.0)
    connector = WebConnector(RequestProcessor(company, schema_dir(shared_dir)), password=password, noop_pause=0,
                             faults=faults)  # fmt: skip
    added = connector.add_application(qwc)
    assert added.ok, added.to_text()
    connector.run_session()
    page.reload()
    expect(status).to_have_text("Error")
    expect(page.get_by_role("alert")).to_contain_text("QuickBooks")
    artifacts(page, "05-error-quickbooks-not-running")

    # 4. The next run: "Connecting" (with progress and counts), then "Connected" without reloading by hand.
    run = threading.Thread(target=connector.run_session, name="web connector")
    run.start()
    deadline = time.monotonic() + 20
    while _status(bridge, acme.account_id) != "connecting" and time.monotonic() < deadline:
        time.sleep(0.05)
    page.reload()
    expect(status).to_have_text("Connecting")
    expect(page.locator("#connect-progress")).to_be_visible()
    artifacts(page, "06-connecting")
    expect(status).to_have_text("Connected", timeout=30_000)  # the page polls its status and reloads
    run.join(timeout=30)
    artifacts(page, "07-connected")

    # 5. General tab: default terms, AR and AP accounts from the synced lists, invoice creation on.
    page.get_by_role("link", name="Back to the integration page").click()
    page.get_by_label("Default invoice payment terms").select_option(label="Net 30")
    page.get_by_label("AR account").select_option(label="Sales")
    page.get_by_label("AP account").select_option(label="Purchases")
    page.get_by_label("Invoice creation").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("General settings saved.")).to_be_visible()
    expect(page.get_by_label("AR account")).to_have_value(_list_id(bridge, acme.account_id, "Sales"))
    artifacts(page, "08-general-tab")

    # 6. Items tab: every item issue, resolved from the page.
    _tab(page, "Items")
    expect(page.get_by_role("link", name="Missing SKU (1)")).to_be_visible()
    expect(page.get_by_role("link", name="Not found in QuickBooks (3)")).to_be_visible()
    artifacts(page, "09-items-issues")
    _row(page, "I2").get_by_label("SKU of Installation service").fill("Installation")  # missing SKU: enter it
    _row(page, "I2").get_by_role("button", name="Save").click()
    expect(_row(page, "I2")).to_contain_text("Matched")
    _row(page, "I3").get_by_role("button", name="Accept: CABLE-5M").click()  # a suggestion
    expect(_row(page, "I3")).to_contain_text("picked by a person")
    _row(page, "I4").get_by_role("button", name="Create in QuickBooks").click()  # not found: create it
    expect(_row(page, "I4")).to_contain_text("Being created")
    company.rename(company.item_named("Bracket 200").stamp.id, "Bracket-200")  # fixed in QuickBooks...
    _row(page, "I5").get_by_role("button", name="Re-sync").click()  # ...then Re-sync
    expect(_row(page, "I5")).to_contain_text("Re-sync requested")
    page.get_by_label("Items sync").check()
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text("Items sync is on.")).to_be_visible()
    _run(connector)
    page.reload()
    expect(_row(page, "I4")).to_contain_text("created by BlueTrace")
    expect(_row(page, "I5")).to_contain_text("Matched")
    expect(page.get_by_role("link", name="Any issue (0)")).to_be_visible()
    artifacts(page, "10-items-resolved")

    # 7. Customers tab: missing email, duplicate match (pick the pair), duplicate name (rename and create).
    _tab(page, "Customers")
    _row(page, "C3").get_by_label("billing email of Cedar Works").fill("books@cedar.test")
    _row(page, "C3").get_by_role("button", name="Save").click()
    expect(_row(page, "C3")).to_contain_text("Matched")
    expect(_row(page, "C2")).to_contain_text("Duplicate match")
    _row(page, "C2").get_by_role("button", name="Pick: Summit Builders", exact=True).click()
    expect(_row(page, "C2")).to_contain_text("Matched")
    _row(page, "C4").get_by_role("button", name="Create in QuickBooks").click()
    _run(connector)
    page.reload()
    page.get_by_role("link", name="Duplicate name in QuickBooks (1)").click()
    artifacts(page, "11-customers-duplicate-name")
    _row(page, "C4").get_by_label("New name in QuickBooks").fill("Harbor Depot (store)")
    _row(page, "C4").get_by_role("button", name="Rename and create in QuickBooks").click()
    _run(connector)
    _tab(page, "Customers")
    expect(_row(page, "C4")).to_contain_text("Harbor Depot (store)")
    page.get_by_label("Customers sync").check()
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text("Customers sync is on.")).to_be_visible()
    expect(page.get_by_role("link", name="Any issue (0)")).to_be_visible()
    artifacts(page, "12-customers-resolved")
    assert company.customer_named("Harbor Depot (store)") is not None

    # 8. Invoices: one created, one blocked with its Action until the item is matched.
    bluetrace.put("items", "I6", {"name": "Brass hinge"})  # a new BlueTrace item without a SKU
    bluetrace.packed("1001", "C1", [("I1", "2")])
    bluetrace.packed("1002", "C2", [("I6", "1")])
    _run(connector)
    _tab(page, "Invoices")
    created, blocked = page.locator('tr[data-order-id="1001"]'), page.locator('tr[data-order-id="1002"]')
    expect(created).to_contain_text("Created")
    expect(created).to_contain_text("Invoice #1001")
    expect(blocked).to_contain_text("Blocked")
    expect(blocked.locator(".action")).to_contain_text("Brass hinge")
    artifacts(page, "13-invoices-blocked")
    _tab(page, "Items")
    page.get_by_role("link", name="Missing SKU (1)").click()
    _row(page, "I6").get_by_label("SKU of Brass hinge").fill("HINGE-9")
    _row(page, "I6").get_by_role("button", name="Save").click()
    for _ in range(3):  # the item is created in QuickBooks, then the invoice goes out by itself
        _run(connector)
        if company.invoices_by_ref("1002"):
            break
    _tab(page, "Invoices")
    expect(blocked).to_contain_text("Created")
    page.get_by_role("link", name="Created (2)").click()
    artifacts(page, "14-invoices-created")
    assert len(company.invoices_by_ref("1001")) == len(company.invoices_by_ref("1002")) == 1

    # 9. Refused: another account's page, and a form posted without its CSRF token.
    other = page.goto(f"/admin/accounts/{globex.account_id}/general")
    assert other.status == 404
    _tab_page = page.goto(f"/admin/accounts/{acme.account_id}/general")
    assert _tab_page.status == 200
    page.locator('form.settings input[name="csrf_token"]').evaluate("input => input.remove()")
    page.get_by_label("Invoice creation").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="This form was refused")).to_be_visible()
    page.goto(f"/admin/accounts/{acme.account_id}/general")
    expect(page.get_by_label("Invoice creation")).to_be_checked()  # nothing changed
    context.close()

    # 10. Support: every account, another account's .qwc, an exchange log.
    support = browser.new_context(base_url=bridge.url, accept_downloads=True)
    support.set_default_timeout(15_000)
    page = support.new_page()
    _log_in(page, "help@bluetrace.test")
    expect(page.get_by_role("heading", name="All accounts")).to_be_visible()
    globex_row = page.locator("tr", has_text="Globex Traders")
    with page.expect_download() as download:
        globex_row.get_by_role("link", name=".qwc file").click()
    assert globex.wc_username in Path(download.value.path()).read_text()
    artifacts(page, "15-support-accounts")
    page.once("dialog", lambda dialog: dialog.accept())  # "Make a new Web Connector password for ...?"
    globex_row.get_by_role("button", name="Reset the Web Connector password of Globex Traders").click()
    expect(page.locator("#wc-username")).to_have_text(globex.wc_username)
    assert page.locator("#wc-password").inner_text().strip() != globex.wc_password
    page.get_by_role("link", name="Done, go back").click()
    expect(page.get_by_role("heading", name="All accounts")).to_be_visible()
    page.locator("tr", has_text="Acme Supply").get_by_role("link", name="Acme Supply").click()
    page.get_by_role("link", name="Exchange log").first.click()
    expect(page.get_by_text("sendRequestXML").first).to_be_visible()
    page.locator("details summary").first.click()
    expect(page.locator("pre.xml").first).to_contain_text("<QBXML>")
    artifacts(page, "16-support-exchange-log")
    support.close()


def _list_id(bridge, account_id: int, name: str) -> str:
    from sqlalchemy import select

    from qbwc_bridge.store.models import QbAccount

    with bridge.store.begin() as db:
        return db.scalar(select(QbAccount.list_id).where(QbAccount.account_id == account_id, QbAccount.full_name == name))
