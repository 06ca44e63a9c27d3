"""Changing records in the fake: SyncToken, LastUpdatedTime, change data capture with deletions and merges."""
from __future__ import annotations

import pytest

from qbwc_bridge.fake_qbo import FakeIntuit, ManualClock

from tests.fake_qbo.intuit_client import REALM, Connection, refresh


@pytest.fixture
def company(intuit: FakeIntuit):
    return intuit.company(REALM)


def cdc(qbo: Connection, since: str, entities: str = "Item,Customer") -> list[dict]:
    answer = qbo.get("cdc", entities=entities, changedSince=since)
    assert answer.status_code == 200, answer.text
    return answer.json()["CDCResponse"][0]["QueryResponse"]


def test_cdc_answers_changes_and_deletions_since_a_moment(qbo: Connection, company, clock: ManualClock):
    kept, changed, deleted = (company.add_item(n) for n in ("Kept", "Changed", "Deleted"))
    customer = company.add_customer("Quiet")
    clock.advance(minutes=10)
    since = clock().isoformat()
    clock.advance(minutes=1)
    company.update("Item", changed["Id"], Name="Changed Again", Active=False)
    company.delete("Item", deleted["Id"])
    items, customers = cdc(qbo, since)
    by_id = {record["Id"]: record for record in items["Item"]}
    assert set(by_id) == {changed["Id"], deleted["Id"]}
    assert by_id[changed["Id"]]["Name"] == "Changed Again" and by_id[changed["Id"]]["Active"] is False
    assert by_id[changed["Id"]]["SyncToken"] == "1"
    assert by_id[deleted["Id"]]["status"] == "Deleted"
    assert customers == {}
    assert kept["Id"] not in by_id and customer["Id"]
    after = qbo.query("SELECT * FROM Item WHERE Active IN (true, false)").json()["QueryResponse"]["Item"]
    assert deleted["Id"] not in {i["Id"] for i in after}


def test_a_merge_moves_invoices_and_shows_the_merged_customer_deleted(qbo: Connection, company, clock, intuit):
    survivor, duplicate = company.add_customer("Acme"), company.add_customer("Acme Inc")
    item = company.add_item("Widget", unit_price="1")
    created = qbo.post("invoice", {"CustomerRef": {"value": duplicate["Id"]}, "Line": [
        {"Amount": 1, "DetailType": "SalesItemLineDetail",
         "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 1, "UnitPrice": 1}}]},
        request_id="m1").json()["Invoice"]
    since = clock().isoformat()
    clock.advance(seconds=5)
    company.merge("Customer", duplicate["Id"], survivor["Id"])
    (customers,) = cdc(qbo, since, "Customer")
    statuses = {c["Id"]: c.get("status") for c in customers["Customer"]}
    assert statuses == {survivor["Id"]: None, duplicate["Id"]: "Deleted"}
    moved = qbo.get(f"invoice/{created['Id']}").json()["Invoice"]
    assert moved["CustomerRef"]["value"] == survivor["Id"]


def test_cdc_refuses_more_than_30_days_back_and_unknown_entities(qbo: Connection, clock: ManualClock):
    clock.advance(days=40)
    qbo.access_token = refresh(qbo.http, qbo.refresh_token).json()["access_token"]
    too_old = qbo.get("cdc", entities="Item", changedSince="2026-12-03T00:00:00+00:00")
    assert too_old.status_code == 400
    unknown = qbo.get("cdc", entities="Spaceship", changedSince=clock().isoformat())
    assert unknown.status_code == 400


def test_updates_bump_sync_token_and_last_updated_time(company, clock: ManualClock):
    customer = company.add_customer("Before")
    clock.advance(hours=1)
    updated = company.update("Customer", customer["Id"], DisplayName="After")
    assert updated["SyncToken"] == "1"
    assert updated["MetaData"]["LastUpdatedTime"] != updated["MetaData"]["CreateTime"]
    assert updated["FullyQualifiedName"] == "After"
