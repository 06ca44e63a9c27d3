"""Webhooks from real Web Connector sessions (the simulator over HTTP): the connection connecting, and a
blocked invoice created once its match is made, each delivered to a waitress receiver, signed."""
from __future__ import annotations

import json
import random

import requests

from qbwc_bridge.webhooks import signature
from qbwc_bridge.webhooks.deliverer import Deliverer
from qbwc_bridge.webhooks.sealed_secret import SecretBox
from tests.integration.invoice_world import add_unmatched_item, match_item, ours, seed_matches
from tests.integration.test_simulated_session import connector_for
from tests.integration.webhook_receiver import LiveReceiver


def test_sessions_connecting_and_creating_a_blocked_invoice_are_delivered_in_order(
        shared_dir, settings, store, server, tenant, tmp_path):
    api = f"{server.url}/api/v1"
    headers = {"Authorization": f"Bearer {tenant.account.api_token}", "Content-Type": "application/json"}
    live = LiveReceiver()
    deliverer = Deliverer(store, SecretBox(settings.secret_key))
    with live as receiver:
        put = requests.put(f"{api}/webhook", json={"url": live.url, "events": ["invoice.created", "invoice.blocked",
                           "connection.status_changed"]}, headers=headers, timeout=30)  # fmt: skip
        secret = put.json()["secret"]
        connector, company = connector_for(shared_dir, settings, store, server, tenant, tmp_path, tenant.password, seed=3)
        assert connector.run_session().ok  # the first session: connecting, then connected
        world = seed_matches(store, tenant.account.account_id, company)
        add_unmatched_item(store, tenant.account.account_id, "NEW-3", "ABC-3")
        event = world.order(random.Random(3), "SO-3", item_ids=["NEW-3"])
        blocked = requests.post(f"{api}/orders/o-3/packed", data=json.dumps(event), headers=headers, timeout=30).json()
        assert blocked["status"] == "blocked"
        match_item(store, tenant.account.account_id, "NEW-3", company.sorted_items()[0])
        assert connector.run_session().ok
        [invoice] = ours(company, "o-3")
        deliverer.run_once()
        deliverer.close()
        got = receiver.delivered
    for received in got:
        assert signature.verify(secret, received.headers["X-Qbwc-Bridge-Signature"], received.body,
                                signature_time(received))
    kinds = [(r.event["type"], r.event["data"].get("status")) for r in got]
    connection = [status for kind, status in kinds if kind == "connection.status_changed"]
    assert connection == ["connecting", "connected"], kinds
    invoice_events = [r.event for r in got if r.event["type"].startswith("invoice.")]
    assert [(e["type"], e["data"]["order_id"]) for e in invoice_events] == [("invoice.blocked", "o-3"),
                                                                             ("invoice.created", "o-3")]
    assert invoice_events[1]["data"]["quickbooks"]["txn_id"] == invoice.stamp.id
    final = requests.get(f"{api}/orders/o-3/invoice", headers=headers, timeout=30).json()
    assert invoice_events[1]["data"] == final


def signature_time(received) -> int:
    return int(received.headers["X-Qbwc-Bridge-Signature"].split(",")[0].removeprefix("t="))
