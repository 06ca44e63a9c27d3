"""Invoices: Web Connector round trips per 1000 invoices, and the packed-event API's latency.

Round trips. The bridge serves in this process (waitress on loopback, SQLite); the
simulated Web Connector and the strict fake QuickBooks talk to it over real HTTP. After
the initial sync, N packed orders are posted and sessions run until every invoice is in
QuickBooks. Counted: qbXML round trips (one sendRequestXML + receiveResponseXML each),
SOAP calls and wall time. Baseline in the same run: the same work sent one request per
message set, as typical bridges do (one invoice per round trip).

Latency. The bridge runs as its own process (``qbwc-bridge serve``, 8 threads) on SQLite,
then on a throwaway PostgreSQL, once as one process and once as ``serve --processes 2`` (one
per core, as the README advises on PostgreSQL); 8 clients with keep-alive connections post
packed-order events at once. Per request: p50 / p99 latency and events/s. Baseline in the same run:
GET /healthz (HTTP plus SELECT 1) from the same 8 clients.
Run: .venv/bin/python bench/bench_invoices.py [--orders 1000] [--events 2000] [--no-postgres] [--latency-only]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qbwc_bridge.backends.desktop import conversation  # noqa: E402
from qbwc_bridge.backends.desktop.qwc import render_qwc  # noqa: E402
from qbwc_bridge.backends.desktop.schema import schema_dir  # noqa: E402
from qbwc_bridge.config import Settings, _find_shared_dir  # noqa: E402
from qbwc_bridge.services import invoices  # noqa: E402
from qbwc_bridge.simulator import RequestProcessor, WebConnector  # noqa: E402
from qbwc_bridge.store.db import Store  # noqa: E402
from qbwc_bridge.store.migrate import upgrade  # noqa: E402
from qbwc_bridge.web.app import create_app  # noqa: E402
from tests.integration.conftest import make_tenant  # noqa: E402
from tests.integration.invoice_world import make_company, seed_matches  # noqa: E402
from tests.support.live_server import DEFAULT_SERVE_COMMAND, LiveServer, ServerProcess  # noqa: E402
from tests.support.postgres import PostgresServer, ThrowawayPostgres, find_pg_bin_dir  # noqa: E402

CLIENTS = 8


def _settings(database_url: str, data_dir: Path) -> Settings:
    return Settings.from_env({
        "QBWC_BRIDGE_DATABASE_URL": database_url, "QBWC_BRIDGE_DATA_DIR": str(data_dir),
        "QBWC_BRIDGE_SECRET_KEY": "b" * 40, "QBWC_BRIDGE_LOG_LEVEL": "WARNING", "QBWC_BRIDGE_BUSY_WINDOW_SECONDS": "1",
    })  # fmt: skip


# -- round trips ----------------------------------------------------------------------------------


def round_trips(orders: int, per_set: int, tmp: Path, shared: Path) -> dict:
    """Deliver ``orders`` invoices with at most ``per_set`` requests per message set."""
    data_dir = tmp / f"trips-{per_set}"
    data_dir.mkdir()
    settings = _settings(f"sqlite:///{data_dir}/bridge.sqlite3", data_dir)
    store = Store.from_settings(settings)
    upgrade(store)
    tenant = make_tenant(store, "Bench Supply")
    company = make_company(items=40, customers=30, seed=1)
    world = seed_matches(store, tenant.account.account_id, company)
    rng = random.Random(1)
    saved = conversation.MAX_REQUESTS_PER_SET
    conversation.MAX_REQUESTS_PER_SET = per_set
    try:
        with LiveServer(create_app(settings, store), threads=4) as server:
            port = server.url.rsplit(":", 1)[1]
            qwc = data_dir / "bench.qwc"
            with store.begin() as db:
                qwc.write_text(render_qwc(db, settings.replace(public_url=f"http://localhost:{port}"), tenant.account.account_id))
            connector = WebConnector(RequestProcessor(company, schema_dir(shared)), password=tenant.password, noop_pause=0,
                                     max_calls_per_session=10 * orders + 100)  # fmt: skip
            assert connector.add_application(str(qwc)).ok
            initial = connector.run_session()  # Connecting -> Connected: terms, accounts, items, customers
            assert initial.ok, initial.to_text()
            with store.begin() as db:
                for n in range(orders):
                    invoices.record_packed_order(db, tenant.account.account_id, f"o{n}", world.order(rng, f"SO-{n}"))
            time.sleep(1.1)  # the busy window
            started = time.perf_counter()
            transcript = connector.run_session()
            seconds = time.perf_counter() - started
            assert transcript.ok and len(company.invoices) == orders, transcript.to_text()[-2000:]
    finally:
        conversation.MAX_REQUESTS_PER_SET = saved
        store.dispose()
    return {"initial": initial.round_trips, "trips": transcript.round_trips, "calls": len(transcript.calls),
            "seconds": seconds}  # fmt: skip


# -- API latency ----------------------------------------------------------------------------------


class Client(threading.Thread):
    """One of BlueTrace's backend workers: a keep-alive connection, timing every request."""

    def __init__(self, port: int, token: str, requests: list[tuple[str, str, bytes | None]], barrier: threading.Barrier):
        super().__init__()
        self.port, self.token, self.requests, self.barrier = port, token, requests, barrier
        self.latencies: list[float] = []

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        self.barrier.wait()
        for method, path, body in self.requests:
            started = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            self.latencies.append(time.perf_counter() - started)
            assert response.status in (200, 202), (response.status, path)
        connection.close()


def _run_clients(port: int, token: str, requests: list[tuple[str, str, bytes | None]]) -> tuple[list[float], float]:
    barrier = threading.Barrier(CLIENTS + 1)
    clients = [Client(port, token, requests[n::CLIENTS], barrier) for n in range(CLIENTS)]
    for client in clients:
        client.start()
    barrier.wait()
    started = time.perf_counter()
    for client in clients:
        client.join()
    return [latency for client in clients for latency in client.latencies], time.perf_counter() - started


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def api_latency(database_url: str, events: int, tmp: Path, processes: int = 1) -> dict:
    store = Store(database_url)
    upgrade(store)
    tenant = make_tenant(store, "Latency Supply")
    world = seed_matches(store, tenant.account.account_id, make_company(items=40, customers=30, seed=2))
    rng = random.Random(2)
    posts = [("POST", f"/api/v1/orders/e{n}/packed", json.dumps(world.order(rng, f"E-{n}")).encode()) for n in range(events)]
    env = {"QBWC_BRIDGE_DATABASE_URL": database_url, "QBWC_BRIDGE_SECRET_KEY": "b" * 40,
           "QBWC_BRIDGE_DATA_DIR": str(tmp), "QBWC_BRIDGE_LOG_LEVEL": "WARNING"}  # fmt: skip
    try:
        with ServerProcess(env=env, command=(*DEFAULT_SERVE_COMMAND, "--processes", str(processes))) as server:
            _run_clients(server.port, tenant.account.api_token, [("GET", "/healthz", None)] * 80)  # warm up
            health, _ = _run_clients(server.port, tenant.account.api_token, [("GET", "/healthz", None)] * events)
            latencies, seconds = _run_clients(server.port, tenant.account.api_token, posts)
    finally:
        store.dispose()
    return {
        "p50": _percentile(latencies, 0.50), "p99": _percentile(latencies, 0.99), "rate": len(latencies) / seconds,
        "health_p50": _percentile(health, 0.50), "health_p99": _percentile(health, 0.99),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--latency-only", action="store_true", help="only the packed-event latency (no round trips)")
    args = parser.parse_args()
    os.environ.setdefault("QBWC_BRIDGE_LOG_LEVEL", "WARNING")
    shared = Path(os.environ.get("QBWC_BRIDGE_SHARED_DIR") or _find_shared_dir() or "")
    if not (shared / "qbxml-schema").is_dir():
        sys.exit("Intuit's qbXML schema is needed (../shared or QBWC_BRIDGE_SHARED_DIR)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.latency_only:
            _print_round_trips(args, tmp, shared)
        _print_latency(args, tmp)


def _print_round_trips(args, tmp: Path, shared: Path) -> None:
    batched = round_trips(args.orders, conversation.MAX_REQUESTS_PER_SET, tmp, shared)
    single = round_trips(args.orders, 1, tmp, shared)
    print(f"{args.orders} invoices through the simulated Web Connector over HTTP (SQLite), after the initial sync")
    print(f"{'mode':34} {'round trips':>11} {'SOAP calls':>10} {'seconds':>8} {'invoices/s':>10}")
    for name, result in ((f"batched ({conversation.MAX_REQUESTS_PER_SET} per message set)", batched),
                         ("baseline: one invoice per round trip", single)):  # fmt: skip
        print(f"{name:34} {result['trips']:11d} {result['calls']:10d} {result['seconds']:8.1f} "
              f"{args.orders / result['seconds']:10.1f}")
    print(f"initial sync before that: {batched['initial']} round trips; target for the invoices: "
          f"{args.orders} / {conversation.MAX_REQUESTS_PER_SET} = {args.orders / conversation.MAX_REQUESTS_PER_SET:.0f}"
          f" + a small constant")  # fmt: skip


def _print_latency(args, tmp: Path) -> None:
    rows = [("SQLite", api_latency(f"sqlite:///{tmp}/api.sqlite3", args.events, tmp))]
    if not args.no_postgres:
        with ThrowawayPostgres(find_pg_bin_dir()) as pg:
            server = PostgresServer(pg.base_url)
            rows.append(("PostgreSQL", api_latency(server.create_database("bench_invoices"), args.events, tmp)))
            rows.append(("PostgreSQL, --processes 2",
                         api_latency(server.create_database("bench_invoices_2"), args.events, tmp, processes=2)))
            server.dispose()
    print(f"\nPOST /api/v1/orders/{{id}}/packed: {args.events} events from {CLIENTS} concurrent clients (server process)")
    print(f"{'database':26} {'p50 ms':>8} {'p99 ms':>8} {'events/s':>9}   {'GET /healthz p50 / p99 ms (baseline)':>36}")
    for name, result in rows:
        print(f"{name:26} {result['p50']:8.1f} {result['p99']:8.1f} {result['rate']:9.1f}   "
              f"{result['health_p50']:16.1f} / {result['health_p99']:.1f}")


if __name__ == "__main__":
    main()
