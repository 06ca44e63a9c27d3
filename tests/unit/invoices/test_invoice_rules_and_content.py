"""When an invoice may go out, what the Action says when it may not, and what the InvoiceAdd carries.

Pure: the records an order refers to are handed in as a Catalog of unsaved model objects.
The InvoiceAdd data is rendered and checked against Intuit's XSD for every supported version.
"""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from lxml import etree

from qbwc_bridge.backends.desktop.qbxml import QbxmlVersion, render_message_set, render_request
from qbwc_bridge.backends.desktop.record_limits import invoice_data
from qbwc_bridge.errors import DataError
from qbwc_bridge.services.invoices import read_packed_order
from qbwc_bridge.store.models import Account, BtCustomer, BtItem, PackedOrder, QbCustomer, QbItem, QbTerms
from qbwc_bridge.operations import FoundInvoice
from qbwc_bridge.sync.invoices import (
    Catalog, InvoiceBlocked, SentContent, Verdict, action_text, blockers, build_invoice, external_guid, memo_marker, verdict,
)  # fmt: skip



def desktop_invoice(*args):
    """The invoice as Desktop sends it: the engine's NewInvoice in InvoiceAdd's keys."""
    return invoice_data(build_invoice(*args))


FILE_ID = "{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}"


def account(**changes) -> Account:
    fields = dict(id=1, file_id=FILE_ID, invoice_creation=True, default_terms_id="T-NET15")
    return Account(**{**fields, **changes})


def order(order_id: str = "o-1", **event_changes) -> PackedOrder:
    event = {
        "order_number": "SO-2024-000123", "customer_id": "C1", "packed_at": "2024-05-31T23:30:00-07:00",
        "po_number": "PO-77", "memo": "Leave at the back door",
        "ship_address": {"line1": "12 Dock Road", "line2": "Gate 3", "city": "Springfield", "state": "IL",
                         "postal_code": "62701"},
        "lines": [{"item_id": "I1", "quantity": "2", "unit_price": "9.99", "description": "Blue, large"},
                  {"item_id": "I2", "quantity": "0.25", "unit_price": "120"}],
        **event_changes,
    }  # fmt: skip
    event = read_packed_order(event)
    return PackedOrder(account_id=1, order_id=order_id, order_number=event["order_number"], payload=event)


def catalog(*, customer_terms: str | None = "T-NET30", customer: dict | None = None, items: dict | None = None,
            qb_items: dict | None = None, terms_active: bool = True) -> Catalog:  # fmt: skip
    customer_fields = {"customer_id": "C1", "name": "Harbor Hardware", "qb_list_id": "QC1",
                       "bill_address": {"line1": "1 Main St", "city": "Springfield"}, **(customer or {})}  # fmt: skip
    customers = {"C1": BtCustomer(**customer_fields)}
    bt_items = {
        "I1": BtItem(item_id="I1", sku="ABC-12", name="Bolt", qb_list_id="QI1"),
        "I2": BtItem(item_id="I2", sku="XYZ-9", name="Cable", qb_list_id="QI2"),
    }
    for item_id, changes in (items or {}).items():
        for key, value in changes.items():
            setattr(bt_items[item_id], key, value)
    return Catalog(
        customers=customers,
        items=bt_items,
        qb_customers={"QC1": QbCustomer(list_id="QC1", terms_list_id=customer_terms, is_active=True)},
        qb_items={key: QbItem(list_id=key, is_active=active) for key, active in (qb_items or {"QI1": True, "QI2": True}).items()},
        terms={"T-NET15": QbTerms(list_id="T-NET15", is_active=terms_active)},
    )


def test_a_fully_matched_order_becomes_this_invoice():
    data = desktop_invoice(account(), order(), catalog())
    assert data == {
        "customer_list_id": "QC1",
        "txn_date": dt.date(2024, 5, 31),  # the packer's local date, not UTC's June 1st
        "ref_number": "2024-000123",
        "bill_address": {"addr1": "1 Main St", "city": "Springfield"},
        "ship_address": {"addr1": "12 Dock Road", "addr2": "Gate 3", "city": "Springfield", "state": "IL",
                         "postal_code": "62701"},
        "po_number": "PO-77",
        "terms_list_id": None,  # the customer has its own terms: QuickBooks applies them
        "memo": f"BlueTrace order SO-2024-000123 (order id o-1) #{external_guid(account(), 'o-1').hex[:10]}"
                " - Leave at the back door",
        "external_guid": external_guid(account(), "o-1"),
        "lines": [
            {"item_list_id": "QI1", "desc": "Blue, large", "quantity": Decimal("2"), "rate": Decimal("9.99")},
            {"item_list_id": "QI2", "desc": None, "quantity": Decimal("0.25"), "rate": Decimal("120")},
        ],
    }  # fmt: skip


def test_the_general_tabs_terms_apply_only_when_the_customer_has_none():
    assert desktop_invoice(account(), order(), catalog(customer_terms=None))["terms_list_id"] == "T-NET15"
    assert desktop_invoice(account(default_terms_id=None), order(), catalog(customer_terms=None))["terms_list_id"] is None


def test_the_external_guid_is_stable_per_order_and_distinct_across_orders_and_accounts():
    guid = external_guid(account(), "o-1")
    assert isinstance(guid, uuid.UUID) and guid.version == 5
    assert guid == external_guid(account(), "o-1")
    assert guid != external_guid(account(), "o-2")
    assert guid != external_guid(account(file_id="{11111111-2222-3333-4444-555555555555}"), "o-1")


@pytest.mark.parametrize("version", ["13.0", "9.0", "8.0", "6.0", "5.0"])
def test_the_invoice_renders_valid_qbxml_for_every_supported_version(version, qbxml_schema):
    data = desktop_invoice(account(), order(), catalog(customer_terms=None))
    fragment = render_request("InvoiceAdd", "7.1", data, QbxmlVersion.parse(version))
    document = etree.fromstring(render_message_set([fragment], QbxmlVersion.parse(version)).encode("utf-8"))
    assert qbxml_schema.validate(document), qbxml_schema.error_log
    assert ("<ExternalGUID>" in fragment) == (QbxmlVersion.parse(version) >= QbxmlVersion(9, 0))
    assert "<RefNumber>2024-000123</RefNumber>" in fragment
    assert f"<Memo>{memo_marker(account(), order())} - Leave at the back door</Memo>" in fragment


@pytest.mark.parametrize("version", ["13.0", "5.0"])
def test_when_quickbooks_numbers_invoices_the_add_carries_no_refnumber_and_the_memo_keeps_the_order_number(
        version, qbxml_schema):
    spec = build_invoice(account(invoice_numbering="quickbooks"), order(), catalog())
    assert spec.number is None
    data = invoice_data(spec)
    assert data["ref_number"] is None and data["memo"].startswith("BlueTrace order SO-2024-000123 (order id o-1)")
    fragment = render_request("InvoiceAdd", "7.1", data, QbxmlVersion.parse(version))
    document = etree.fromstring(render_message_set([fragment], QbxmlVersion.parse(version)).encode("utf-8"))
    assert qbxml_schema.validate(document), qbxml_schema.error_log
    assert "RefNumber" not in fragment
    # An account that has not chosen (or was made before the setting) keeps the order number.
    assert build_invoice(account(invoice_numbering="order_number"), order(), catalog()).number == "SO-2024-000123"
    assert build_invoice(account(), order(), catalog()).number == "SO-2024-000123"


def test_text_quickbooks_cannot_store_is_refused_naming_the_field():
    data = desktop_invoice(account(), order(po_number="P" * 26), catalog())
    with pytest.raises(DataError) as caught:
        render_request("InvoiceAdd", "7.1", data)
    assert caught.value.field == "po_number" and "PO number" in caught.value.action
    data = desktop_invoice(account(), order(ship_address={"line1": "Hafen \u2192 Tor 3"}), catalog())
    with pytest.raises(DataError) as caught:
        render_request("InvoiceAdd", "7.1", data)
    assert caught.value.field == "ship_address.addr1" and "shipping address line 1" in caught.value.action


def test_a_long_memo_is_cut_from_the_end_so_the_marker_survives():
    data = desktop_invoice(account(), order(memo="x" * 4000), catalog())
    fragment = render_request("InvoiceAdd", "7.1", data)
    assert f"<Memo>{memo_marker(account(), order())} - xxx" in fragment


# -- blocked, with the exact fix ----------------------------------------------------------------


def actions(found) -> list[str]:
    return [blocker.action for blocker in found]


def test_nothing_blocks_a_fully_matched_order():
    assert blockers(account(), order(), catalog()) == []


def test_invoice_creation_off_blocks_and_says_where_to_turn_it_on():
    [blocker] = blockers(account(invoice_creation=False), order(), catalog())
    assert blocker.action.startswith("Invoice creation is off — turn it on in Settings > Integration (General tab)")


@pytest.mark.parametrize(
    "issue, expected",
    [
        ("not_found", "Item ABC-12 has no match in QuickBooks — enter its SKU or create it in QuickBooks (Items tab)."),
        (None, "Item ABC-12 has no match in QuickBooks — enter its SKU or create it in QuickBooks (Items tab)."),
        ("duplicate_match", "Several QuickBooks items carry the SKU of item ABC-12 — pick the right one (Items tab)."),
        ("duplicate_name", "Item ABC-12 could not be created in QuickBooks because the name is already used there "
                           "— rename it here or in QuickBooks (Items tab)."),
    ],
)  # fmt: skip
def test_an_unmatched_item_names_its_sku_and_the_fix(issue, expected):
    found = blockers(account(), order(), catalog(items={"I1": {"qb_list_id": None, "issue": issue}}))
    assert [(b.field, b.action) for b in found] == [("lines[0].item_id", expected)]


def test_an_item_whose_only_counterpart_is_inactive_says_so():
    detail = {"message": "...", "inactive": [{"quickbooks_id": "QI1", "name": "ABC-12"}]}
    found = blockers(account(), order(), catalog(items={"I1": {"qb_list_id": None, "issue": "not_found",
                                                               "issue_detail": detail}}))  # fmt: skip
    assert actions(found) == ["Item ABC-12 matches only an inactive QuickBooks item — make it active in QuickBooks and "
                              "click Re-sync, or pick another match (Items tab)."]  # fmt: skip


def test_an_item_without_a_sku_is_named_by_its_name():
    found = blockers(account(), order(), catalog(items={"I1": {"qb_list_id": None, "sku": None, "issue": "missing_sku"}}))
    assert actions(found) == ["Item Bolt has no SKU, so it has no match in QuickBooks — enter its SKU or create it in "
                              "QuickBooks (Items tab)."]  # fmt: skip


@pytest.mark.parametrize("issue, words", [
    ("missing_email", "Customer Harbor Hardware has no billing email"),
    ("not_found", "Customer Harbor Hardware has no match in QuickBooks — correct its billing email and Re-sync"),
    ("duplicate_match", "Customer Harbor Hardware shares its billing email with other customers"),
])  # fmt: skip
def test_an_unmatched_customer_is_named_with_the_fix(issue, words):
    [blocker] = blockers(account(), order(), catalog(customer={"qb_list_id": None, "issue": issue}))
    assert blocker.field == "customer_id" and blocker.action.startswith(words) and "(Customers tab)" in blocker.action


def test_records_bluetrace_never_sent_are_named_by_id():
    found = blockers(account(), order(customer_id="C9", lines=[{"item_id": "I9", "quantity": 1, "unit_price": 1}]),
                     catalog())  # fmt: skip
    assert [b.field for b in found] == ["customer_id", "lines[0].item_id"]
    assert "Customer C9 is unknown to the bridge" in found[0].action and "Item I9 is unknown" in found[1].action


def test_a_match_to_an_inactive_quickbooks_record_blocks():
    [blocker] = blockers(account(), order(), catalog(qb_items={"QI1": False, "QI2": True}))
    assert "Item ABC-12 is matched to a QuickBooks item that is inactive" in blocker.action


def test_default_terms_gone_from_quickbooks_block_only_customers_without_terms():
    assert blockers(account(), order(), catalog(terms_active=False)) == []
    [blocker] = blockers(account(), order(), catalog(customer_terms=None, terms_active=False))
    assert blocker.field == "settings.default_terms" and "(General tab)" in blocker.action


def test_an_item_being_created_means_waiting_not_blocked():
    [blocker] = blockers(account(), order(), catalog(items={"I2": {"qb_list_id": None, "pending": "creating"}}))
    assert blocker.waiting and blocker.action.startswith("Nothing to do: item XYZ-9 is being created in QuickBooks")


def test_an_item_on_several_lines_is_listed_once_and_many_fixes_are_counted():
    lines = [{"item_id": "I1", "quantity": 1, "unit_price": 1}] * 3
    assert len(blockers(account(), order(lines=lines), catalog(items={"I1": {"qb_list_id": None}}))) == 1
    many = [{"item_id": f"N{n}", "quantity": 1, "unit_price": 1} for n in range(8)]
    text = action_text(blockers(account(invoice_creation=False), order(lines=many), catalog()))
    assert text.count("\n") == 5 and text.endswith("... and 4 more fixes of the same kind (Items and Customers tabs).")


def test_building_a_blocked_order_raises_with_the_action():
    with pytest.raises(InvoiceBlocked) as caught:
        desktop_invoice(account(), order(), catalog(items={"I2": {"qb_list_id": None, "issue": "not_found"}}))
    assert caught.value.field == "lines[1].item_id"
    assert caught.value.action.startswith("Item XYZ-9 has no match in QuickBooks")


def test_the_memo_marker_names_number_and_id_and_a_token_of_account_and_order():
    marker = memo_marker(account(), order("8f3a"))
    assert marker.startswith("BlueTrace order SO-2024-000123 (order id 8f3a) #")
    token = marker.rsplit("#", 1)[1]
    assert len(token) == 10 and token == external_guid(account(), "8f3a").hex[:10]
    other_account = account(file_id="{11111111-2222-3333-4444-555555555555}")
    assert memo_marker(other_account, order("8f3a")) != marker  # order ids restart in a new account
    assert memo_marker(account(), order("8f3b")) != marker


def test_an_invoice_marked_for_another_order_is_never_ours_even_with_the_same_content():
    """A repeat order (same customer, date and lines) must not adopt the invoice of the order before it."""
    spec = build_invoice(account(), order("o-2"), catalog())
    earlier = build_invoice(account(), order("o-1"), catalog())
    found = FoundInvoice("T1", "2024-000123", earlier.note, None, spec.txn_date,
                         tuple((line.item_id, line.quantity, line.unit_price) for line in spec.lines),
                         spec.total.quantize(Decimal("0.01")), None)
    assert verdict(found, account(), order("o-2"), SentContent.of(spec)) is Verdict.NOT_OURS
    unmarked = FoundInvoice("T1", "2024-000123", "typed over by a bookkeeper", None, found.txn_date, found.lines,
                            found.total, None)
    assert verdict(unmarked, account(), order("o-2"), SentContent.of(spec)) is Verdict.SAME_CONTENT
    assert verdict(found, account(), order("o-1"), SentContent.of(earlier)) is Verdict.OURS


def test_the_content_judged_is_what_was_sent_not_what_the_order_says_now():
    """A price corrected after a lost write must not hide the invoice that write saved (marker typed over)."""
    sent_spec = build_invoice(account(), order("o-1"), catalog())
    kept = SentContent.from_payload(SentContent.of(sent_spec).as_payload())  # through the payload's JSON
    assert kept == SentContent.of(sent_spec)
    saved = FoundInvoice("T9", "1001", "typed over", None, sent_spec.txn_date, kept.lines, kept.total, None)
    corrected = build_invoice(account(), order("o-1", lines=[{"item_id": "I1", "quantity": "2", "unit_price": "8.99"}]),
                              catalog())
    assert verdict(saved, account(), order("o-1"), kept) is Verdict.SAME_CONTENT
    assert verdict(saved, account(), order("o-1"), SentContent.of(corrected)) is Verdict.NOT_OURS


def test_the_sent_total_rounds_each_line_to_the_cent_as_quickbooks_does():
    spec = build_invoice(account(), order("o-1", lines=[
        {"item_id": "I1", "quantity": "1", "unit_price": "0.005"},
        {"item_id": "I1", "quantity": "1", "unit_price": "0.005"}]), catalog())
    assert SentContent.of(spec).total == Decimal("0.02")  # 0.01 + 0.01, not round(0.010)
