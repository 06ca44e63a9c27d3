"""The General, Items, Customers and Invoices tabs over the shared services (Flask level)."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from markupsafe import escape

from qbwc_bridge.services import catalog, invoices
from qbwc_bridge.store.models import Account, BtItem, PackedOrder, QbAccount, QbCustomer, QbItem, QbTerms, SyncCursor
from qbwc_bridge.operations import InvoiceState, InvoiceStates
from qbwc_bridge.sync import deletions, invoice_states
from tests.integration.admin_pages import admin_app, client, people  # noqa: F401 (fixtures)


@pytest.fixture
def acme(store, people):
    """Acme's QuickBooks lists (as synced) and its BlueTrace items and customers, matched by the engine."""
    account_id = people.acme.account_id
    with store.begin() as db:
        db.get(Account, account_id).status = "connected"
        db.add_all([
            *(SyncCursor(account_id=account_id, list_name=name, initial_done=True)
              for name in ("terms", "accounts", "items", "customers")),
            QbTerms(account_id=account_id, list_id="T1", full_name="Net 30", days_due=30),
            QbAccount(account_id=account_id, list_id="A1", full_name="Sales", account_type="Income"),
            QbAccount(account_id=account_id, list_id="A2", full_name="Purchases", account_type="Expense"),
            QbItem(account_id=account_id, list_id="Q1", full_name="WIDGET-1", name="WIDGET-1", item_type="NonInventory"),
            QbItem(account_id=account_id, list_id="Q2", full_name="CABLE-5M", name="CABLE-5M", item_type="NonInventory"),
            QbCustomer(account_id=account_id, list_id="K1", full_name="Summit", name="Summit", email="x@shared.test"),
            QbCustomer(account_id=account_id, list_id="K2", full_name="Summit West", name="Summit West",
                       email="x@shared.test"),
        ])  # fmt: skip
        db.flush()
        catalog.upsert_item(db, account_id, "I1", {"sku": "WIDGET-1", "name": "Widget"})
        catalog.upsert_item(db, account_id, "I2", {"name": "<script>alert(1)</script> Hinge"})
        catalog.upsert_item(db, account_id, "I3", {"sku": "cable 5m", "name": "Cable"})
        for n in range(60):
            catalog.upsert_item(db, account_id, f"Z{n:02d}", {"sku": f"ZZ-{n:02d}", "name": f"Zinc part {n}"})
        catalog.upsert_customer(db, account_id, "C1", {"name": "Summit Builders", "billing_email": "x@shared.test"})
    return account_id


def _items(client, account_id, **query) -> str:
    response = client.get(f"/admin/accounts/{account_id}/items", query_string=query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _record_ids(page: str) -> list[str]:
    return re.findall(r'data-record-id="([^"]+)"', page)


def test_general_tab_offers_the_synced_lists_and_saves_them(client, people, acme, store):
    client.login(people.acme_bookkeeper)
    page = client.get(f"/admin/accounts/{acme}/general").get_data(as_text=True)
    assert '<option value="T1"' in page and '<option value="A1"' in page and 'optgroup label="Income"' in page
    response = client.post(f"/admin/accounts/{acme}/general",
                           {"default_terms": "T1", "ar_account": "A1", "ap_account": "A2", "invoice_creation": "on"})  # fmt: skip
    assert response.status_code == 302
    assert "General settings saved." in client.get(response.headers["Location"]).get_data(as_text=True)
    with store.begin() as db:
        account = db.get(Account, acme)
        assert (account.default_terms_id, account.ar_account_id, account.ap_account_id) == ("T1", "A1", "A2")
        assert account.invoice_creation is True


def test_general_tab_says_who_numbers_invoices_and_saves_it(client, people, acme, store):
    client.login(people.acme_bookkeeper)
    page = client.get(f"/admin/accounts/{acme}/general").get_data(as_text=True)
    assert '<label for="invoice_numbering">Invoice numbers</label>' in page
    assert '<option value="order_number" selected>The BlueTrace order number</option>' in page
    assert '<option value="quickbooks" >Let QuickBooks number them</option>' in page
    response = client.post(f"/admin/accounts/{acme}/general", {"invoice_numbering": "quickbooks"})
    assert "General settings saved." in client.get(response.headers["Location"]).get_data(as_text=True)
    with store.begin() as db:
        assert db.get(Account, acme).invoice_numbering == "quickbooks"
    page = client.get(f"/admin/accounts/{acme}/general").get_data(as_text=True)
    assert '<option value="quickbooks" selected>Let QuickBooks number them</option>' in page
    # Without the page's CSRF token nothing changes.
    refused = client.post(f"/admin/accounts/{acme}/general", {"invoice_numbering": "order_number"}, with_token=False)
    assert refused.status_code == 400
    with store.begin() as db:
        assert db.get(Account, acme).invoice_numbering == "quickbooks"
    response = client.post(f"/admin/accounts/{acme}/general", {"invoice_numbering": "someone"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'class="message error"' in page and "must be one of order_number, quickbooks" in page
    with store.begin() as db:
        assert db.get(Account, acme).invoice_numbering == "quickbooks"


def test_general_tab_sets_live_mode_minutes_for_a_desktop_account(client, people, acme, store):
    client.login(people.acme_bookkeeper)
    page = client.get(f"/admin/accounts/{acme}/general").get_data(as_text=True)
    assert ('<label for="live_mode">Live mode: keep the Web Connector session open for N minutes after its work'
            '</label>') in page
    assert re.search(r'<input type="number" id="live_mode" name="live_mode" min="0" max="480"[^>]*value="0"', page)
    response = client.post(f"/admin/accounts/{acme}/general", {"live_mode": "15"})
    assert "General settings saved." in client.get(response.headers["Location"]).get_data(as_text=True)
    with store.begin() as db:
        assert db.get(Account, acme).live_mode_minutes == 15
    assert 'value="15"' in client.get(f"/admin/accounts/{acme}/general").get_data(as_text=True)
    # Without the page's CSRF token nothing changes.
    refused = client.post(f"/admin/accounts/{acme}/general", {"live_mode": "0"}, with_token=False)
    assert refused.status_code == 400
    for wrong in ("481", "ten", "-5"):
        response = client.post(f"/admin/accounts/{acme}/general", {"live_mode": wrong})
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert 'class="message error"' in page and "must be a whole number from 0 to 480" in page
    with store.begin() as db:
        assert db.get(Account, acme).live_mode_minutes == 15
    response = client.post(f"/admin/accounts/{acme}/general", {"live_mode": ""})  # empty: off
    with store.begin() as db:
        assert db.get(Account, acme).live_mode_minutes == 0


def test_a_setting_quickbooks_lacks_is_refused_in_plain_words(client, people, acme, store):
    client.login(people.acme_bookkeeper)
    response = client.post(f"/admin/accounts/{acme}/general", {"ar_account": "NOPE", "invoice_creation": "on"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "QuickBooks has no account named" in page and 'class="message error"' in page
    with store.begin() as db:
        assert db.get(Account, acme).invoice_creation is False  # nothing of that form was saved


def test_items_tab_counts_filters_searches_and_pages(client, people, acme):
    client.login(people.acme_bookkeeper)
    page = _items(client, acme)
    assert "Missing SKU (1)" in page and "Not found in QuickBooks (61)" in page and "Any issue (62)" in page
    assert len(_record_ids(page)) == 50 and "Page 1 of 2" in page
    assert _record_ids(_items(client, acme, page=2))[-1] == "Z59"
    assert _record_ids(_items(client, acme, issue="missing_sku")) == ["I2"]
    assert _record_ids(_items(client, acme, q="zz-5")) == [f"Z5{n}" for n in range(10)]
    assert _record_ids(_items(client, acme, q="zinc part 1", issue="not_found")) == ["Z01"] + [f"Z1{n}" for n in range(10)]
    assert "No item matches" in _items(client, acme, q="nothing like it")
    refused = client.get(f"/admin/accounts/{acme}/items", query_string={"issue": "bogus"})
    assert refused.status_code == 422 and "issue" in refused.get_data(as_text=True)


def test_record_text_is_escaped(client, people, acme):
    client.login(people.acme_bookkeeper)
    page = _items(client, acme, issue="missing_sku")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; Hinge" in page


def test_entering_a_sku_matches_and_a_clash_names_the_other_item(client, people, acme, store):
    client.login(people.acme_bookkeeper)
    back = f"/admin/accounts/{acme}/items?issue=missing_sku"
    client.get(back)
    clash = client.post(f"/admin/accounts/{acme}/items/edit", {"record_id": "I2", "sku": "WIDGET-1", "back": back})
    assert clash.headers["Location"] == back
    assert "already used by item &#39;I1&#39; (Widget)" in client.get(back).get_data(as_text=True)
    client.post(f"/admin/accounts/{acme}/items/edit", {"record_id": "I2", "sku": "CABLE-5M", "back": back})
    with store.begin() as db:
        row = db.get(BtItem, (acme, "I2"))
        assert (row.sku, row.qb_list_id, row.issue) == ("CABLE-5M", "Q2", None)


def test_a_suggestion_is_accepted_and_a_match_undone(client, people, acme, store):
    client.login(people.acme_bookkeeper)
    page = _items(client, acme, q="cable")
    assert "Accept: CABLE-5M" in page and "SKU differs only in case, spaces or dashes" in page
    client.post(f"/admin/accounts/{acme}/items/match", {"record_id": "I3", "quickbooks_id": "Q2"})
    assert "picked by a person" in _items(client, acme, q="cable")
    client.post(f"/admin/accounts/{acme}/items/unmatch", {"record_id": "I3"})
    with store.begin() as db:
        assert db.get(BtItem, (acme, "I3")).qb_list_id is None


def test_create_in_quickbooks_before_the_general_tab_says_what_is_missing(client, people, acme, store):
    client.login(people.acme_bookkeeper)
    client.get(f"/admin/accounts/{acme}/items")
    response = client.post(f"/admin/accounts/{acme}/items/create", {"record_id": "Z01"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'class="message error"' in page and "AR" in page and "General" in page
    with store.begin() as db:
        assert db.get(BtItem, (acme, "Z01")).pending is None


def test_customers_duplicate_match_lists_the_pairs_to_pick(client, people, acme, store):
    client.login(people.acme_bookkeeper)
    page = client.get(f"/admin/accounts/{acme}/customers", query_string={"issue": "duplicate_match"}).get_data(as_text=True)
    assert "Pick: Summit<" in page and "Pick: Summit West<" in page
    client.post(f"/admin/accounts/{acme}/customers/match", {"record_id": "C1", "quickbooks_id": "K2"})
    page = client.get(f"/admin/accounts/{acme}/customers").get_data(as_text=True)
    assert "Summit West" in page and "Duplicate match (0)" in page


def test_sync_switches(client, people, acme, store):
    client.login(people.acme_bookkeeper)
    client.get(f"/admin/accounts/{acme}/items")
    client.post(f"/admin/accounts/{acme}/items/sync", {"sync": "on", "item_match_field": "manufacturer_part_number"})
    client.post(f"/admin/accounts/{acme}/customers/sync", {})
    with store.begin() as db:
        account = db.get(Account, acme)
        assert (account.items_sync, account.item_match_field, account.customers_sync) == (
            True, "manufacturer_part_number", False)  # fmt: skip


def test_invoices_tab_shows_status_reference_and_action(client, people, acme, store):
    from qbwc_bridge.services.invoices import record_packed_order

    with store.begin() as db:
        record_packed_order(db, acme, "O1", {"order_number": "1001", "customer_id": "C1", "packed_at": "2030-01-02",
                                             "lines": [{"item_id": "I2", "quantity": "1", "unit_price": "5"}]})  # fmt: skip
        record_packed_order(db, acme, "O2", {"order_number": "1002", "customer_id": "C1", "packed_at": "2030-01-02",
                                             "lines": [{"item_id": "I1", "quantity": "1", "unit_price": "5"}]})  # fmt: skip
        done = db.get(PackedOrder, (acme, "O2"))
        done.status, done.txn_id, done.ref_number, done.action = "created", "TX-1", "1002", None
    client.login(people.acme_bookkeeper)
    page = client.get(f"/admin/accounts/{acme}/invoices").get_data(as_text=True)
    assert "Blocked (1)" in page and "Created (1)" in page and "Invoice #1002" in page
    blocked = client.get(f"/admin/accounts/{acme}/invoices", query_string={"status": "blocked"}).get_data(as_text=True)
    assert 'data-order-id="O1"' in blocked and 'data-order-id="O2"' not in blocked
    with store.begin() as db:
        action = db.get(PackedOrder, (acme, "O1")).action
    lines = [line for line in action.splitlines() if line.strip()]
    assert len(lines) > 1 and any("Hinge has no SKU" in line for line in lines)  # every blocker on its own line
    assert all(f"<li>{escape(line)}</li>" in blocked for line in lines)
    retried = client.post(f"/admin/accounts/{acme}/invoices/retry", {"order_id": "O1"})
    assert "tried again" in client.get(retried.headers["Location"]).get_data(as_text=True)


def test_an_invoice_deleted_in_quickbooks_is_shown_plainly_with_the_choice_to_create_it_again(client, people, acme,
                                                                                             store):
    with store.begin() as db:
        invoices.record_packed_order(db, acme, "O3", {"order_number": "1003", "customer_id": "C1", "packed_at": "2030-01-02",
                                             "lines": [{"item_id": "I1", "quantity": "1", "unit_price": "5"}]})  # fmt: skip
        done = db.get(PackedOrder, (acme, "O3"))
        done.status, done.txn_id, done.ref_number, done.action = "created", "TX-3", "1003", None
        assert deletions.invoices_deleted(db, db.get(Account, acme), ["TX-3", "TX-unknown"]) == ["O3"]
    client.login(people.acme_bookkeeper)
    page = client.get(f"/admin/accounts/{acme}/invoices", query_string={"status": "deleted"}).get_data(as_text=True)
    assert "Deleted in QuickBooks (1)" in page and 'data-order-id="O3"' in page and "Invoice #1003" in page
    row = page[page.index('data-order-id="O3"'):]
    assert "Create it again" in row[:row.index("</tr>")]
    assert escape(deletions.DELETED_ERROR) in row


def test_the_invoices_tab_shows_paid_or_open_and_a_total_edited_in_quickbooks(client, people, acme, store):
    with store.begin() as db:
        account = db.get(Account, acme)
        for order_id, number in (("P1", "2001"), ("P2", "2002"), ("P3", "2003"), ("P4", "2004"), ("P5", "2005")):
            invoices.record_packed_order(db, acme, order_id, {
                "order_number": number, "customer_id": "C1", "packed_at": "2030-01-02",
                "lines": [{"item_id": "I1", "quantity": "2", "unit_price": "10"}]})
            done = db.get(PackedOrder, (acme, order_id))
            done.status, done.txn_id, done.ref_number, done.action = "created", f"TX-{order_id}", number, None
        invoice_states.apply(db, account, InvoiceStates((
            InvoiceState("TX-P2", Decimal("20"), Decimal("5"), False),
            InvoiceState("TX-P3", Decimal("20"), Decimal("0"), False),
            InvoiceState("TX-P4", Decimal("0"), Decimal("0"), True),
            InvoiceState("TX-P5", Decimal("25.50"), Decimal("25.50"), False),
            InvoiceState("TX-someone-else", Decimal("99"), Decimal("0"), False))))
    client.login(people.acme_bookkeeper)
    page = client.get(f"/admin/accounts/{acme}/invoices").get_data(as_text=True)
    assert "Paid / Open" in page

    def cell(order_id: str) -> str:
        row = page[page.index(f'data-order-id="{order_id}"'):]
        row = row[:row.index("</tr>")]
        return re.search(r'<td class="paid"[^>]*>(.*?)</td>', row, re.S).group(1).strip()

    assert [cell(o) for o in ("P1", "P2", "P3", "P4", "P5")] == [
        "Open", "Partly paid: 5.00 open", "Paid", "Voided", "Open"]
    edited = page[page.index('data-order-id="P5"'):]
    assert "QuickBooks total 25.50 (+5.50): edited in QuickBooks" in edited[:edited.index("</tr>")]
    untouched = page[page.index('data-order-id="P1"'):]
    assert "edited in QuickBooks" not in untouched[:untouched.index("</tr>")]
