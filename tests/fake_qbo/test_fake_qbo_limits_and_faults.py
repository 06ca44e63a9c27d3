"""Intuit's per-company limits and the injected faults, over real HTTP."""
from __future__ import annotations

import threading
import time

import httpx
import pytest

from qbwc_bridge.fake_qbo import FakeIntuit, ManualClock
from qbwc_bridge.fake_qbo.injection import FaultInjector

from tests.fake_qbo.intuit_client import MINOR, REALM, Connection, refresh


@pytest.fixture
def company(intuit: FakeIntuit):
    return intuit.company(REALM)


@pytest.fixture
def order(company):
    customer = company.add_customer("Acme Corp")
    item = company.add_item("Widget", unit_price="5")
    return {"CustomerRef": {"value": customer["Id"]}, "DocNumber": "SO-1", "Line": [
        {"Amount": 10, "DetailType": "SalesItemLineDetail",
         "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 2, "UnitPrice": 5}}]}


def wait_until(condition, seconds: float = 20.0) -> None:
    """A bounded wait for another thread, not a timing assertion."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.01)


def test_the_eleventh_concurrent_call_is_throttled_and_the_peak_is_recorded(qbo: Connection, intuit: FakeIntuit,
                                                                           server):
    gate = intuit.hold(REALM)
    statuses: list[int] = []

    def call() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            statuses.append(client.get(f"/v3/company/{REALM}/preferences", params=MINOR,
                                       headers=qbo.headers()).status_code)

    threads = [threading.Thread(target=call) for _ in range(10)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: intuit.in_flight(REALM) == 10)
        throttled = qbo.get("preferences")
    finally:
        gate.set()
        for thread in threads:
            thread.join()
    assert throttled.status_code == 429
    error = throttled.json()["Fault"]["Error"][0]
    assert error["code"] == "3001" and "ThrottleExceeded" in error["Message"]
    assert throttled.json()["Fault"]["type"] == "SERVICE"
    assert statuses == [200] * 10
    assert intuit.max_concurrency(REALM) == 11


def test_more_than_the_minute_budget_is_throttled_until_the_window_moves(qbo: Connection, intuit: FakeIntuit,
                                                                        clock: ManualClock):
    intuit.set_limits(requests_per_minute=3)
    assert [qbo.get("preferences").status_code for _ in range(3)] == [200, 200, 200]
    refused = qbo.get("preferences")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    clock.advance(seconds=61)
    assert qbo.get("preferences").status_code == 200


def test_a_lost_answer_was_applied_and_the_same_requestid_then_answers_it(qbo: Connection, intuit: FakeIntuit,
                                                                         order):
    intuit.inject("lose_answer")
    lost = qbo.post("invoice", order, request_id="lost-1")
    assert lost.status_code == 504 and "Invoice" not in lost.text
    assert len(intuit.invoices(REALM)) == 1
    retried = qbo.post("invoice", order, request_id="lost-1")
    assert retried.status_code == 200
    assert retried.json()["Invoice"]["Id"] == intuit.invoices(REALM)[0]["Id"]
    assert len(intuit.invoices(REALM)) == 1


def test_503_and_429_come_before_anything_is_applied(qbo: Connection, intuit: FakeIntuit, order):
    intuit.inject("unavailable")
    intuit.inject("throttle")
    first = qbo.post("invoice", order, request_id="w-1")
    second = qbo.post("invoice", order, request_id="w-1")
    assert (first.status_code, second.status_code) == (503, 429)
    assert second.json()["Fault"]["Error"][0]["code"] == "3001"
    assert intuit.invoices(REALM) == []
    third = qbo.post("invoice", order, request_id="w-1")
    assert third.status_code == 200 and len(intuit.invoices(REALM)) == 1


def test_a_forgotten_requestid_after_a_lost_answer_meets_the_duplicate_doc_number(qbo: Connection,
                                                                                  intuit: FakeIntuit, order):
    intuit.inject("lose_answer")
    assert qbo.post("invoice", order, request_id="f-1").status_code == 504
    intuit.inject("forget_request_ids")
    again = qbo.post("invoice", order, request_id="f-1")
    assert again.status_code == 400 and again.json()["Fault"]["Error"][0]["code"] == "6140"
    found = qbo.query("SELECT * FROM Invoice WHERE DocNumber = 'SO-1'").json()["QueryResponse"]["Invoice"]
    assert len(found) == 1 and len(intuit.invoices(REALM)) == 1


def test_token_expiry_mid_run_answers_401_until_the_client_refreshes(qbo: Connection, intuit: FakeIntuit):
    intuit.inject("expire_token", on="any")
    assert qbo.get("preferences").status_code == 401
    assert qbo.get("preferences").status_code == 401  # the token really ended, not just one answer
    qbo.access_token = refresh(qbo.http, qbo.refresh_token).json()["access_token"]
    assert qbo.get("preferences").status_code == 200


def test_faults_with_a_rate_repeat_with_the_same_seed_and_differ_with_another():
    def run(seed: int) -> list[bool]:
        injector = FaultInjector(seed)
        injector.add("unavailable", rate=0.3, on="any")
        return [injector.draw(REALM, is_write=False) == "unavailable" for _ in range(200)]

    assert run(1) == run(1)
    assert run(1) != run(2)
    assert 30 <= sum(run(1)) <= 90


def test_a_plan_for_writes_leaves_reads_alone(qbo: Connection, intuit: FakeIntuit):
    plan = intuit.inject("unavailable", times=2)
    assert qbo.get("preferences").status_code == 200
    assert plan.fired == 0
