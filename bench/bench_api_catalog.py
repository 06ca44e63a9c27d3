"""GET /api/v1/items at 100k items: first page, issue filter, search, a deep page - vs a bare SELECT.

Per database (SQLite, then a throwaway PostgreSQL): a mirror of QuickBooks items is
inserted, 100k BlueTrace items go in through the import service (timed: rows/s, with its
one re-match at the end), then the bridge runs as its own waitress process and each
request is timed from a keep-alive client. Baselines in the same run: the bare SELECT of
one page (SQLAlchemy Core, in process, no HTTP) and GET /healthz (HTTP + SELECT 1).
The CPU column is the bridge process's CPU per request (/proc), steadier than wall times
when other work shares the machine.
Run: .venv/bin/python bench/bench_api_catalog.py [--items 100000] [--requests 100] [--no-postgres]
"""
from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select  # noqa: E402

from qbwc_bridge.services.accounts import create_account  # noqa: E402
from qbwc_bridge.services.import_files import read_rows  # noqa: E402
from qbwc_bridge.services.imports import import_rows  # noqa: E402
from qbwc_bridge.store.db import Store  # noqa: E402
from qbwc_bridge.store.migrate import upgrade  # noqa: E402
from qbwc_bridge.store.models import Account, BtItem, QbItem, SyncCursor, utcnow  # noqa: E402
from tests.support.live_server import ServerProcess  # noqa: E402
from tests.support.postgres import PostgresServer, ThrowawayPostgres, find_pg_bin_dir  # noqa: E402


def seed(store: Store, items: int) -> tuple[str, float]:
    """An account whose initial sync is done, a QuickBooks mirror, and ``items`` imported items.

    Every 20th item has no SKU, every 20th (offset 10) a SKU QuickBooks lacks; the rest match.
    Returns the API token and the import's seconds.
    """
    with store.begin() as db:
        account = create_account(db, "Bench Co", "desktop")
        row = db.get(Account, account.account_id)
        row.status = "connected"
        for list_name in ("terms", "accounts", "items", "customers"):
            db.add(SyncCursor(account_id=row.id, list_name=list_name, initial_done=True))
    now = utcnow()
    with store.begin() as db:
        db.execute(insert(QbItem), [
            {"account_id": account.account_id, "list_id": f"{n:08X}-1", "full_name": f"SKU-{n:06d}", "name": f"SKU-{n:06d}",
             "item_type": "ItemNonInventory", "is_active": True, "edit_sequence": "1", "time_modified": now}
            for n in range(1, items + 1) if n % 20 != 10
        ])
    lines = ["item_id,sku,name,sales_price,kind"]
    for n in range(1, items + 1):
        sku = "" if n % 20 == 0 else f"SKU-{n:06d}"
        lines.append(f"item-{n:06d},{sku},Widget {n},{n % 1000}.25,non_inventory")
    data = ("\n".join(lines) + "\n").encode()
    started = time.perf_counter()
    result = import_rows(store, account.account_id, "items", read_rows(io.BytesIO(data), "items", "csv"))
    elapsed = time.perf_counter() - started
    assert result.created == items and not result.errors, result.as_json()
    return account.api_token, elapsed


def timed(call, repeats: int, cpu=time.process_time) -> tuple[float, float, float]:
    """(p50, p95) wall milliseconds, and the CPU milliseconds per call of the process ``cpu`` reads.

    Wall times suffer when other work shares the machine; the CPU figure much less.
    """
    call()  # warm caches and the connection
    samples = []
    cpu_before = cpu()
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    cpu_ms = (cpu() - cpu_before) * 1000 / repeats
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], cpu_ms


def process_cpu(pid: int):
    """A reader of another process's CPU seconds (user + system), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")

    def read() -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    return read


class Client:
    def __init__(self, url: str, token: str):
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str) -> dict:
        self.connection.request("GET", path, headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        assert response.status == 200, body[:300]
        return json.loads(body)


def measure(database_url: str, items: int, repeats: int, tmp: Path) -> tuple[float, list[tuple[str, float, float, float, int]]]:
    store = Store(database_url)
    upgrade(store)
    token, import_seconds = seed(store, items)
    with store.engine.connect() as connection:
        account_id = connection.execute(select(Account.id)).scalar()
        bare = select(BtItem).where(BtItem.account_id == account_id).order_by(BtItem.item_id).limit(50)
        rows = [("bare SELECT of one page (no HTTP)", *timed(lambda: connection.execute(bare).all(), repeats), 50)]
    env = {**os.environ, "QBWC_BRIDGE_DATABASE_URL": database_url, "QBWC_BRIDGE_DATA_DIR": str(tmp),
           "QBWC_BRIDGE_SECRET_KEY": "b" * 40, "QBWC_BRIDGE_LOG_LEVEL": "WARNING"}
    with ServerProcess(env=env) as server:
        client = Client(server.url, token)
        server_cpu = process_cpu(server.process.pid)
        rows.append(("GET /healthz (HTTP + SELECT 1)", *timed(lambda: client.get("/healthz"), repeats, server_cpu), 0))
        for label, path in (
            ("first page", "/api/v1/items"),
            ("issue=not_found", "/api/v1/items?issue=not_found"),
            ("issue=any", "/api/v1/items?issue=any"),
            ("search=sku-0123 (prefix)", "/api/v1/items?search=sku-0123"),
            ("search=widget 99 (name prefix)", "/api/v1/items?search=widget%2099"),
            (f"page {items // 100} (offset {(items // 100 - 1) * 50})", f"/api/v1/items?page={items // 100}"),
        ):
            found = client.get(path)["total"]
            rows.append((f"GET items {label}", *timed(lambda p=path: client.get(p), repeats, server_cpu), found))
    store.dispose()
    return import_seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        results.append(("SQLite", *measure(f"sqlite:///{tmp}/bench.sqlite3", args.items, args.requests, tmp)))
        if not args.no_postgres:
            with ThrowawayPostgres(find_pg_bin_dir()) as pg:
                server = PostgresServer(pg.base_url)
                results.append(("PostgreSQL", *measure(server.create_database("bench"), args.items, args.requests, tmp)))
                server.dispose()
    print(f"{args.items} items in one account; {args.requests} requests per line, one keep-alive client; page size 50")
    for database, import_seconds, rows in results:
        print(f"\n{database}: import of {args.items} items {import_seconds:.1f} s ({args.items / import_seconds:,.0f} rows/s, "
              "one re-match included)")
        print(f"  {'request':44} {'p50 ms':>8} {'p95 ms':>8} {'CPU ms':>8} {'total':>8}")
        for label, p50, p95, cpu_ms, total in rows:
            print(f"  {label:44} {p50:8.2f} {p95:8.2f} {cpu_ms:8.2f} {total:8}")
    print("\nCPU ms: of the bridge process per request (of this process for the bare SELECT; "
          "PostgreSQL's own CPU is not included)")


if __name__ == "__main__":
    main()
