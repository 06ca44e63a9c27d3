"""Acceptance for issue 6: 1000 packed orders become exactly 1000 invoices, whatever breaks.

Through the simulated Web Connector over real HTTP against the bridge running as separate
server processes: 20% of message sets applied by QuickBooks and then their response lost,
random lock errors, a server restart between a sendRequestXML and its receiveResponseXML,
5% of events sent twice, and orders blocked on a missing match that go out once the match
is made. The fake company must then hold exactly one invoice per order, with the right
customer, terms, lines and total. On SQLite with one process, and on PostgreSQL with two
processes taking alternate calls.

Time: the servers use the real clock, and a lock error backs off for a minute or more. The
test does not wait: between sessions it clears ``not_before`` of operations backing off,
which is what the passing of those minutes would do.
"""
from __future__ import annotations

import json
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from sqlalchemy import func, select, update

from qbwc_bridge.backends.desktop.qwc import render_qwc
from qbwc_bridge.backends.desktop.schema import schema_dir
from qbwc_bridge.config import Settings
from qbwc_bridge.simulator import FaultRule, Faults, RequestProcessor, WebConnector
from qbwc_bridge.simulator.http_transport import HttpTransport
from qbwc_bridge.store.db import Store
from qbwc_bridge.store.migrate import upgrade
from qbwc_bridge.store.models import OperationState, OutboxOperation, PackedOrder
from tests.integration.conftest import make_tenant
from tests.integration.invoice_world import add_unmatched_item, check_invoice, make_company, match_item, seed_matches
from tests.support.live_server import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

ORDERS = 1000
BLOCKED = 20  # of the ORDERS, waiting for an item match
DUPLICATES = 0.05
LOST_EVERY = 5  # every 5th message set: 20% of responses lost after QuickBooks applied them
LOCKS = 0.03  # chance that QuickBooks finds the data locked, per InvoiceAdd
BUSY_WINDOW = 1  # seconds; after a lost response the next session waits this long


class RestartingTransport(HttpTransport):
    """QBWC's HTTP, spread over several server processes in turn, one of them restarted mid-session.

    Every SOAP call goes to the next server in the list (with one server: always that one).
    Before the ``restart_at``-th receiveResponseXML, the first server is stopped and started
    again on the same port: the message set was handed out by the old process, its answer is
    taken by the new one.
    """

    def __init__(self, servers: list[ServerProcess], restart_at: int):
        super().__init__(timeout=120)
        self.servers, self.restart_at = servers, restart_at
        self.calls = self.receives = self.restarts = 0

    def post_soap(self, url: str, action: str, envelope: bytes):
        if action.endswith('receiveResponseXML"'):
            self.receives += 1
            if self.receives == self.restart_at:
                self.servers[0].stop()
                self.servers[0].start()
                self.restarts += 1
        server = self.servers[self.calls % len(self.servers)]
        self.calls += 1
        parts = urlsplit(url)
        return super().post_soap(urlunsplit(parts._replace(netloc=f"localhost:{server.port}")), action, envelope)


def _env(database_url: str, data_dir) -> dict[str, str]:
    return {
        "QBWC_BRIDGE_DATABASE_URL": database_url,
        "QBWC_BRIDGE_SECRET_KEY": "e" * 40,
        "QBWC_BRIDGE_DATA_DIR": str(data_dir),
        "QBWC_BRIDGE_PUBLIC_URL": "http://localhost:8080",
        "QBWC_BRIDGE_LOG_LEVEL": "WARNING",
        "QBWC_BRIDGE_BUSY_WINDOW_SECONDS": str(BUSY_WINDOW),
    }


def _post_all(urls: list[str], token: str, events: list[tuple[str, dict]]) -> list[requests.Response]:
    """BlueTrace's backend: 8 clients at once, spread over the servers."""
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})

    def post(numbered):
        number, (order_id, event) = numbered
        url = urls[number % len(urls)]
        return session.post(f"{url}/api/v1/orders/{order_id}/packed", data=json.dumps(event), timeout=60)

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(post, enumerate(events)))


def _let_backoff_pass(store: Store, account_id: int) -> None:
    with store.begin() as db:
        db.execute(
            update(OutboxOperation)
            .where(OutboxOperation.account_id == account_id, OutboxOperation.not_before.is_not(None))
            .values(not_before=None)
        )


def _outstanding(store: Store, account_id: int) -> int:
    """Orders not yet created or blocked, plus operations still in the outbox's hands."""
    with store.begin() as db:
        orders = db.scalar(
            select(func.count()).select_from(PackedOrder).where(
                PackedOrder.account_id == account_id, PackedOrder.status.not_in(("created", "blocked"))
            )
        )
        ops = db.scalar(
            select(func.count()).select_from(OutboxOperation).where(
                OutboxOperation.account_id == account_id,
                OutboxOperation.state.in_((OperationState.PENDING.value, OperationState.SENT.value,
                                           OperationState.UNCONFIRMED.value)),
            )
        )  # fmt: skip
    return orders + ops


def _drive(connector: WebConnector, store: Store, account_id: int, log: list, max_sessions: int = 120) -> None:
    """Run Web Connector sessions, as its schedule would, until nothing is left to send."""
    for _ in range(max_sessions):
        transcript = connector.run_session()
        log.append(transcript)
        if transcript.outcome.startswith("response lost") or "busy" in transcript.outcome:
            time.sleep(BUSY_WINDOW + 0.1)  # the dead session still counts as alive for the busy window
        _let_backoff_pass(store, account_id)
        if _outstanding(store, account_id) == 0:
            return
    raise AssertionError(f"still outstanding after {max_sessions} sessions:\n" + log[-1].to_text())


def _exactly_once(tmp_path, shared_dir, store: Store, servers: list[ServerProcess], seed: int) -> None:
    rng = random.Random(seed)
    tenant = make_tenant(store, "Exactly Once Supply")
    account_id = tenant.account.account_id
    company = make_company(items=30, customers=20, seed=seed, without_terms=3)
    world = seed_matches(store, account_id, company)
    for number in range(3):
        add_unmatched_item(store, account_id, f"NEW-{number}", f"NEW-SKU-{number}")

    events = [(f"order-{n:04d}", world.order(rng, f"SO-{seed}-{n:06d}")) for n in range(ORDERS - BLOCKED)]
    events += [
        (f"order-{n:04d}", world.order(rng, f"SO-{seed}-{n:06d}", item_ids=[f"NEW-{n % 3}", rng.choice(sorted(world.items))]))
        for n in range(ORDERS - BLOCKED, ORDERS)
    ]
    rng.shuffle(events)
    duplicates = rng.sample(events, int(ORDERS * DUPLICATES))
    early, late = duplicates[: len(duplicates) // 2], duplicates[len(duplicates) // 2 :]

    urls = [server.url for server in servers]
    answers = _post_all(urls, tenant.account.api_token, events + early)
    assert {answer.status_code for answer in answers} == {202}, {a.status_code: a.text for a in answers}
    first = {event[0]: answer.json() for event, answer in zip(events, answers)}
    for (order_id, _), answer in zip(early, answers[len(events):]):
        assert answer.json() == first[order_id]  # the same event again: the same answer
    assert sum(1 for view in first.values() if view["status"] == "blocked") == BLOCKED

    qwc = tmp_path / "exactly-once.qwc"
    with store.begin() as db:
        qwc.write_text(render_qwc(db, Settings.from_env(_env(str(store.url), tmp_path)).replace(
            public_url=f"http://localhost:{servers[0].port}"), account_id))  # fmt: skip
    transport = RestartingTransport(servers, restart_at=3)
    connector = WebConnector(
        RequestProcessor(company, schema_dir(shared_dir)), password=tenant.password, transport=transport,
        faults=Faults(seed=seed, lose_response=FaultRule(at=frozenset(range(2, 1000, LOST_EVERY))),
                      lock_error=FaultRule(probability=LOCKS)),
        noop_pause=0, max_calls_per_session=2000,
    )  # fmt: skip
    assert connector.add_application(str(qwc)).ok

    transcripts: list = []
    _drive(connector, store, account_id, transcripts)
    late_answers = _post_all(urls, tenant.account.api_token, late)  # duplicates after the invoice exists
    assert {answer.status_code for answer in late_answers} == {202}
    assert len(company.invoices) == ORDERS - BLOCKED

    for number in range(3):  # the bookkeeper makes the missing matches
        match_item(store, account_id, f"NEW-{number}", company.sorted_items()[number])
        world.items[f"NEW-{number}"] = company.sorted_items()[number]
    _drive(connector, store, account_id, transcripts)

    faults = [fault for transcript in transcripts for fault in transcript.faults]
    message_sets = sum(transcript.round_trips for transcript in transcripts)
    assert sum("lose_response" in fault for fault in faults) == (message_sets + LOST_EVERY - 2) // LOST_EVERY
    assert any("lock_error" in fault for fault in faults), faults
    assert transport.restarts == 1

    by_order: dict[str, list] = {}
    for invoice in company.invoices.values():
        order_id = invoice.memo.split("(order id ", 1)[1].split(")", 1)[0]
        by_order.setdefault(order_id, []).append(invoice)
    assert len(company.invoices) == ORDERS
    assert {order_id: len(found) for order_id, found in by_order.items() if len(found) != 1} == {}
    with store.begin() as db:
        orders = {row.order_id: row for row in db.scalars(select(PackedOrder).where(PackedOrder.account_id == account_id))}
        adopted = db.scalar(
            select(func.count()).select_from(OutboxOperation).where(
                OutboxOperation.account_id == account_id, OutboxOperation.kind == "invoice_add",
                OutboxOperation.result["adopted"].as_boolean().is_(True),
            )
        )  # fmt: skip
    assert adopted > 0  # lost answers really were reconciled, not merely resent
    for order_id, event in events:
        [invoice] = by_order[order_id]
        check_invoice(world, invoice, order_id, event)
        assert (orders[order_id].status, orders[order_id].txn_id) == ("created", invoice.stamp.id)


@pytest.fixture
def store_at(tmp_path):
    opened: list[Store] = []

    def open_store(url: str) -> Store:
        store = Store(url)
        upgrade(store)
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.dispose()


def _server(database_url: str, data_dir) -> ServerProcess:
    command = [sys.executable, "-m", "qbwc_bridge", "serve", "--host", "127.0.0.1", "--port", "{port}"]
    return ServerProcess(env=_env(database_url, data_dir), command=command)


def test_exactly_once_on_sqlite_with_a_restart(tmp_path, shared_dir, store_at):
    store = store_at(f"sqlite:///{(tmp_path / 'bridge.sqlite3').as_posix()}")
    with _server(str(store.url), tmp_path) as server:
        _exactly_once(tmp_path, shared_dir, store, [server], seed=11)


@pytest.mark.postgres
def test_exactly_once_on_postgresql_with_two_processes(tmp_path, shared_dir, store_at, postgres_url):
    store = store_at(postgres_url)
    with _server(postgres_url, tmp_path) as first, _server(postgres_url, tmp_path) as second:
        _exactly_once(tmp_path, shared_dir, store, [first, second], seed=12)
