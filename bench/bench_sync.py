"""Initial sync of a big company through the simulator, and matching 100k x 100k.

The bridge runs as its own waitress process on loopback (``qbwc-bridge serve``), so its
CPU seconds and peak memory are its own (read from /proc), apart from the simulated Web
Connector and fake QuickBooks, which run here. The fake company holds ``--items`` items
(all four kinds) and ``--customers`` customers; the account holds as many BlueTrace
items and customers, most of which match, so the initial sync ends with a full
re-match. Printed in the same run:

* server CPU seconds for the whole initial sync (SOAP, qbXML parsing, mirror upserts,
  outbox, re-matching) and per 1000 records, round trips, wall time, server peak RSS;
  split into the receiveResponseXML calls that ended a pull (each re-matches a whole
  list) and all the others (a median one shown too);
* baseline: bare ``lxml.etree.fromstring`` of the very same responses (what merely
  reading them costs), and the simulator's own CPU seconds;
* matching: the pure functions on the synced records (BlueTrace x QuickBooks).

Targets (issue 14, target 3): server CPU at most 12x the bare parse, peak RSS under 300 MB,
matching under 1 s for each list.

Run: .venv/bin/python bench/bench_sync.py [--items 100000] [--customers 100000] [--postgresql]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lxml import etree  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from qbwc_bridge.backends.desktop.qwc import render_qwc  # noqa: E402
from qbwc_bridge.backends.desktop.schema import schema_dir  # noqa: E402
from qbwc_bridge.config import Settings, _find_shared_dir  # noqa: E402
from qbwc_bridge.services.accounts import create_account  # noqa: E402
from qbwc_bridge.simulator import RequestProcessor, WebConnector, company_from_description  # noqa: E402
from qbwc_bridge.simulator.records import EntityKind  # noqa: E402
from qbwc_bridge.simulator.seeding import add_entity, add_item  # noqa: E402
from qbwc_bridge.store.db import Store  # noqa: E402
from qbwc_bridge.store.migrate import upgrade  # noqa: E402
from qbwc_bridge.store.models import Account, BtCustomer, BtItem, search_key  # noqa: E402
from qbwc_bridge.sync import facts, matching  # noqa: E402
from qbwc_bridge.sync.progress import connection_progress  # noqa: E402
from tests.support.live_server import ServerProcess  # noqa: E402

KINDS = ("service", "non_inventory", "inventory", "other_charge")
MATCHING_SHARE = 0.95  # of BlueTrace records that have a counterpart


class BaselineMeter(list):
    """Stands in for a transcript's exchange list: parses each response bare, keeps nothing."""

    def __init__(self):
        super().__init__()
        self.count = 0
        self.parse_seconds = 0.0
        self.response_bytes = 0

    def append(self, exchange) -> None:
        self.count += 1
        body = exchange.response.encode("utf-8")
        self.response_bytes += len(body)
        started = time.process_time()
        etree.fromstring(body[body.index(b"<QBXML"):]).clear()
        self.parse_seconds += time.process_time() - started


class BenchConnector(WebConnector):
    """The simulator's Web Connector, counting round trips instead of keeping every exchange,
    and reading the server's CPU seconds around each receiveResponseXML."""

    meter = BaselineMeter()
    server_pid: int | None = None
    receive_cpu: list[float] = []

    def _session(self, transcript, started):
        transcript.exchanges = self.meter
        return super()._session(transcript, started)

    def _call(self, transcript, started, operation, *values):
        if operation != "receiveResponseXML" or self.server_pid is None:
            return super()._call(transcript, started, operation, *values)
        before = process_cpu_seconds(self.server_pid)
        answer = super()._call(transcript, started, operation, *values)
        self.receive_cpu.append(process_cpu_seconds(self.server_pid) - before)
        return answer


def build_company(items: int, customers: int):
    company = company_from_description({})
    for n in range(items):
        kind = KINDS[n % len(KINDS)]
        entry = {"kind": kind, "name": f"SKU-{n:06d}", "description": f"Item number {n}", "price": "9.95"}
        if kind == "inventory":
            entry.update(income_account="Sales", cogs_account="Cost of Goods Sold", asset_account="Inventory Asset",
                         quantity_on_hand="5", manufacturer_part_number=f"MPN-{n:06d}")
        else:
            entry["account"] = "Sales"
        add_item(company, entry)
    for n in range(customers):
        email = f"c{n}@example.test" + (f"; billing{n}@example.test" if n % 20 == 0 else "")
        add_entity(company, EntityKind.CUSTOMER, {"name": f"Customer {n:06d}", "email": email,
                                                  "active": n % 100 != 0})
    return company


def seed_bluetrace(store: Store, account_id: int, items: int, customers: int) -> None:
    """BlueTrace's side: most records match, some are missing a key, some are not in QuickBooks."""
    cut = int(items * MATCHING_SHARE)
    with store.begin() as db:
        for start in range(0, items, 5000):
            rows = []
            for n in range(start, min(start + 5000, items)):
                sku = None if n % 97 == 0 else (f"SKU-{n:06d}" if n < cut else f"NEW-{n:06d}")
                name = f"BlueTrace item {n}"
                rows.append({"account_id": account_id, "item_id": f"item-{n}", "sku": sku, "name": name,
                             "kind": "non_inventory", "active": True, "sku_key": search_key(sku, 100),
                             "name_key": search_key(name, 400)})
            db.execute(insert(BtItem), rows)
        cut = int(customers * MATCHING_SHARE)
        for start in range(0, customers, 5000):
            rows = []
            for n in range(start, min(start + 5000, customers)):
                email = None if n % 89 == 0 else (f"C{n}@Example.test " if n < cut else f"new{n}@elsewhere.test")
                name = f"Customer {n:06d}"
                rows.append({"account_id": account_id, "customer_id": f"cust-{n}", "name": name,
                             "billing_email": email, "email_key": search_key(email, 320), "active": True,
                             "name_key": search_key(name, 400)})
            db.execute(insert(BtCustomer), rows)


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int, field: str = "VmHWM") -> float:
    """The process's peak resident memory (``VmRSS``: its resident memory now)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure_matching(store: Store, account_id: int) -> dict[str, float]:
    with store.begin() as db:
        account = db.get(Account, account_id)
        loaded = {side: (facts.bt_facts(db, side, account), facts.qb_facts(db, side, account))
                  for side in (facts.ITEMS, facts.CUSTOMERS)}
    result = {}
    for side, (bt, qb) in loaded.items():
        started = time.perf_counter()
        if side is facts.ITEMS:
            decisions = matching.match_items(bt, qb)
        else:
            decisions = matching.match_customers(bt, qb)
        result[side.noun] = (time.perf_counter() - started, len(bt), len(qb),
                             sum(1 for d in decisions.values() if d.qb_list_id))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--postgresql", action="store_true", help="a throwaway PostgreSQL instead of SQLite")
    args = parser.parse_args()
    shared = Path(os.environ.get("QBWC_BRIDGE_SHARED_DIR") or _find_shared_dir() or "")
    if not (shared / "qbxml-schema").is_dir():
        print("needs the shared/ folder (Intuit's XSDs): set QBWC_BRIDGE_SHARED_DIR", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        if args.postgresql:
            from tests.support.postgres import PostgresServer, ThrowawayPostgres, find_pg_bin_dir

            with ThrowawayPostgres(find_pg_bin_dir()) as pg:
                server = PostgresServer(pg.base_url)
                result = run(server.create_database("bench_sync"), Path(tmp), shared, args)
                server.dispose()
        else:
            result = run(f"sqlite:///{tmp}/bench.sqlite3", Path(tmp), shared, args)
    report(result, args)
    return 0


def run(database_url: str, tmp: Path, shared: Path, args) -> dict:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    company = build_company(args.items, args.customers)
    store = Store(database_url)
    upgrade(store)
    with store.begin() as db:
        account = create_account(db, "Bench Co", "desktop")
    seed_bluetrace(store, account.account_id, args.items, args.customers)
    setup = time.perf_counter() - started
    env = {"QBWC_BRIDGE_DATABASE_URL": database_url, "QBWC_BRIDGE_SECRET_KEY": "b" * 40,
           "QBWC_BRIDGE_DATA_DIR": str(tmp), "QBWC_BRIDGE_LOG_LEVEL": "WARNING",
           "QBWC_BRIDGE_PUBLIC_URL": "http://localhost:8080"}
    with ServerProcess(env=env, start_timeout=60) as server:
        port = server.url.rsplit(":", 1)[1]
        settings = Settings.from_env({**env, "QBWC_BRIDGE_PUBLIC_URL": f"http://localhost:{port}"})
        qwc = tmp / "bench.qwc"
        with store.begin() as db:
            qwc.write_text(render_qwc(db, settings, account.account_id))
        connector = BenchConnector(RequestProcessor(company, schema_dir(shared)), password=account.wc_password,
                                   noop_pause=0, max_calls_per_session=10**6)
        assert connector.add_application(str(qwc)).ok
        pid = connector.server_pid = server.process.pid
        # Resident now, not the peak so far: starting up hashes a dummy admin password with argon2,
        # whose 64 MiB come and go before the first request.
        rss_before = peak_rss_mb(pid, "VmRSS")
        cpu_before, sim_before, wall_before = process_cpu_seconds(pid), time.process_time(), time.perf_counter()
        sessions = 0
        while True:
            sessions += 1
            transcript = connector.run_session()
            if not transcript.ok:
                raise SystemExit(f"session {sessions} failed: {transcript.outcome} {transcript.errors}")
            with store.begin() as db:
                acct = db.get(Account, account.account_id)
                if acct.status == "connected" or sessions >= 5:
                    progress = connection_progress(db, acct)
                    break
        wall = time.perf_counter() - wall_before
        server_cpu = process_cpu_seconds(pid) - cpu_before
        simulator_cpu = time.process_time() - sim_before - connector.meter.parse_seconds
        rss = peak_rss_mb(pid)
    matched = measure_matching(store, account.account_id)
    store.dispose()
    return {"load": (load_before, os.getloadavg()[0]), "setup": setup, "sessions": sessions, "round_trips": connector.meter.count, "wall": wall,
            "server_cpu": server_cpu, "simulator_cpu": simulator_cpu, "rss_before": rss_before, "rss": rss,
            "baseline": connector.meter.parse_seconds, "response_mb": connector.meter.response_bytes / 2**20,
            "progress": progress, "matching": matched, "receive_cpu": connector.receive_cpu,
            "own_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def report(r: dict, args) -> None:
    records_total = args.items + args.customers
    counts = r["progress"]["counts"]
    print(f"initial sync of {args.items} items + {args.customers} customers "
          f"({'PostgreSQL' if args.postgresql else 'SQLite'}; set-up {r['setup']:.1f} s, not measured)")
    print(f"  status after {r['sessions']} session(s): {r['progress']['phase']} {r['progress']['percent']}%, "
          f"mirror holds {counts['qb_items']} items, {counts['qb_customers']} customers")
    print(f"  machine load average   {r['load'][0]:10.1f} before, {r['load'][1]:.1f} after "
          f"({os.cpu_count()} CPUs; CPU seconds grow when other work shares them)")
    print(f"  round trips            {r['round_trips']:10d}   ({r['response_mb']:.1f} MB of qbXML responses)")
    print(f"  wall time              {r['wall']:10.1f} s  (simulator and server together)")
    print(f"  server CPU             {r['server_cpu']:10.1f} s  "
          f"({1000 * r['server_cpu'] / max(records_total, 1):.2f} s per 1000 records)")
    calls = sorted(r["receive_cpu"])
    median = calls[len(calls) // 2] if calls else 0.0
    # A pull's last page re-matches its whole list: such calls stand far above the others.
    ending = [seconds for seconds in calls if seconds > 5 * median + 0.05]
    pages = calls[:len(calls) - len(ending)]
    print(f"  of which pull endings  {sum(ending):10.1f} s  ({len(ending)} receiveResponseXML call(s) "
          f"with a whole-list re-match)")
    print(f"  of which other pages   {sum(pages):10.1f} s  ({len(pages)} receiveResponseXML calls, "
          f"median {1000 * median:.0f} ms; /proc ticks of 10 ms)")
    print(f"  server peak RSS        {r['rss']:10.1f} MB (resident before the sync: {r['rss_before']:.1f} MB)   target < 300 MB")
    print(f"  baseline: bare lxml    {r['baseline']:10.1f} s  to parse the same responses "
          f"(server / baseline = {r['server_cpu'] / max(r['baseline'], 1e-9):.1f}x; target <= 12x)")
    print(f"  simulator CPU          {r['simulator_cpu']:10.1f} s  (fake QuickBooks + Web Connector, not ours)")
    for noun, (seconds, bt, qb, matched) in r["matching"].items():
        print(f"  matching {noun + 's':10}    {seconds:10.2f} s  ({bt} BlueTrace x {qb} QuickBooks, "
              f"{matched} matched)   target < 1 s")


if __name__ == "__main__":
    sys.exit(main())
