"""The query subset over HTTP: paging, COUNT, Active, escapes, LastUpdatedTime, errors."""
from __future__ import annotations

import pytest

from qbwc_bridge.fake_qbo import FakeIntuit, ManualClock

from tests.fake_qbo.intuit_client import REALM, Connection, connect


@pytest.fixture
def company(intuit: FakeIntuit):
    return intuit.company(REALM)


def test_paging_is_one_based_and_maxresults_counts_what_came_back(qbo: Connection, company):
    for n in range(1, 8):
        company.add_item(f"Part {n}", sku=f"P-{n}")
    first = qbo.query("SELECT * FROM Item MAXRESULTS 3 STARTPOSITION 1").json()["QueryResponse"]
    assert [i["Name"] for i in first["Item"]] == ["Part 1", "Part 2", "Part 3"]
    assert (first["startPosition"], first["maxResults"]) == (1, 3)
    last = qbo.query("select * from Item startposition 7 maxresults 3").json()["QueryResponse"]
    assert [i["Name"] for i in last["Item"]] == ["Part 7"] and last["maxResults"] == 1
    past = qbo.query("SELECT * FROM Item STARTPOSITION 8 MAXRESULTS 3").json()
    assert past["QueryResponse"] == {} and "time" in past


def test_count_and_active_filters(qbo: Connection, company):
    company.add_customer("Active One")
    gone = company.add_customer("Gone Two", active=False)
    assert qbo.query("SELECT COUNT(*) FROM Customer").json()["QueryResponse"] == {"totalCount": 1}
    both = qbo.query("SELECT COUNT(*) FROM Customer WHERE Active IN (true, false)").json()["QueryResponse"]
    assert both == {"totalCount": 2}
    inactive = qbo.query("SELECT * FROM Customer WHERE Active = false").json()["QueryResponse"]["Customer"]
    assert [c["Id"] for c in inactive] == [gone["Id"]]


def test_an_escaped_quote_and_case_insensitive_equality(qbo: Connection, company):
    company.add_customer("Amy's Bird Sanctuary", email="Birds@Intuit.com")
    found = qbo.query("SELECT * FROM Customer WHERE DisplayName = 'Amy\\'s Bird Sanctuary'").json()
    assert found["QueryResponse"]["Customer"][0]["DisplayName"] == "Amy's Bird Sanctuary"
    by_email = qbo.query("SELECT * FROM Customer WHERE PrimaryEmailAddr = 'birds@intuit.com'").json()
    assert len(by_email["QueryResponse"]["Customer"]) == 1


def test_in_like_id_and_orderby(qbo: Connection, company):
    ids = [company.add_item(name, sku=sku)["Id"] for name, sku in
           (("Bolt", "B-1"), ("Anchor", "A-1"), ("Bracket", None))]
    by_sku = qbo.query("SELECT * FROM Item WHERE Sku IN ('B-1', 'A-1') ORDERBY Name").json()["QueryResponse"]
    assert [i["Name"] for i in by_sku["Item"]] == ["Anchor", "Bolt"]
    like = qbo.query("SELECT * FROM Item WHERE Name LIKE 'br%' ORDERBY Name DESC").json()["QueryResponse"]
    assert [i["Name"] for i in like["Item"]] == ["Bracket"]
    after = qbo.query(f"SELECT * FROM Item WHERE Id > '{ids[0]}' AND Sku = 'A-1'").json()["QueryResponse"]
    assert [i["Id"] for i in after["Item"]] == [ids[1]]


def test_last_updated_time_finds_only_what_changed(qbo: Connection, company, clock: ManualClock):
    old = company.add_item("Old")
    company.add_item("Older")
    clock.advance(minutes=5)
    cutoff = clock().isoformat()
    clock.advance(minutes=5)
    company.update("Item", old["Id"], UnitPrice=3)
    fresh = company.add_item("Fresh")
    answer = qbo.query(f"SELECT * FROM Item WHERE MetaData.LastUpdatedTime > '{cutoff}'").json()["QueryResponse"]
    assert [(i["Name"], i["SyncToken"]) for i in answer["Item"]] == [("Old", "1"), (fresh["Name"], "0")]


def test_syntax_errors_are_4000_and_bad_limits_4001(qbo: Connection):
    for text in ("SELECT * FROM Item WHERE", "SELECT * FROM Item WHERE Name = 'a' OR Name = 'b'",
                 "SELEKT * FROM Item"):
        answer = qbo.query(text)
        assert answer.status_code == 400
        error = answer.json()["Fault"]["Error"][0]
        assert error["code"] == "4000" and error["Detail"].startswith("QueryParserError")
    for text, detail in (("SELECT * FROM Item STARTPOSITION 0", "value 0 is too small. Min allowed value is 1"),
                         ("SELECT * FROM Item MAXRESULTS 1001", "value 1001 is too large"),
                         ("SELECT * FROM Invoice WHERE PrivateNote = 'x'", "not queryable")):
        answer = qbo.query(text)
        assert answer.status_code == 400
        error = answer.json()["Fault"]["Error"][0]
        assert error["code"] == "4001" and detail in error["Detail"]


def test_paging_through_a_generated_catalog_returns_every_record_once(qbo: Connection, company):
    company.generate(items=2500, customers=10, sku_every=2)
    total = qbo.query("SELECT COUNT(*) FROM Item").json()["QueryResponse"]["totalCount"]
    seen: list[str] = []
    while True:
        page = qbo.query(f"SELECT * FROM Item STARTPOSITION {len(seen) + 1} MAXRESULTS 1000").json()
        items = page["QueryResponse"].get("Item", [])
        if not items:
            break
        seen.extend(i["Id"] for i in items)
    assert len(seen) == total == 2500 and len(set(seen)) == 2500
    with_sku = qbo.query("SELECT COUNT(*) FROM Item WHERE Sku LIKE 'SKU-%'").json()["QueryResponse"]
    assert with_sku["totalCount"] == 1250


def test_a_company_outside_the_us_answers_its_tax_codes_and_a_us_company_none(http, intuit: FakeIntuit, qbo):
    uk = intuit.add_company("44", "UK Ltd", country="GB")
    uk.add_tax_code("17.5% S", "Standard rate before 2011", active=False)
    uk_qbo = connect(http, realm="44")
    active = uk_qbo.query("select * from TaxCode").json()["QueryResponse"]["TaxCode"]
    assert [code["Name"] for code in active] == ["20.0% S", "5.0% R", "0.0% Z", "Exempt", "No VAT"]
    assert {"Id", "SyncToken", "Description", "Active", "Hidden", "Taxable", "MetaData"} <= set(active[0])
    every = uk_qbo.query("SELECT * FROM TaxCode WHERE Active IN (true, false)").json()["QueryResponse"]["TaxCode"]
    assert [code["Name"] for code in every][-1] == "17.5% S" and every[-1]["Active"] is False
    one = uk_qbo.get(f"taxcode/{active[0]['Id']}").json()["TaxCode"]
    assert one["Name"] == "20.0% S"
    ontario = intuit.add_company("1", "Maple Inc", country="CA")
    assert "HST ON" in [code["Name"] for code in ontario.table("TaxCode").rows]
    assert qbo.query("select * from TaxCode").json()["QueryResponse"] == {}
