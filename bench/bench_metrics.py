"""Server time of a Prometheus scrape of GET /metrics at 100k outbox rows, beside /healthz (the fixed cost of a request).

1000 Desktop accounts share 100k outbox operations (nine in ten done, the rest pending,
unconfirmed, sent or failed, six kinds) and 100k packed orders in every invoice status: the
state gauges are GROUP BY queries over all of them at each scrape. Requests go through the
whole Flask stack in process (bearer token, rendering), so the figure is the server's time
without the network. On PostgreSQL the tables are VACUUM ANALYZEd after the load, as
autovacuum would leave them.
Run: .venv/bin/python bench/bench_metrics.py [--rows 100000] [--requests 50] [--no-postgres] [--no-sqlite]
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from qbwc_bridge.config import Settings  # noqa: E402
from qbwc_bridge.store.db import Store  # noqa: E402
from qbwc_bridge.store.migrate import upgrade  # noqa: E402
from qbwc_bridge.store.models import Account, OutboxOperation, PackedOrder, utcnow  # noqa: E402
from qbwc_bridge.web.app import create_app  # noqa: E402
from tests.support.postgres import PostgresServer, ThrowawayPostgres, find_pg_bin_dir  # noqa: E402

TOKEN = "bench-metrics-token-" + "x" * 20
ACCOUNTS = 1000
KINDS = ("invoice_add", "item_query", "customer_query", "item_add", "customer_add", "invoice_query")
STATES = ("done",) * 9 + ("pending",)
# A packed-order event of a few lines, as stored: the row width the invoices gauge scans past.
PAYLOAD = {"order_number": "100234", "customer_id": "cust-1", "packed_at": "2026-12-01", "memo": "x" * 80,
           "lines": [{"item_id": f"item-{n}", "quantity": "2", "unit_price": "12.50", "description": "Widget " * 8} for n in range(4)]}
INVOICE_STATUSES = ("created",) * 6 + ("queued", "blocked", "failed", "unconfirmed")


def seed(store: Store, rows: int) -> float:
    started = time.perf_counter()
    with store.begin() as db:  # rows, not create_account: a thousand argon2 hashes would take minutes
        accounts = list(db.scalars(insert(Account).returning(Account.id), [
            {"name": f"Bench {n}", "kind": "desktop", "api_token_hash": f"{n:064d}", "file_id": f"{n:038d}",
             "status": ("connected", "connected", "connecting", "error")[n % 4]}
            for n in range(ACCOUNTS)
        ]))  # fmt: skip
    now = utcnow()
    for start in range(0, rows, 10_000):
        with store.begin() as db:
            batch = range(start, min(start + 10_000, rows))
            db.execute(insert(OutboxOperation), [
                {"account_id": accounts[n % ACCOUNTS], "kind": KINDS[n % len(KINDS)], "dedupe_key": f"k{n}", "payload": {},
                 "state": ("unconfirmed", "sent", "failed")[n % 3] if n % 50 == 7 else STATES[n % len(STATES)],
                 "created_at": now - dt.timedelta(seconds=rows - n), "updated_at": now}
                for n in batch
            ])  # fmt: skip
            db.execute(insert(PackedOrder), [
                {"account_id": accounts[n % ACCOUNTS], "order_id": f"o{n}", "order_number": f"{n}", "payload": PAYLOAD,
                 "payload_hash": "0" * 64, "status": INVOICE_STATUSES[n % len(INVOICE_STATUSES)]}
                for n in batch
            ])  # fmt: skip
    if store.is_postgresql:
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    return time.perf_counter() - started


def timed(client, path: str, requests: int, headers: dict) -> tuple[float, float]:
    times = []
    for _ in range(requests):
        begin = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append((time.perf_counter() - begin) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def measure(database_url: str, rows: int, requests: int, tmp: Path) -> tuple[float, list]:
    settings = Settings.from_env({"QBWC_BRIDGE_DATABASE_URL": database_url, "QBWC_BRIDGE_DATA_DIR": str(tmp),
                                  "QBWC_BRIDGE_SECRET_KEY": "b" * 40, "QBWC_BRIDGE_METRICS_TOKEN": TOKEN})  # fmt: skip
    store = Store.from_settings(settings)
    upgrade(store)
    seconds = seed(store, rows)
    client = create_app(settings, store).flask.test_client()
    timed(client, "/metrics", 3, {"Authorization": f"Bearer {TOKEN}"})  # warm caches and connections
    results = [
        ("baseline: /healthz", *timed(client, "/healthz", requests, {})),
        ("/metrics", *timed(client, "/metrics", requests, {"Authorization": f"Bearer {TOKEN}"})),
    ]
    store.dispose()
    return seconds, results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.no_sqlite:
            results.append(("SQLite", *measure(f"sqlite:///{tmp}/bench.sqlite3", args.rows, args.requests, tmp)))
        if not args.no_postgres:
            with ThrowawayPostgres(find_pg_bin_dir()) as pg:
                server = PostgresServer(pg.base_url)
                results.append(("PostgreSQL", *measure(server.create_database("bench"), args.rows, args.requests, tmp)))
                server.dispose()
    print(f"{args.rows} outbox operations and {args.rows} packed orders over {ACCOUNTS} accounts; "
          f"{args.requests} requests per line (Flask in process: server time, no network)")
    for database, seed_seconds, rows in results:
        print(f"\n{database} (seeding: {seed_seconds:.1f} s)")
        print(f"  {'request':22} {'p50 ms':>8} {'p95 ms':>8}")
        for label, p50, p95 in rows:
            print(f"  {label:22} {p50:8.2f} {p95:8.2f}")
        (_, base, _), (_, scrape, _) = rows
        print(f"  /metrics costs {scrape / base:.1f}x /healthz at p50")


if __name__ == "__main__":
    main()
