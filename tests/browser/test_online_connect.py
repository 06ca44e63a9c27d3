"""A bookkeeper connects QuickBooks Online in a real browser: Connect → Quickbooks → Intuit's (fake)
consent page → back to the integration page, Connecting, the connection card; then Disconnect."""
from __future__ import annotations

import pytest

from qbwc_bridge.fake_qbo import FakeIntuit, serve
from qbwc_bridge.services.users import create_user
from qbwc_bridge.store.models import QboConnection
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
