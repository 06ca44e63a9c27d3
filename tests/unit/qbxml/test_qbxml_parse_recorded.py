"""Real QuickBooks responses (shared/fixtures/recorded) read into the results the sync engine acts on."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest

from qbwc_bridge.backends.desktop.qbxml import QbxmlParseError, parse_response
from qbwc_bridge.backends.desktop.status import Outcome
from tests.unit.qbxml.conftest import unwrap_soap


def test_customer_add_ok(recorded):
    (response,) = parse_response((recorded / "qbxml-CustomerAddRs-ok.xml").read_bytes())
    assert (response.rs_type, response.request_id, response.status.code) == ("CustomerAddRs", None, 0)
    assert response.status.outcome is Outcome.OK
    (customer,) = response.records
    assert customer.ret_type == "CustomerRet"
    assert customer.get("ListID") == "8000001B-1405768916"
    assert customer.get("EditSequence") == "1405768916"
    assert customer.get("BillAddress") == {"Addr1": "123 Main St.", "City": "Mountain View", "State": "CA",
                                           "PostalCode": "94566"}  # fmt: skip
    assert customer.decimal("CreditLimit") == Decimal("2000.00")
    assert customer.get("JobStatus") == "None"


def test_3120_object_not_found(recorded):
    (response,) = parse_response((recorded / "qbxml-CustomerQueryRs-3120-error.xml").read_bytes())
    assert response.records == []
    assert (response.status.code, response.status.severity) == (3120, "Error")
    assert response.status.outcome is Outcome.NEEDS_PERSON
    assert 'Object "8000001B-1405768916" specified in the request cannot be found' in response.status.message
    assert "cannot find" in response.status.explanation


def test_500_warning_means_not_found(recorded):
    (response,) = parse_response((recorded / "qbxml-CustomerQueryRs-500-warn.xml").read_bytes())
    assert (response.status.code, response.status.severity) == (500, "Warn")
    assert response.status.outcome is Outcome.NOT_FOUND
    assert '("bleech")' in response.status.message


def test_soap_wrapped_invoice_add(recorded):
    (response,) = parse_response(unwrap_soap(recorded / "soap-receiveResponseXML-InvoiceAddRs-ok.xml"))
    (invoice,) = response.records
    assert invoice.ret_type == "InvoiceRet"
    assert (invoice.get("TxnID"), invoice.get("RefNumber")) == ("C5-1417118624", "R1TT46883")
    assert invoice.get("CustomerRef.ListID") == "80000013-1416570432"
    (line,) = invoice.get("InvoiceLineRet")  # always a list, even with one line
    assert line["ItemRef"]["FullName"] == "SPREE-T-SHIRT"
    assert (line["Quantity"], line["Rate"], line["Amount"]) == ("2", "103.00", "206.00")
    assert invoice.decimal("BalanceRemaining") == Decimal("206.00")


def test_soap_wrapped_item_inventory_query(recorded):
    path = recorded / "soap-receiveResponseXML-ItemInventoryQueryRs.xml"
    expected_count = path.read_text(encoding="utf-8").count("&lt;ItemInventoryRet&gt;")
    (response,) = parse_response(unwrap_soap(path))
    assert response.status.outcome is Outcome.OK
    assert len(response.records) == expected_count > 10
    assert {r.ret_type for r in response.records} == {"ItemInventoryRet"}
    by_name = {r.get("Name"): r for r in response.records}
    assert by_name["Haskell T-Shirt"].decimal("SalesPrice") == Decimal("55.00")
    assert by_name["Haskell T-Shirt"].get("SalesDesc") == "WOW"
    assert by_name["Haskell T-Shirt"].get("AssetAccountRef.FullName") == "Inventory Asset"
    assert response.records[0].get("Name") == "12797"


def test_soap_wrapped_duplicate_name_3100_keeps_request_id(recorded):
    (response,) = parse_response(unwrap_soap(recorded / "soap-receiveResponseXML-ItemServiceAddRs-3100.xml"))
    assert response.request_id == "SXRlbVNlcnZpY2VBZGR8c2hpcHBpbmc="
    assert response.status.code == 3100 and response.status.outcome is Outcome.NEEDS_PERSON
    assert 'The name "Shipping Item - QuickBooks Inte" of the list element is already in use.' == response.status.message
    assert "already used" in response.status.explanation


def test_soap_wrapped_receive_payment(recorded):
    (response,) = parse_response(unwrap_soap(recorded / "soap-receiveResponseXML-ReceivePaymentAddRs.xml"))
    assert response.request_id == "0bb737ee-2862-4ab7-8d35-f551f84793c9"
    assert response.records[0].decimal("TotalAmount") == Decimal("210.00")


def test_continue_on_error_set_answers_each_request_in_order(recorded):
    responses = parse_response(unwrap_soap(recorded / "soap-receiveResponseXML-continueOnError-3140.xml"))
    assert [(r.rs_type, r.status.code, len(r.records)) for r in responses] == [
        ("ItemInventoryQueryRs", 1, 0),
        ("ItemInventoryQueryRs", 1, 0),
        ("SalesOrderAddRs", 0, 1),
        ("SalesOrderAddRs", 3140, 0),
    ]
    assert [r.status.outcome for r in responses] == [Outcome.EMPTY, Outcome.EMPTY, Outcome.OK, Outcome.NEEDS_PERSON]
    assert responses[2].records[0].get("SalesOrderLineRet")[0]["Desc"] == "SPREE-T-SHIRT"
    assert "nononononoImNotThereAlrightDylan" in responses[3].status.message


def test_malformed_hcp_sample_fails_cleanly(recorded):
    with pytest.raises(QbxmlParseError) as caught:
        parse_response((recorded / "qbxml-HCP-response-QBPro2014-redacted-NOT-WELL-FORMED.xml").read_bytes())
    error = caught.value
    assert (error.line, error.column) == (1, 4354)
    assert "not well-formed" in str(error) and "lxml" not in str(error)
    assert error.__cause__ is None and error.__suppress_context__  # no lxml traceback attached
    assert error.action and error.explanation


@pytest.mark.parametrize("as_source", [bytes, lambda b: b.decode("utf-8"), io.BytesIO], ids=["bytes", "str", "file"])
def test_bytes_text_and_files_read_the_same(recorded, as_source):
    raw = (recorded / "qbxml-CustomerAddRs-ok.xml").read_bytes()
    assert parse_response(as_source(raw)) == parse_response(raw)
