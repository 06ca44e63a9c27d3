"""Issue computation and the Desktop list-sync translation, without a database."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from qbwc_bridge.operations import (FoundInvoice, ItemKind, KeyKind, ListName, ListPull, NewItem, OperationKind,
                                    RecordLookup, SkuPlace)
from qbwc_bridge.backends.desktop import list_sync, record_limits, rows
from qbwc_bridge.backends.desktop.qbxml import QbxmlRecord, QbxmlResponse, parse_response, render_request
from qbwc_bridge.backends.desktop.status import explain_status
from qbwc_bridge.domain import IssueType, ItemMatchField
from qbwc_bridge.sync import facts, records
from qbwc_bridge.sync.matching import Candidate, Decision


def state(decision, current=(None, None, None, None), key="W-1", side=facts.ITEMS, field=ItemMatchField.NAME):
    qb_list_id, matched_by, issue, detail = current
    return records._new_state(side, decision, key, qb_list_id, matched_by, issue, detail, field)


def test_a_match_is_auto_unless_a_person_or_the_bridge_pinned_it():
    assert state(Decision("Q1", None)) == {"qb_list_id": "Q1", "matched_by": "auto", "issue": None, "issue_detail": None}
    assert state(Decision("Q1", None, pinned=True), ("Q1", "manual", None, None))["matched_by"] == "manual"
    assert state(Decision("Q1", None, pinned=True), ("Q1", "created", None, None))["matched_by"] == "created"


def test_duplicate_name_sticks_until_the_record_matches_and_a_rejection_is_remembered():
    sticky = {"message": "QuickBooks already uses the name", "attempted_name": "W-1"}
    kept = state(Decision(None, IssueType.NOT_FOUND), (None, None, "duplicate_name", sticky))
    assert (kept["issue"], kept["issue_detail"]) == ("duplicate_name", sticky)
    assert state(Decision("Q2", None), (None, None, "duplicate_name", sticky))["issue"] is None
    rejected = state(Decision(None, IssueType.NOT_FOUND), (None, None, "not_found", {"rejected": ["Q1"]}))
    assert rejected["issue_detail"]["rejected"] == ["Q1"]


def test_issue_messages_say_what_happened_and_what_to_do():
    candidates = (Candidate("Q9", "W 1", "W 1", "similar_sku"),)
    detail = records.describe(facts.ITEMS, Decision(None, IssueType.NOT_FOUND, candidates=candidates), "W-1",
                              ItemMatchField.MANUFACTURER_PART_NUMBER)
    assert detail["message"] == "No QuickBooks item has \u201cW-1\u201d as its manufacturer part number."
    assert "Re-sync" in detail["action"] and "Create in QuickBooks" in detail["action"]
    assert detail["candidates"] == [{"quickbooks_id": "Q9", "name": "W 1", "sku": "W 1", "reason": "similar_sku"}]
    inactive = Decision(None, IssueType.NOT_FOUND, inactive=(Candidate("Q3", "W-1", "W-1", "inactive"),))
    assert "active in QuickBooks" in records.describe(facts.ITEMS, inactive, "W-1", ItemMatchField.NAME)["action"]
    shared = Decision(None, IssueType.DUPLICATE_MATCH, candidates=(Candidate("A", "Ann", "ap@x.test", "same_email"),
                                                                    Candidate("B", "Bob", "ap@x.test", "same_email")),
                      shared_with=("c2",))
    detail = records.describe(facts.CUSTOMERS, shared, " ap@x.test", ItemMatchField.NAME)
    assert "2 QuickBooks customers" in detail["message"] and "c2" in detail["message"]
    assert detail["shared_with"] == ["c2"] and detail["candidates"][0]["email"] == "ap@x.test"
    missing = records.describe(facts.CUSTOMERS, Decision(None, IssueType.MISSING_EMAIL), None, ItemMatchField.NAME)
    assert "billing email" in missing["message"]


def test_payloads_survive_the_outbox_as_json():
    pull = ListPull(ListName.ITEMS, "incremental", dt.datetime(2024, 3, 10, 1, 50, tzinfo=dt.timezone.utc),
                    dt.datetime(2024, 3, 10, 3, tzinfo=dt.timezone.utc))
    assert ListPull.from_payload(pull.to_payload()) == pull
    lookup = RecordLookup("i1", keys=((KeyKind.NAME, "W-1"), (KeyKind.SKU, "Widget")))
    assert RecordLookup.from_payload(json.loads(json.dumps(lookup.to_payload()))) == lookup
    spec = NewItem("i1", "W-1", ItemKind.SERVICE, "W-1", SkuPlace.NAME, "Blue", Decimal("4.25000"), None, "80-1", "81-1")
    again = NewItem.from_payload(json.loads(json.dumps(spec.to_payload())))
    assert again == spec
    assert record_limits.add_request(again) == ("ItemServiceAdd", {
        "name": "W-1", "is_active": True, "sales_desc": "Blue", "sales_price": Decimal("4.25000"),
        "income_account_list_id": "80-1", "purchase_desc": "Blue", "expense_account_list_id": "81-1"})


def test_pulls_ask_for_every_record_changed_since_the_mark_and_for_inactive_ones():
    since = dt.datetime(2024, 3, 10, 1, 50, tzinfo=dt.timezone.utc)
    payload = ListPull(ListName.CUSTOMERS, "incremental", since, since).to_payload()
    request_type, data = list_sync.BACKEND.build(OperationKind.SYNC_CUSTOMERS, payload)
    xml = render_request(request_type, "1", {**data, "iterator": "Start"})
    assert 'iterator="Start"' in xml and "<ActiveStatus>All</ActiveStatus>" in xml
    assert "<FromModifiedDate>2024-03-10T01:50:00+00:00</FromModifiedDate>" in xml
    assert "<IncludeRetElement>ParentRef</IncludeRetElement>" in xml
    request_type, data = list_sync.BACKEND.build(OperationKind.RESYNC_ITEM, RecordLookup("i", ids=("80-1",)).to_payload())
    assert (request_type, data["list_ids"]) == ("ItemQuery", ["80-1"])


def test_answers_become_mirror_rows_created_records_or_refusals():
    item = QbxmlRecord("ItemNonInventoryRet", {
        "ListID": "80-1", "EditSequence": "7", "TimeModified": "2024-03-10T09:15:00-05:00", "Name": "W-1",
        "FullName": "Hardware:W-1", "IsActive": "false", "ManufacturerPartNumber": "MPN",
        "SalesAndPurchase": {"SalesDesc": "Blue", "SalesPrice": "4.50"}})
    page = list_sync.BACKEND.read(OperationKind.SYNC_ITEMS, {}, QbxmlResponse(
        "ItemQueryRs", "1", explain_status(0, "Info", "Status OK"), "{it}", 3, [item]))
    row = page.rows[0]
    assert page.remaining == 3
    assert (row["list_id"], row["item_type"], row["is_active"], row["sales_price"]) == ("80-1", "NonInventory", False,
                                                                                        Decimal("4.50"))
    assert row["time_modified"] == dt.datetime(2024, 3, 10, 14, 15, tzinfo=dt.timezone.utc)
    refused = list_sync.BACKEND.read(OperationKind.CREATE_CUSTOMER, {}, QbxmlResponse(
        "CustomerAddRs", "2", explain_status(3100, "Error", 'The name "Harbor" of the list element is already in use.')))
    assert refused.duplicate_name and refused.code == "3100" and "Harbor" in refused.quickbooks_message


def test_names_quickbooks_could_not_hold_are_not_looked_up():
    names = record_limits.queryable_names(ListName.ITEMS, ["W-1", " w-1 ", "", None, "x" * 200, "Caf\u00e9", "\u4e2d"])
    assert names == ["W-1", "Caf\u00e9"]


def test_a_desktop_invoice_is_read_into_the_engines_terms_for_the_verdict():
    """One InvoiceLineRet, as QuickBooks answers the look-up, read from the wire (a lone line is still a list)."""
    (response,) = parse_response(
        '<?xml version="1.0"?><QBXML><QBXMLMsgsRs><InvoiceQueryRs requestID="4.2" statusCode="0" '
        'statusSeverity="Info" statusMessage="Status OK"><InvoiceRet><TxnID>7A-1</TxnID><TxnDate>2024-05-31</TxnDate>'
        '<RefNumber>000123</RefNumber><Subtotal>19.98</Subtotal><Memo>typed over</Memo><InvoiceLineRet>'
        '<TxnLineID>1</TxnLineID><ItemRef><ListID>QI1</ListID></ItemRef><Quantity>2</Quantity><Rate>9.99</Rate>'
        '</InvoiceLineRet></InvoiceRet></InvoiceQueryRs></QBXMLMsgsRs></QBXML>')
    found = rows.found_invoice(response.records[0])
    assert found == FoundInvoice("7A-1", "000123", "typed over", None, dt.date(2024, 5, 31),
                                 (("QI1", Decimal("2"), Decimal("9.99")),), Decimal("19.98"), None)
