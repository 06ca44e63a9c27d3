"""Creating through the API: requestid replay and each of QuickBooks' refusals."""
from __future__ import annotations

import json
from datetime import date

import pytest

from qbwc_bridge.fake_qbo import FakeIntuit

from tests.fake_qbo.intuit_client import REALM, Connection, connect


@pytest.fixture
def company(intuit: FakeIntuit):
    return intuit.company(REALM)


@pytest.fixture
def accounts(company) -> dict[str, str]:
    return {a["Name"]: a["Id"] for a in company.table("Account").rows}


def service(name: str, accounts: dict[str, str], **extra) -> dict:
    return {"Name": name, "Type": "Service", "IncomeAccountRef": {"value": accounts["Services"]}, **extra}


def invoice(customer_id: str, item_id: str, qty=2, price=9.99, amount=19.98, **extra) -> dict:
    """An invoice body; floats print as their shortest decimal, which the fake reads as Decimal."""
    line = {"Amount": amount, "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": item_id}, "Qty": qty, "UnitPrice": price}}
    return {"CustomerRef": {"value": customer_id}, "Line": [line], **extra}


def fault(answer) -> tuple[int, str]:
    return answer.status_code, answer.json()["Fault"]["Error"][0]["code"]


@pytest.fixture
def customer(company):
    return company.add_customer("Acme Corp", email="ap@acme.test")


@pytest.fixture
def item(company):
    return company.add_item("Widget", sku="W-1", unit_price="9.99")


def test_the_same_requestid_replays_the_original_answer_and_creates_nothing_more(qbo: Connection, intuit,
                                                                                customer, item):
    first = qbo.post("invoice", invoice(customer["Id"], item["Id"], DocNumber="1001"), request_id="rid-1")
    again = qbo.post("invoice", invoice(customer["Id"], item["Id"], DocNumber="1001"), request_id="rid-1")
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert len(intuit.invoices(REALM)) == 1
    other = qbo.post("invoice", invoice(customer["Id"], item["Id"], DocNumber="1002"), request_id="rid-2")
    assert other.json()["Invoice"]["Id"] != first.json()["Invoice"]["Id"]


def test_a_refusal_is_replayed_too(qbo: Connection, customer, item):
    first = qbo.post("invoice", invoice(customer["Id"], item["Id"], amount=20), request_id="rid-x")
    assert fault(first) == (400, "6000")
    assert qbo.post("invoice", invoice(customer["Id"], item["Id"]), request_id="rid-x").content == first.content


def test_the_oldest_requestid_is_forgotten_past_the_memory(company, monkeypatch):
    monkeypatch.setattr("qbwc_bridge.fake_qbo.company.REQUEST_ID_MEMORY", 2)
    for request_id in ("a", "b", "c"):
        company.remember_answer(request_id, (200, "{}"))
    assert list(company.answers_by_request_id) == ["b", "c"]


def test_writes_without_requestid_or_minorversion_are_answered_and_recorded(qbo: Connection, intuit, accounts):
    assert qbo.post("item", service("No Id", accounts)).status_code == 200
    assert [v.path for v in intuit.writes_without_request_id(REALM)] == [f"/v3/company/{REALM}/item"]
    answer = qbo.http.get(f"/v3/company/{REALM}/preferences", headers=qbo.headers())
    assert answer.status_code == 200
    old = qbo.http.get(f"/v3/company/{REALM}/preferences", params={"minorversion": "65"}, headers=qbo.headers())
    assert old.status_code == 200
    assert len(intuit.violations_of("minorversion", REALM)) == 2
    no_accept = qbo.http.get(f"/v3/company/{REALM}/preferences", params={"minorversion": "75"},
                             headers={"Authorization": qbo.headers()["Authorization"], "Accept": "*/*"})
    assert no_accept.status_code == 200 and len(intuit.violations_of("accept", REALM)) == 1
    assert [r.had_request_id for r in intuit.requests(REALM)] == [False] * 4


def test_item_names_are_unique_among_active_and_inactive_items(qbo: Connection, company, accounts):
    company.add_item("Retired Bolt", active=False)
    assert fault(qbo.post("item", service("retired bolt", accounts), request_id="i1")) == (400, "6240")
    assert fault(qbo.post("item", service("N" * 101, accounts), request_id="i2")) == (400, "2050")
    assert qbo.post("item", service("N" * 100, accounts, Sku="S-1"), request_id="i3").status_code == 200


def test_item_required_fields_and_account_references(qbo: Connection, company, accounts):
    assert fault(qbo.post("item", {"Name": "No type", "IncomeAccountRef": {"value": accounts["Services"]}},
                          request_id="t1")) == (400, "2020")
    assert fault(qbo.post("item", {"Name": "No account", "Type": "Service"}, request_id="t2")) == (400, "2020")
    inventory = service("Stocked", accounts, Type="Inventory",
                        ExpenseAccountRef={"value": accounts["Cost of Goods Sold"]})
    missing = qbo.post("item", inventory, request_id="t3")
    assert fault(missing) == (400, "2020") and missing.json()["Fault"]["Error"][0]["element"] == "AssetAccountRef"
    assert fault(qbo.post("item", service("Ghost", {"Services": "999"}), request_id="t4")) == (400, "2500")
    closed = company.add_account("Old Income", "Income", active=False)
    assert fault(qbo.post("item", service("Closed", {"Services": closed["Id"]}), request_id="t5")) == (400, "610")
    assert fault(qbo.post("item", service("Bogus", accounts, Colour="red"), request_id="t6")) == (400, "2010")


def test_customer_display_names_are_unique_across_customers_vendors_and_employees(qbo: Connection, company):
    company.add_vendor("Bolt Supply")
    company.add_employee("Pat Staff", active=False)
    assert fault(qbo.post("customer", {"DisplayName": "Bolt Supply"}, request_id="c1")) == (400, "6240")
    assert fault(qbo.post("customer", {"DisplayName": "PAT STAFF"}, request_id="c2")) == (400, "6240")
    created = qbo.post("customer", {"DisplayName": "New Buyer", "PrimaryEmailAddr": {"Address": "b@x.test"}},
                       request_id="c3")
    assert created.json()["Customer"]["PrimaryEmailAddr"] == {"Address": "b@x.test"}
    assert fault(qbo.post("customer", {"DisplayName": "x" * 501}, request_id="c4")) == (400, "2050")
    long_city = {"DisplayName": "Far Away", "BillAddr": {"City": "c" * 256}}
    assert fault(qbo.post("customer", long_city, request_id="c5")) == (400, "2050")


def test_invoice_references_must_exist_and_be_active(qbo: Connection, company, customer, item):
    assert fault(qbo.post("invoice", invoice("999", item["Id"]), request_id="v1")) == (400, "2500")
    company.update("Item", item["Id"], Active=False)
    assert fault(qbo.post("invoice", invoice(customer["Id"], item["Id"]), request_id="v2")) == (400, "610")
    assert fault(qbo.post("invoice", {"Line": []}, request_id="v3")) == (400, "2020")


def test_invoice_amount_must_be_qty_times_unit_price_to_the_cent(qbo: Connection, customer, item):
    assert qbo.post("invoice", invoice(customer["Id"], item["Id"], qty=3, price=0.333, amount=1.0),
                    request_id="a1").status_code == 200
    wrong = qbo.post("invoice", invoice(customer["Id"], item["Id"], qty=3, price=0.333, amount=0.999),
                     request_id="a2")
    assert fault(wrong) == (400, "6000") and "UnitPrice * Qty" in wrong.json()["Fault"]["Error"][0]["Detail"]


def test_doc_numbers_are_at_most_21_characters_and_unique_when_the_company_says_so(qbo: Connection, intuit,
                                                                                  customer, item):
    too_long = invoice(customer["Id"], item["Id"], DocNumber="D" * 22)
    assert fault(qbo.post("invoice", too_long, request_id="d1")) == (400, "2050")
    assert qbo.post("invoice", invoice(customer["Id"], item["Id"], DocNumber="A-1"), request_id="d2").is_success
    assert fault(qbo.post("invoice", invoice(customer["Id"], item["Id"], DocNumber="A-1"), request_id="d3")) == (
        400, "6140")
    intuit.company(REALM).settings.forbid_duplicate_doc_numbers = False
    assert qbo.post("invoice", invoice(customer["Id"], item["Id"], DocNumber="A-1"), request_id="d4").is_success
    assert list(intuit.duplicate_doc_numbers(REALM)) == ["A-1"]


def test_quickbooks_numbers_invoices_itself_when_custom_numbers_are_off(http, intuit: FakeIntuit):
    company = intuit.add_company("77", "Auto Numbers", custom_transaction_numbers=False)
    customer, item = company.add_customer("Buyer"), company.add_item("Thing", unit_price="9.99")
    qbo = connect(http, realm="77")
    first = qbo.post("invoice", invoice(customer["Id"], item["Id"], DocNumber="OURS-1"), request_id="n1").json()
    second = qbo.post("invoice", invoice(customer["Id"], item["Id"]), request_id="n2").json()
    assert [first["Invoice"]["DocNumber"], second["Invoice"]["DocNumber"]] == ["1001", "1002"]


def test_a_non_us_company_needs_a_tax_code_on_every_line(http, intuit: FakeIntuit):
    company = intuit.add_company("44", "UK Ltd", country="GB")
    customer, item = company.add_customer("Buyer"), company.add_item("Thing", unit_price="9.99")
    qbo = connect(http, realm="44")
    refused = qbo.post("invoice", invoice(customer["Id"], item["Id"]), request_id="g1")
    assert fault(refused) == (400, "6000") and "VAT" in refused.json()["Fault"]["Error"][0]["Detail"]
    standard = company.tax_code_named("20.0% S")
    body = invoice(customer["Id"], item["Id"])
    body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] = {"value": standard["Id"]}
    created = qbo.post("invoice", body, request_id="g2").json()["Invoice"]
    assert created["CurrencyRef"]["value"] == "GBP"
    assert created["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": standard["Id"], "name": "20.0% S"}


def test_a_tax_code_on_a_line_must_be_one_of_the_company_and_active(http, intuit: FakeIntuit):
    company = intuit.add_company("44", "UK Ltd", country="GB")
    customer, item = company.add_customer("Buyer"), company.add_item("Thing", unit_price="9.99")
    retired = company.add_tax_code("17.5% S", "Standard rate before 2011", active=False)
    qbo = connect(http, realm="44")
    for request_id, code, expected in (("t1", "999", "2500"), ("t2", retired["Id"], "610")):
        body = invoice(customer["Id"], item["Id"])
        body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] = {"value": code}
        assert fault(qbo.post("invoice", body, request_id=request_id)) == (400, expected)
    assert company.invoices() == []


def test_closed_period_and_ended_subscription(qbo: Connection, company, customer, item):
    company.settings.closed_through = date(2026, 11, 30)
    assert fault(qbo.post("invoice", invoice(customer["Id"], item["Id"], TxnDate="2026-11-30"),
                          request_id="p1")) == (400, "6210")
    assert qbo.post("invoice", invoice(customer["Id"], item["Id"], TxnDate="2026-12-01"),
                    request_id="p2").is_success
    company.settings.subscription_ended = True
    assert fault(qbo.post("customer", {"DisplayName": "Late"}, request_id="p3")) == (400, "6190")
    assert qbo.query("SELECT * FROM Customer").status_code == 200  # reads still work


def test_an_invoice_moves_the_customers_balance_and_last_updated_time(qbo: Connection, clock, customer, item):
    clock.advance(minutes=3)
    qbo.post("invoice", invoice(customer["Id"], item["Id"]), request_id="b1")
    after = qbo.get(f"customer/{customer['Id']}").json()["Customer"]
    assert after["Balance"] == 19.98 and after["SyncToken"] == "0"
    assert after["MetaData"]["LastUpdatedTime"] > after["MetaData"]["CreateTime"]


def test_a_sparse_update_needs_the_current_sync_token_and_keeps_names_unique(qbo: Connection, company, customer,
                                                                            recorded):
    company.add_customer("Taken Name")
    renamed = qbo.post("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True,
                                    "PrimaryEmailAddr": {"Address": "new@acme.test"}}, request_id="u1")
    assert renamed.status_code == 200
    assert renamed.json()["Customer"]["SyncToken"] == "1"
    assert renamed.json()["Customer"]["PrimaryEmailAddr"] == {"Address": "new@acme.test"}
    stale = qbo.post("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "late"},
                     request_id="u2")
    assert fault(stale) == (400, "5010")
    batch = json.loads((recorded / "minimul__qbo_api__spec_vcr_batch_basic.yml__0.json").read_text())
    assert set(stale.json()["Fault"]["Error"][0]) == set(batch["BatchItemResponse"][2]["Fault"]["Error"][0])
    clash = qbo.post("customer", {"Id": customer["Id"], "SyncToken": "1", "sparse": True,
                                  "DisplayName": "taken name"}, request_id="u3")
    assert fault(clash) == (400, "6240")
    full = qbo.post("customer", {"Id": customer["Id"], "SyncToken": "1", "DisplayName": "Full"}, request_id="u4")
    assert fault(full) == (400, "500")


def test_a_foreign_currency_customer_is_invoiced_in_its_currency_at_one_to_one(http, intuit: FakeIntuit):
    company = intuit.add_company("88", "Multi Currency Inc", multicurrency=True)
    customer = company.add_customer("Euro Buyer", currency="EUR")
    item = company.add_item("Thing", unit_price="9.99")
    qbo = connect(http, realm="88")
    booked = qbo.post("invoice", invoice(customer["Id"], item["Id"]), request_id="e1").json()["Invoice"]
    assert booked["CurrencyRef"]["value"] == "EUR" and booked["ExchangeRate"] == 1
    in_dollars = invoice(customer["Id"], item["Id"], CurrencyRef={"value": "USD"})
    assert fault(qbo.post("invoice", in_dollars, request_id="e2")) == (400, "6000")
    pounds = qbo.post("customer", {"DisplayName": "Pound Buyer", "CurrencyRef": {"value": "GBP"}}, request_id="e3")
    assert pounds.json()["Customer"]["CurrencyRef"] == {"value": "GBP", "name": "British Pound Sterling"}


def test_a_company_without_multicurrency_refuses_a_foreign_customer(qbo: Connection):
    answer = qbo.post("customer", {"DisplayName": "Euro Buyer", "CurrencyRef": {"value": "EUR"}}, request_id="e4")
    assert fault(answer) == (400, "6000")


def test_names_may_not_contain_a_colon_tab_or_line_break(qbo: Connection, accounts):
    for name in ("Rob:Barnett:Company", "Tab\there", "Two\nlines"):
        refused = qbo.post("customer", {"DisplayName": name}, request_id=f"colon-c-{name}")
        assert fault(refused) == (400, "2040")
        assert fault(qbo.post("item", service(name, accounts), request_id=f"colon-i-{name}")) == (400, "2040")
    assert qbo.post("customer", {"DisplayName": "Rob; Barnett & Co."}, request_id="ok").status_code == 200


def test_a_body_that_is_not_json_is_refused_1050(qbo: Connection):
    answer = qbo.http.post(f"/v3/company/{REALM}/customer", params={"minorversion": "75", "requestid": "xml"},
                           content="<Customer/>", headers={**qbo.headers(), "Content-Type": "application/xml"})
    assert fault(answer) == (400, "1050")


def test_read_only_fields_sent_back_are_ignored(qbo: Connection):
    created = qbo.post("customer", {"DisplayName": "Echo", "Balance": "lots", "FullyQualifiedName": "Other",
                                    "SyncToken": "7"}, request_id="ro").json()["Customer"]
    assert (created["Balance"], created["FullyQualifiedName"], created["SyncToken"]) == (0, "Echo", "0")
