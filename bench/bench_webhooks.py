"""Webhook delivery throughput, beside bare HTTP POSTs to the same receiver in the same run.

The receiver is a minimal WSGI app on waitress (127.0.0.1, 8 threads) answering 200. N events
(``--orders`` orders, ``--per-order`` events each) are recorded in the store, then one
deliverer (one process, its batch sent 8 at a time) drains them: deliveries/s counts claim,
signature, POST and the answer written, on SQLite and on a throwaway PostgreSQL.
Baseline in the same run: the same bodies POSTed by 8 threads with one httpx client and no
database (the ceiling for this receiver on this machine). A second deliverer racing the first
on PostgreSQL shows the claims never overlap (every event delivered once).
Run: .venv/bin/python bench/bench_webhooks.py [--orders 1000] [--per-order 2] [--no-postgres]
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qbwc_bridge.services.accounts import create_account  # noqa: E402
from qbwc_bridge.store.db import Store  # noqa: E402
from qbwc_bridge.store.migrate import upgrade  # noqa: E402
from qbwc_bridge.webhooks.deliverer import CONCURRENCY, Deliverer  # noqa: E402
from qbwc_bridge.webhooks.endpoints import put_endpoint  # noqa: E402
from qbwc_bridge.webhooks.events import EventType, invoice_key, record  # noqa: E402
from qbwc_bridge.webhooks.sealed_secret import SecretBox  # noqa: E402
from tests.support.live_server import LiveServer  # noqa: E402
from tests.support.postgres import PostgresServer, ThrowawayPostgres, find_pg_bin_dir  # noqa: E402

SECRET_KEY = "b" * 40


class CountingReceiver:
    def __init__(self):
        self.ids: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        with self._lock:
            self.ids.append(environ.get("HTTP_X_QBWC_BRIDGE_DELIVERY", ""))
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        del body
        return [b"ok"]


def _record(store: Store, url: str, orders: int, per_order: int) -> tuple[int, float]:
    with store.begin() as db:
        account_id = create_account(db, "Bench Supply", "desktop").account_id
        put_endpoint(db, account_id, {"url": url, "events": ["invoice.paid"]}, SecretBox(SECRET_KEY))
    started = time.perf_counter()
    for sequence in range(per_order):
        with store.begin() as db:  # one unit of work per order change would be slower still; the point is delivery
            for order in range(orders):
                record(db, account_id, EventType.INVOICE_PAID, {"order_id": f"o-{order}", "sequence": sequence,
                                                                  "padding": "x" * 400}, order_key=invoice_key(f"o-{order}"))
    return account_id, time.perf_counter() - started


def deliver(database_url: str, orders: int, per_order: int, deliverers: int = 1) -> dict:
    store = Store(database_url)
    upgrade(store)
    receiver = CountingReceiver()
    with LiveServer(receiver, threads=8) as server:
        _account, recording = _record(store, server.url + "/hooks", orders, per_order)
        workers = [Deliverer(store, SecretBox(SECRET_KEY)) for _ in range(deliverers)]
        started = time.perf_counter()
        with ThreadPoolExecutor(deliverers) as pool:
            list(pool.map(lambda worker: worker.run_once(), workers))
        seconds = time.perf_counter() - started
        for worker in workers:
            worker.close()
    store.dispose()
    total = orders * per_order
    assert len(receiver.ids) == total and len(set(receiver.ids)) == total, (len(receiver.ids), len(set(receiver.ids)))
    return {"seconds": seconds, "rate": total / seconds, "recording": recording}


def baseline(total: int) -> float:
    receiver = CountingReceiver()
    body = json.dumps({"id": "x", "type": "invoice.paid", "data": {"padding": "x" * 400}}).encode()
    with LiveServer(receiver, threads=8) as server, httpx.Client(timeout=10) as client:
        url = server.url + "/hooks"
        started = time.perf_counter()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            list(pool.map(lambda n: client.post(url, content=body, headers={"Content-Type": "application/json"}),
                          range(total)))  # fmt: skip
        seconds = time.perf_counter() - started
    assert len(receiver.ids) == total
    return total / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--per-order", type=int, default=2)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" is the point of the run
    total = args.orders * args.per_order
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(("SQLite, 1 deliverer", deliver(f"sqlite:///{tmp}/bench.sqlite3", args.orders, args.per_order)))
        if not args.no_postgres:
            with ThrowawayPostgres(find_pg_bin_dir()) as pg:
                server = PostgresServer(pg.base_url)
                rows.append(("PostgreSQL, 1 deliverer",
                             deliver(server.create_database("bench_webhooks_1"), args.orders, args.per_order)))
                rows.append(("PostgreSQL, 2 deliverers",
                             deliver(server.create_database("bench_webhooks_2"), args.orders, args.per_order, 2)))
                server.dispose()
    bare = baseline(total)
    print(f"{total} webhook events ({args.orders} orders x {args.per_order}), receiver on waitress 127.0.0.1")
    print(f"{'':26} {'deliveries/s':>12} {'seconds':>8} {'recording s':>12}")
    for name, result in rows:
        print(f"{name:26} {result['rate']:12.0f} {result['seconds']:8.2f} {result['recording']:12.2f}")
    print(f"{'baseline: bare httpx POSTs':26} {bare:12.0f}   ({CONCURRENCY} threads, one client, no database)")


if __name__ == "__main__":
    main()
