"""Intuit's Disconnect URL: a company removes BlueTrace from QuickBooks Online's My Apps.

Intuit then opens ``/qbo/disconnected?realmId=…`` in the person's browser. The request proves
nothing (anyone can open it with any realm), so it changes nothing itself: it has the worker try
the company's connection at once, and the status reads Reconnect as soon as Intuit says so,
instead of at the company's next piece of work.
"""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from qbwc_bridge.backends.push import PushDriver
from qbwc_bridge.fake_qbo import FakeIntuit, serve
from qbwc_bridge.store.models import Account, OutboxOperation
from qbwc_bridge.worker import Worker
from tests.online.connect_world import CLIENT_ID, CLIENT_SECRET, serve_world
from tests.online.test_connect_intuit import REALM, consent


@pytest.fixture
def live(database_url, tmp_path):
    intuit = FakeIntuit()
    intuit.add_company(REALM, "Sandbox Company US")
    with serve(intuit) as fake, serve_world(database_url, tmp_path / "var", fake.url) as world:
        intuit.register_app(CLIENT_ID, CLIENT_SECRET, [world.url + "/qbo/callback"])
        driver = PushDriver(world.settings)
        world.worker = Worker(world.store, due=driver.due_accounts, drive=driver.drive_account)
        world.intuit = intuit
        yield world


def _waiting(world) -> int:
    with world.store.begin() as db:
        return db.scalar(select(func.count()).select_from(OutboxOperation).where(
            OutboxOperation.account_id == world.online.account_id, OutboxOperation.state == "pending"))


def test_a_disconnect_in_quickbooks_reads_reconnect_as_soon_as_intuit_sends_the_person_back(live):
    consent(live, live.online)
    live.worker.run_once()  # the initial sync: connected, nothing due
    assert live.api(live.online, "GET", "/status").json()["status"] == "connected"
    live.intuit.disconnect(REALM)  # My Apps → Disconnect: Intuit revokes our tokens

    page = httpx.get(live.url + "/qbo/disconnected", params={"realmId": REALM}, timeout=30)
    assert page.status_code == 200 and "disconnected" in page.text and "Reconnect" in page.text
    assert _waiting(live) == 1  # one small check for the worker, nothing deleted by the page itself
    again = httpx.get(live.url + "/qbo/disconnected", params={"realmId": REALM}, timeout=30)
    assert again.status_code == 200 and _waiting(live) == 1  # opening it again adds nothing

    live.worker.run_once()
    status = live.api(live.online, "GET", "/status").json()
    assert status["error"]["code"] == "reconnect_needed" and "Reconnect" in status["error"]["action"]


def test_the_page_changes_nothing_for_a_realm_we_do_not_hold_or_a_hostile_query(live):
    consent(live, live.online)
    live.worker.run_once()
    for params in ({"realmId": "123"}, {}, {"realmId": "x" * 5000}, {"realmId": "\x00<script>"}):
        page = httpx.get(live.url + "/qbo/disconnected", params=params, timeout=30)
        # The input guard answers an over-long or NUL-bearing value with a plain 400 before the page.
        assert page.status_code in (200, 400) and "<script>" not in page.text, params
    assert _waiting(live) == 0
    with live.store.begin() as db:
        assert db.get(Account, live.online.account_id).status == "connected"
