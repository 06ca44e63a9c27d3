"""QuickBooks Online JSON ↔ the engine's vocabulary (backends/online/entities.py), without HTTP."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from qbwc_bridge.backends.online import entities
from qbwc_bridge.errors import OurBug
from qbwc_bridge.operations import InvoiceLine, ItemKind, NewCustomer, NewInvoice, NewItem, SkuPlace


def invoice(**changes) -> NewInvoice:
    values = dict(order_id="o-1", customer_id="58", txn_date=dt.date(2026, 11, 30), number="SO-2026-000000000123456",
                  marker="BlueTrace order", note="BlueTrace order SO-… #abc", guid="g",
                  lines=(InvoiceLine("7", None, Decimal("3"), Decimal("0.335")),
                         InvoiceLine("8", "Cable", Decimal("1.5"), Decimal("9.99"))))
    values.update(changes)
    return NewInvoice(**values)


def test_an_invoice_carries_exact_amounts_the_last_21_characters_and_no_terms_unless_asked():
    body = entities.invoice_body(invoice())
    text = json.dumps(body)
    lines = json.loads(text, parse_float=Decimal)["Line"]  # what QuickBooks reads
    assert [(line["Amount"], line["SalesItemLineDetail"]["Qty"], line["SalesItemLineDetail"]["UnitPrice"])
            for line in lines] == [(Decimal("1.01"), 3, Decimal("0.335")), (Decimal("14.99"), Decimal("1.5"),
                                                                          Decimal("9.99"))]  # half up: 1.005, 14.985
    assert body["DocNumber"] == "2026-000000000123456"  # its last 21 characters, less the cut separator
    assert body["PrivateNote"] == "BlueTrace order SO-… #abc" and "SalesTermRef" not in body
    assert entities.invoice_body(invoice(terms_id="3"))["SalesTermRef"] == {"value": "3"}
    assert lines[1]["Description"] == "Cable" and lines[0]["DetailType"] == "SalesItemLineDetail"


@pytest.mark.parametrize("number, own_numbers, wanted", [
    ("SO-1", True, {"DocNumber": "SO-1"}),  # our number, in a company that takes one
    ("SO-1", False, {}),  # the company numbers every invoice itself: a DocNumber would be ignored
    (None, True, {"AutoDocNumber": True}),  # QuickBooks numbers it (General tab): ask for its next number
    (None, False, {}),
])
def test_the_number_is_ours_or_quickbooks_next_one(number, own_numbers, wanted):
    body = entities.invoice_body(invoice(number=number), own_numbers=own_numbers)
    assert {key: body[key] for key in ("DocNumber", "AutoDocNumber") if key in body} == wanted


def test_a_value_a_float_cannot_carry_exactly_is_refused_as_our_bug():
    assert entities.number(Decimal("12.00")) == 12 and entities.number(Decimal("0.1")) == 0.1
    with pytest.raises(OurBug):
        entities.number(Decimal("0.12345678901234567"))


def test_an_inventory_item_has_its_asset_account_tracking_and_start_date_and_the_sku_where_asked():
    spec = NewItem("i-1", "Stocked", ItemKind.INVENTORY, "INV-1", SkuPlace.SKU, "desc", Decimal("12.5"), None,
                   "10", "11", "12")
    body = entities.item_body(spec, dt.date(2026, 12, 3))
    assert body == {"Name": "Stocked", "Type": "Inventory", "Active": True, "IncomeAccountRef": {"value": "10"},
                    "Sku": "INV-1", "Description": "desc", "UnitPrice": 12.5, "ExpenseAccountRef": {"value": "11"},
                    "AssetAccountRef": {"value": "12"}, "TrackQtyOnHand": True, "QtyOnHand": 0,
                    "InvStartDate": "2026-12-03"}
    by_name = NewItem("i-2", "SVC-1", ItemKind.SERVICE, "SVC-1", SkuPlace.NAME, None, None, None, "10", "11")
    assert "Sku" not in entities.item_body(by_name, dt.date(2026, 12, 3))


def test_a_customer_carries_its_email_phone_and_addresses_in_qbo_fields():
    spec = NewCustomer("c-1", "Harbor Supply", company_name="Harbor Ltd", email="ap@harbor.test", phone="555",
                       bill_address={"line1": "1 Quay", "city": "Portland", "state": "OR", "postal_code": "97201",
                                     "country": "US"})
    assert entities.customer_body(spec) == {
        "DisplayName": "Harbor Supply", "Active": True, "CompanyName": "Harbor Ltd",
        "PrimaryEmailAddr": {"Address": "ap@harbor.test"}, "PrimaryPhone": {"FreeFormNumber": "555"},
        "BillAddr": {"Line1": "1 Quay", "City": "Portland", "CountrySubDivisionCode": "OR", "PostalCode": "97201",
                     "Country": "US"}}


def test_records_read_back_into_mirror_rows_and_found_invoices():
    item = {"Id": "7", "Name": "Widget", "Sku": " W-1 ", "Type": "NonInventory", "Active": False, "SyncToken": "2",
            "UnitPrice": 9.99, "MetaData": {"CreateTime": "2026-12-01T01:00:00-08:00",
                                            "LastUpdatedTime": "2026-12-02T01:00:00-08:00"}}
    row = entities.item_row(item)
    assert (row["list_id"], row["sku"], row["is_active"], row["edit_sequence"], row["sales_price"]) == (
        "7", "W-1", False, "2", Decimal("9.99"))
    assert row["time_modified"] == dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.timezone.utc)
    assert entities.account_row({"Id": "3", "Name": "COGS", "AccountType": "Cost of Goods Sold"})[
        "account_type"] == "CostOfGoodsSold"
    customer = entities.customer_row({"Id": "58", "DisplayName": "Harbor", "PrimaryEmailAddr": {"Address": "a@b"},
                                      "SalesTermRef": {"value": "3"}, "ParentRef": {"value": "57"}})
    assert (customer["name"], customer["email"], customer["terms_list_id"], customer["parent_list_id"]) == (
        "Harbor", "a@b", "3", "57")
    found = entities.found_invoice({
        "Id": "130", "DocNumber": "SO-1", "PrivateNote": "ours", "TxnDate": "2026-11-30", "TotalAmt": 19.98,
        "MetaData": {"CreateTime": "2026-12-01T01:00:00-08:00"},
        "Line": [{"DetailType": "SalesItemLineDetail", "Amount": 19.98,
                  "SalesItemLineDetail": {"ItemRef": {"value": "7"}, "Qty": 2, "UnitPrice": 9.99}},
                 {"DetailType": "SubTotalLineDetail", "Amount": 19.98, "SubTotalLineDetail": {}}]})
    assert found.lines == (("7", Decimal("2"), Decimal("9.99")),) and found.total == Decimal("19.98")
    assert (found.note, found.guid, found.txn_date) == ("ours", None, dt.date(2026, 11, 30))
    # With VAT (or US sales tax) TotalAmt holds the tax: the total judged is the lines' own, as sent.
    taxed = entities.found_invoice({
        "Id": "131", "TxnDate": "2026-11-30", "TotalAmt": 23.98,
        "Line": [{"DetailType": "SalesItemLineDetail", "Amount": 19.98,
                  "SalesItemLineDetail": {"ItemRef": {"value": "7"}, "Qty": 2, "UnitPrice": 9.99,
                                          "TaxCodeRef": {"value": "4"}}},
                 {"DetailType": "SubTotalLineDetail", "Amount": 19.98, "SubTotalLineDetail": {}}],
        "TxnTaxDetail": {"TotalTax": 4.00}})
    assert taxed.total == Decimal("19.98")


def test_the_tax_code_goes_on_every_line_and_none_is_sent_without_one():
    body = entities.invoice_body(invoice(tax_code_id="4"))
    assert all("TaxCodeRef" not in line["SalesItemLineDetail"] for line in body["Line"])  # the backend decides
    entities.set_tax_code(body, "4")
    assert [line["SalesItemLineDetail"]["TaxCodeRef"] for line in body["Line"]] == [{"value": "4"}] * 2
    untaxed = entities.invoice_body(invoice())
    entities.set_tax_code(untaxed, None)
    assert all("TaxCodeRef" not in line["SalesItemLineDetail"] for line in untaxed["Line"])


def test_a_tax_code_reads_into_a_mirror_row_and_a_hidden_one_is_never_offered():
    record = {"Id": "4", "SyncToken": "0", "Name": "20.0% S", "Description": "Standard rate", "Active": True,
              "Hidden": False, "Taxable": True, "MetaData": {"LastUpdatedTime": "2026-12-03T01:40:00-08:00"}}
    row = entities.tax_code_row(record)
    assert (row["list_id"], row["full_name"], row["description"], row["is_active"]) == ("4", "20.0% S",
                                                                                     "Standard rate", True)
    assert row["time_modified"] == dt.datetime(2026, 12, 3, 9, 40, tzinfo=dt.timezone.utc)
    assert entities.tax_code_row({**record, "Hidden": True})["is_active"] is False
