"""The fake's answers have the keys of the recorded QuickBooks Online answers (shared/fixtures/qbo-recorded)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from qbwc_bridge.fake_qbo import FakeIntuit, ManualClock

from tests.fake_qbo.intuit_client import REALM, Connection

METADATA_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
ENVELOPE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")
ADDRESS = {"Line1": "4581 Finch St.", "City": "Bayshore", "CountrySubDivisionCode": "CA", "PostalCode": "94326"}


def load(folder: Path, name: str) -> dict:
    return json.loads((folder / name).read_text())


@pytest.fixture
def company(intuit: FakeIntuit):
    return intuit.company(REALM)


def test_a_created_customer_has_the_recorded_keys_and_time_formats(qbo: Connection, recorded: Path):
    expected = load(recorded, "minimul__qbo_api__spec_vcr_create_customer.yml__0.json")
    answer = qbo.post("customer", {"DisplayName": "Doe5, Jane"}, request_id="r1").json()
    assert set(answer) == set(expected)
    # DefaultTaxCodeRef comes from the recorded sandbox's automated sales tax, which the fake does not model.
    assert set(expected["Customer"]) - {"DefaultTaxCodeRef"} <= set(answer["Customer"])
    assert METADATA_TIME.match(answer["Customer"]["MetaData"]["CreateTime"])
    assert ENVELOPE_TIME.match(answer["time"])
    assert answer["Customer"]["Id"].isdigit() and answer["Customer"]["SyncToken"] == "0"


def test_a_created_invoice_has_the_recorded_keys_and_lines(qbo: Connection, company, recorded: Path):
    expected = load(recorded, "minimul__qbo_api__spec_vcr_create_invoice.yml__0.json")["Invoice"]
    customer = company.add_customer("Amy's Bird Sanctuary", bill_addr=ADDRESS, ship_addr=ADDRESS, terms="Net 30")
    item = company.add_item("Services", unit_price="100")
    body = {"CustomerRef": {"value": customer["Id"]}, "DocNumber": "1043", "Line": [
        {"Amount": 100.0, "DetailType": "SalesItemLineDetail",
         "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 1, "UnitPrice": 100}}]}
    invoice = qbo.post("invoice", body, request_id="r2").json()["Invoice"]
    assert set(expected) <= set(invoice)
    assert [set(line) for line in invoice["Line"]] == [set(line) for line in expected["Line"]]
    assert invoice["TotalAmt"] == invoice["Balance"] == 100
    assert invoice["CustomerRef"] == {"value": customer["Id"], "name": "Amy's Bird Sanctuary"}
    assert invoice["DueDate"] > invoice["TxnDate"]


def test_query_answers_have_the_recorded_envelopes(qbo: Connection, company, recorded: Path):
    company.add_customer("Dukes Basketball Camp", email="Dukes_bball@intuit.com")
    company.add_customer("Dylan Sollfrank")
    page = qbo.query("SELECT * FROM Customer MAXRESULTS 2 STARTPOSITION 1").json()
    expected_page = load(recorded, "minimul__qbo_api__spec_vcr_all_alt_select.yml__1.json")
    assert set(page) == set(expected_page) and set(page["QueryResponse"]) == set(expected_page["QueryResponse"])
    recorded_customer = expected_page["QueryResponse"]["Customer"][1]  # the one without an address or phone
    assert set(recorded_customer) - {"GivenName", "FamilyName"} <= set(page["QueryResponse"]["Customer"][1])
    count = qbo.query("SELECT COUNT(*) FROM Customer").json()
    assert count["QueryResponse"].keys() == load(recorded, "minimul__qbo_api__spec_vcr_all_vendors_by_5.yml__0.json")[
        "QueryResponse"].keys()
    empty = qbo.query("SELECT * FROM Customer STARTPOSITION 7").json()
    assert empty == {**load(recorded, "minimul__qbo_api__spec_vcr_all_alt_select.yml__4.json"), "time": empty["time"]}


def test_an_inventory_item_and_a_term_have_the_documented_keys(qbo: Connection, company, recorded: Path):
    expected = load(recorded, "intuit-docs__accounting_most-commonly-used_item__read-an-item__response.json")["Item"]
    accounts = {a["Name"]: a["Id"] for a in company.table("Account").rows}
    body = {"Name": "Office Supplies", "Type": "Inventory", "TrackQtyOnHand": True, "QtyOnHand": 10,
            "InvStartDate": "2013-02-19", "UnitPrice": 25, "PurchaseCost": 35, "Taxable": True,
            "Description": "This is the sales description.", "PurchaseDesc": "This is the purchasing description.",
            "IncomeAccountRef": {"value": accounts["Sales of Product Income"]},
            "ExpenseAccountRef": {"value": accounts["Cost of Goods Sold"]},
            "AssetAccountRef": {"value": accounts["Inventory Asset"]}}
    created = qbo.post("item", body, request_id="r3").json()["Item"]
    read = qbo.get(f"item/{created['Id']}").json()
    assert set(read) == {"Item", "time"} and set(read["Item"]) == set(expected)
    terms = qbo.query("SELECT * FROM Term").json()["QueryResponse"]["Term"]
    documented = load(recorded, "intuit-docs__accounting_all-entities_term__query-a-term__response.json")
    assert set(terms[0]) == set(documented["QueryResponse"]["Term"][0])


def test_faults_have_the_recorded_shapes(qbo: Connection, company, recorded: Path, clock: ManualClock):
    company.add_customer("Weiskopf Consulting")
    duplicate = qbo.post("customer", {"DisplayName": "Weiskopf Consulting"}, request_id="r4")
    expected = load(recorded, "minimul__qbo_api__spec_vcr_error_validation.yml__0.json")
    assert duplicate.status_code == 400
    assert {**duplicate.json(), "time": expected["time"]} == expected

    unknown = qbo.post("invoice", {"BadJson": True}, request_id="r5").json()
    recorded_2010 = load(recorded, "minimul__qbo_api__spec_vcr_error_400_json.yml__0.json")["Fault"]
    assert unknown["Fault"]["type"] == recorded_2010["type"]
    error, recorded_error = unknown["Fault"]["Error"][0], recorded_2010["Error"][0]
    assert (error["Message"], error["code"]) == (recorded_error["Message"], recorded_error["code"])
    prefix = recorded_error["Detail"].split(", not marked")[0]
    assert error["Detail"].startswith(prefix)

    bad_id = qbo.get("customer/1.5").json()
    assert {**bad_id} == load(recorded, "minimul__qbo_api__spec_vcr_error_500.yml__1.json") | {"time": bad_id["time"]}
    nowhere = qbo.get("customer/1/5").json()["Fault"]
    recorded_500 = load(recorded, "minimul__qbo_api__spec_vcr_error_500.yml__0.json")["Fault"]
    assert (nowhere["type"], nowhere["Error"][0]["Message"], nowhere["Error"][0]["code"]) == (
        recorded_500["type"], recorded_500["Error"][0]["Message"], recorded_500["Error"][0]["code"])

    clock.advance(hours=2)
    expired = qbo.get("customer/1").json()
    recorded_401 = load(recorded, "minimul__qbo_api__spec_vcr_error_401.yml__0.json")
    assert set(expired) == set(recorded_401)
    assert {k: v for k, v in expired["fault"]["error"][0].items() if k != "detail"} == {
        k: v for k, v in recorded_401["fault"]["error"][0].items() if k != "detail"}


def test_change_data_capture_has_the_recorded_envelope(qbo: Connection, company, recorded: Path):
    company.add_item("Changed")
    answer = qbo.get("cdc", entities="Item", changedSince="2026-12-01T00:00:00-08:00").json()
    expected = load(recorded, "minimul__qbo_api__spec_vcr_cdc_basic.yml__0.json")
    assert set(answer) == set(expected)
    assert set(answer["CDCResponse"][0]) == set(expected["CDCResponse"][0])
    assert set(answer["CDCResponse"][0]["QueryResponse"][0]) == {"Item", "startPosition", "maxResults"}
