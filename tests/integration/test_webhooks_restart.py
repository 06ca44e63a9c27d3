"""Nothing lost across a server restart: ``serve``'s own deliverer thread, a receiver down, the process killed.

Events are recorded by one ``qbwc-bridge serve`` process while the receiver answers 503; that
process is killed (SIGKILL: no clean shutdown); a new one, receiver back, delivers every event.
Waits poll for what the receiver got, with generous deadlines (no timing is asserted).
"""
from __future__ import annotations

import sys
import time

import requests
from sqlalchemy import select

from qbwc_bridge.store.migrate import upgrade
from qbwc_bridge.store.models import WebhookDelivery
from qbwc_bridge.webhooks import signature
from tests.integration.conftest import make_tenant
from tests.integration.webhook_receiver import LiveReceiver
from tests.support.live_server import ServerProcess


def wait_for(condition, seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.2)


def test_events_recorded_before_a_kill_are_delivered_by_the_next_process(settings, store, tmp_path):
    upgrade(store)
    tenant = make_tenant(store, "Acme Supply")
    env = {"QBWC_BRIDGE_DATABASE_URL": settings.database_url, "QBWC_BRIDGE_DATA_DIR": str(tmp_path / "var"),
           "QBWC_BRIDGE_SECRET_KEY": settings.secret_key, "QBWC_BRIDGE_PUBLIC_URL": "http://localhost:8080",
           "QBWC_BRIDGE_LOG_LEVEL": "INFO"}  # fmt: skip
    command = (sys.executable, "-m", "qbwc_bridge", "serve", "--host", "127.0.0.1", "--port", "{port}", "--no-worker")
    headers = {"Authorization": f"Bearer {tenant.account.api_token}"}
    live = LiveReceiver()
    with live as receiver:
        receiver.down = True
        first = ServerProcess(env, command=command)
        with first:
            api = first.url + "/api/v1"
            secret = requests.put(f"{api}/webhook", json={"url": live.url, "events": ["invoice.blocked"]},
                                  headers=headers, timeout=30).json()["secret"]  # fmt: skip
            for n in range(3):
                event = {"order_number": f"SO-{n}", "customer_id": "nobody", "packed_at": "2026-12-01",
                         "lines": [{"item_id": "nothing", "quantity": 1, "unit_price": "1"}]}  # fmt: skip
                assert requests.post(f"{api}/orders/o-{n}/packed", json=event, headers=headers,
                                     timeout=30).json()["status"] == "blocked"  # fmt: skip
            wait_for(lambda: len(receiver.requests) >= 3)  # each tried once, refused
            first.process.kill()
            first.process.wait()
        receiver.down = False
        with ServerProcess(env, command=command):
            wait_for(lambda: len({got.event["id"] for got in receiver.delivered}) >= 3)
        with store.begin() as db:
            recorded = set(db.scalars(select(WebhookDelivery.event_id)))
        got = receiver.delivered
    assert {received.event["id"] for received in got} == recorded and len(recorded) == 3
    for received in got:
        stamp = int(received.headers["X-Qbwc-Bridge-Signature"].split(",")[0].removeprefix("t="))
        assert signature.verify(secret, received.headers["X-Qbwc-Bridge-Signature"], received.body, stamp)
    assert sorted(received.event["data"]["order_id"] for received in got) == ["o-0", "o-1", "o-2"]
