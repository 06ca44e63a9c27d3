"""``POST batch``: items answered one by one in the recorded shape, 30 items, 40 batches a minute."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from qbwc_bridge.fake_qbo import FakeIntuit

from tests.fake_qbo.intuit_client import REALM, Connection


@pytest.fixture
def company(intuit: FakeIntuit):
    return intuit.company(REALM)


def test_each_item_answers_on_its_own_in_the_recorded_shape(qbo: Connection, company, recorded: Path):
    company.add_customer("Taken")
    answer = qbo.post("batch", {"BatchItemRequest": [
        {"bId": "b1", "operation": "create", "Customer": {"DisplayName": "Fresh"}},
        {"bId": "b2", "operation": "create", "Customer": {"DisplayName": "Taken"}},
        {"bId": "b3", "Query": "SELECT * FROM Customer WHERE DisplayName = 'Taken'"},
        {"bId": "b4", "operation": "delete", "Invoice": {"Id": "1", "SyncToken": "0"}},
    ]}, request_id="batch-1")
    assert answer.status_code == 200
    items = answer.json()["BatchItemResponse"]
    expected = json.loads((recorded / "minimul__qbo_api__spec_vcr_batch_basic.yml__0.json").read_text())
    assert set(answer.json()) == set(expected)
    assert [item["bId"] for item in items] == ["b1", "b2", "b3", "b4"]
    assert items[0]["Customer"]["DisplayName"] == "Fresh"
    assert items[1]["Fault"]["Error"][0]["code"] == "6240"
    assert set(items[1]) == set(expected["BatchItemResponse"][1])
    assert items[2]["QueryResponse"]["Customer"][0]["DisplayName"] == "Taken"
    assert items[3]["Fault"]["Error"][0]["code"] == "500"
    again = qbo.post("batch", {"BatchItemRequest": [
        {"bId": "b1", "operation": "create", "Customer": {"DisplayName": "Fresh"}}]}, request_id="batch-1")
    assert again.content == answer.content


def test_more_than_30_items_is_refused_whole(qbo: Connection, company):
    items = [{"bId": f"b{n}", "operation": "create", "Customer": {"DisplayName": f"C{n}"}} for n in range(31)]
    answer = qbo.post("batch", {"BatchItemRequest": items}, request_id="big")
    assert answer.status_code == 400 and "at most 30" in answer.json()["Fault"]["Error"][0]["Detail"]
    assert qbo.query("SELECT COUNT(*) FROM Customer").json()["QueryResponse"]["totalCount"] == 0


def test_the_41st_batch_in_a_minute_is_throttled_while_other_calls_pass(qbo: Connection, clock):
    query = {"BatchItemRequest": [{"bId": "q", "Query": "SELECT COUNT(*) FROM Item"}]}
    assert {qbo.post("batch", query, request_id=f"q{n}").status_code for n in range(40)} == {200}
    throttled = qbo.post("batch", query, request_id="q40")
    assert throttled.status_code == 429 and throttled.json()["Fault"]["Error"][0]["code"] == "3001"
    assert qbo.get("preferences").status_code == 200
    clock.advance(seconds=61)
    assert qbo.post("batch", query, request_id="q41").status_code == 200
