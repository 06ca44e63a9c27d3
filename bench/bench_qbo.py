"""QuickBooks Online: initial sync, packed orders under faults, worker processes with expiring tokens.

The fake Intuit (``qbwc_bridge.fake_qbo``) serves over real HTTP on loopback; the bridge's
worker and push driver talk to it through the Online backend, the account connected
through Intuit's consent page as the contract suite does (tests/contract/worlds.py).
Each figure is printed beside a baseline measured in the same run, with the ratio.

* ``sync``: N items + N customers, on SQLite and PostgreSQL, each in a fresh process, from a fake
  running in a process of its own (so the measured process's memory is the bridge's only). API calls, wall time, the worker thread's CPU
  per 1000 records (``time.thread_time``), this process's peak RSS during the sync and its growth over
  the start, and the projected time at Intuit's real limit (500 calls a minute per company).
  Baseline: the same GET queries replayed by a bare httpx loop (transport + JSON parse, no bridge).
* Pacing: the bridge keeps Intuit's 500 calls a minute per company itself (backends/online/rate_limit.py,
  a sliding window of real time). Here its limiters and the client's backoff run on the run's manual
  clock instead (:class:`VirtualTime`): a wait moves the clock on rather than sleeping, so the window is
  enforced exactly as in production but costs no wall time. The fake keeps its own 500 a minute on the
  same clock (``faults``), and prints its refusals beyond the injected 429s, which must be 0; how far
  the clock moved is the run's length at the real limit.
* ``faults``: packed orders with 10% of invoice answers lost after the write was applied,
  5% 503 and 5% 429 on any call (seeded). Duplicates (must be 0), missing (0), calls
  per invoice, wall time, minutes on Intuit's clock. Baseline: the same orders with no faults.
* ``workers``: P worker processes on PostgreSQL drive M accounts (one company each) while
  every ``--expire-every`` seconds the access tokens issued at least that long before are
  ended (each lives one to two periods; Intuit's live an hour). Refreshes, refresh-token
  reuses (0), duplicates (0), missing (0), accounts paused as reconnect_needed (0), wall
  time. Baseline: the same run, no expiry. ``--end-fresh-tokens`` ends every token, even one
  a refresh has just issued (a token life shorter than a call under load; not Intuit): a
  refused fresh token is then retried later (it used to pause the account as reconnect_needed).

Run: .venv/bin/python bench/bench_qbo.py [--records 20000] [--orders 200] [--processes 4] [--accounts 8]
     [--only sync|faults|workers] [--no-postgres]   (issue 13's sizes: --records 100000 --orders 1000 --processes 8;
     about 3 minutes for --only faults --orders 1000 on both databases)
"""
from __future__ import annotations

import argparse
import itertools
import math
import datetime as dt
import multiprocessing
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qbwc_bridge import backends  # noqa: E402
from qbwc_bridge.backends.online import connection  # noqa: E402
from qbwc_bridge.backends.online.backend import OnlineBackend  # noqa: E402
from qbwc_bridge.backends.online.rate_limit import CompanyLimiter  # noqa: E402
from qbwc_bridge.backends.push import PushDriver  # noqa: E402
from qbwc_bridge.config import Settings  # noqa: E402
from qbwc_bridge.fake_qbo import FakeIntuit, serve  # noqa: E402
from qbwc_bridge.services import catalog, invoices, settings as account_settings  # noqa: E402
from qbwc_bridge.services.accounts import create_account  # noqa: E402
from qbwc_bridge.services.status import RECONNECT_NEEDED  # noqa: E402
from qbwc_bridge.store.db import Store  # noqa: E402
from qbwc_bridge.store.migrate import upgrade  # noqa: E402
from qbwc_bridge.store.models import Account, PackedOrder  # noqa: E402
from qbwc_bridge.worker import Worker  # noqa: E402
from tests.contract.worlds import CLIENT_ID, CLIENT_SECRET, connect_online  # noqa: E402
from tests.integration.invoice_world import Clock  # noqa: E402
from tests.support.postgres import PostgresServer, ThrowawayPostgres, find_pg_bin_dir  # noqa: E402

REALM_BASE = 9130350000000001
QBO_CALLS_PER_MINUTE = 500  # Intuit's limit per company
MAX_DRIVES = 100_000  # drives before a run gives up: the bridge must settle long before


def environ(database_url: str, data_dir: Path, intuit_url: str) -> dict[str, str]:
    return {
        "QBWC_BRIDGE_DATABASE_URL": database_url, "QBWC_BRIDGE_DATA_DIR": str(data_dir),
        "QBWC_BRIDGE_SECRET_KEY": "b" * 40, "QBWC_BRIDGE_LOG_LEVEL": "WARNING",
        "QBWC_BRIDGE_QBO_CLIENT_ID": CLIENT_ID, "QBWC_BRIDGE_QBO_CLIENT_SECRET": CLIENT_SECRET,
        "QBWC_BRIDGE_QBO_API_BASE": intuit_url, "QBWC_BRIDGE_QBO_AUTHORIZE_URL": intuit_url + "/connect/oauth2",
        "QBWC_BRIDGE_QBO_TOKEN_URL": intuit_url + "/oauth2/v1/tokens/bearer",
        "QBWC_BRIDGE_QBO_REVOKE_URL": intuit_url + "/v2/oauth2/tokens/revoke",
    }  # fmt: skip


# Each run's companies get realms of their own: the bridge keeps Intuit's 500 calls a minute per realm
# in this process (backends/online/rate_limit.py), so a realm reused by the next run would be paced
# by the calls of the one before.
RUNS = itertools.count()


def realm(n: int, run: int) -> str:
    return str(REALM_BASE + 1000 * run + n)


def new_company(intuit: FakeIntuit, name: str, items: int, customers: int):
    # Duplicate DocNumbers allowed (QuickBooks' default): no 6140 refusal hides a second copy of an invoice.
    company = intuit.add_company(name, f"Bench Company {name}", forbid_duplicate_doc_numbers=False)
    company.generate(items, customers)
    return company


@dataclass
class Bridge:
    """The bridge's side: settings, a migrated store and connected Online accounts (ids by realm)."""

    environ: dict[str, str]
    settings: Settings
    store: Store
    accounts: dict[str, int]


def connect_bridge(database_url: str, data_dir: Path, intuit: FakeIntuit | Callable[[list[str]], None],
                   intuit_url: str, realms: list[str]) -> Bridge:
    """``intuit``: the fake, or a function registering the bridge's redirect URIs with a fake in another process."""
    env = environ(database_url, data_dir, intuit_url)
    settings = Settings.from_env(env)
    register = intuit if callable(intuit) else lambda uris: intuit.register_app(CLIENT_ID, CLIENT_SECRET, uris)
    register([settings.qbo_redirect_uri])
    store = Store.from_settings(settings)
    upgrade(store)
    accounts = {}
    for name in realms:
        with store.begin() as db:
            accounts[name] = create_account(db, f"Bench {name}", "online").account_id
        connect_online(store, settings, accounts[name], name)
    return Bridge(env, settings, store, accounts)


def settle(worker: Worker, clock: Clock) -> int:
    """Drive until nothing is due within a minute, moving the manual clock over backoff; returns the drives."""
    for drives in range(1, MAX_DRIVES + 1):
        next_due = worker.run_once()
        if next_due is None or next_due > clock.now + dt.timedelta(minutes=1):
            return drives
        clock.now = max(clock.now, next_due) + dt.timedelta(seconds=1)
    raise RuntimeError(f"the bridge did not settle in {MAX_DRIVES} drives")


class VirtualTime:
    """Intuit's minute kept on the run's manual clock, so pacing costs no wall time but is still enforced.

    The bridge's 500-calls-a-minute limiter (backends/online/rate_limit.py) and the client's backoff
    between retries read and sleep this clock instead of the real one: sleeping moves the clock on.
    The fake reads the same clock, so its own 500-a-minute window sees the calls exactly as paced
    (its refusals beyond the injected 429s are printed: they must be 0). How far the clock moved is
    what the run would take against QuickBooks' real limit (pacing and backoff; not our CPU).
    """

    def __init__(self, clock: Clock):
        self.clock = clock
        self.lock = threading.Lock()
        self.start = clock.now

    def seconds(self) -> float:
        return self.clock.now.timestamp()

    def sleep(self, seconds: float) -> None:
        # Up to the next whole microsecond: the limiter reckons in float seconds, the fake in datetimes,
        # and a wait rounded down would land a hair inside the fake's minute.
        with self.lock:
            self.clock.now += dt.timedelta(microseconds=math.ceil(max(seconds, 0.0) * 1_000_000))

    def elapsed(self) -> float:
        return (self.clock.now - self.start).total_seconds()

    def backend(self) -> OnlineBackend:
        """An Online backend whose limiters (one per realm, as in production) and backoff run on this clock."""
        limiters: dict[str, CompanyLimiter] = {}

        def limiter(realm_id: str) -> CompanyLimiter:
            if realm_id not in limiters:
                limiters[realm_id] = CompanyLimiter(clock=self.seconds, sleep=self.sleep)
            return limiters[realm_id]

        return OnlineBackend(clock=self.clock, limiters=limiter, sleep=self.sleep)


def rss_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (the peak since :func:`reset_peak_rss`) of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak_rss() -> None:
    # Linux resets VmHWM to the current RSS on "5", so each run's peak is its own (not an earlier run's).
    Path("/proc/self/clear_refs").write_text("5")


def ratio(figure: float, baseline: float) -> str:
    return f"x{figure / baseline:.1f}" if baseline else "-"


# -- initial sync ---------------------------------------------------------------------------------


def fake_process(name: str, records: int, commands) -> None:
    """The fake Intuit with the synced company, in a process of its own so the bench's memory is the bridge's.

    Answers ``commands`` (a pipe): ("register", redirect URIs), ("requests", from index) -> [(method, path)],
    ("stop",) -> the process's CPU seconds.
    """
    intuit = FakeIntuit()
    new_company(intuit, name, records, records)
    # The real limit is projected from the calls instead (and the bridge paces itself on a virtual clock).
    intuit.set_limits(requests_per_minute=None, batches_per_minute=None)
    with serve(intuit) as fake:
        commands.send(fake.url)
        while True:
            command, *args = commands.recv()
            if command == "register":
                intuit.register_app(CLIENT_ID, CLIENT_SECRET, args[0])
                commands.send(None)
            elif command == "requests":
                commands.send([(r.method, r.path) for r in intuit.requests(name)[args[0]:]])
            else:
                commands.send(time.process_time())
                return


def sync(database_url: str, data_dir: Path, records: int) -> dict:
    clock = Clock(dt.datetime.now(dt.timezone.utc).replace(microsecond=0))
    virtual = VirtualTime(clock)
    name = realm(0, next(RUNS))
    context = multiprocessing.get_context("spawn")
    commands, theirs = context.Pipe()
    fake = context.Process(target=fake_process, args=(name, records, theirs))
    fake.start()

    def ask(*command):
        commands.send(command)
        return commands.recv()

    try:
        url = commands.recv()  # once the company is generated and served
        backends.register("online", virtual.backend())
        bridge = connect_bridge(database_url, data_dir, lambda uris: ask("register", uris), url, [name])
        driver = PushDriver(bridge.settings, clock=clock)
        worker = Worker(bridge.store, due=driver.due_accounts, drive=driver.drive_account, clock=clock)
        calls_before = len(ask("requests", 0))
        reset_peak_rss()
        rss_before = rss_mb("VmRSS")
        wall, cpu = time.perf_counter(), time.thread_time()
        settle(worker, clock)
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        rss_after = rss_mb("VmHWM")
        made = ask("requests", calls_before)
        queries = [path for method, path in made if method == "GET"]
        token = connection.access_token(bridge.store, bridge.settings, bridge.accounts[name])
        bridge.store.dispose()
        bare_wall, bare_cpu = time.perf_counter(), time.thread_time()
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}",
                                                 "Accept": "application/json"}, timeout=60) as client:
            for path in queries:
                client.get(path).json()
        bare_wall, bare_cpu = time.perf_counter() - bare_wall, time.thread_time() - bare_cpu
        ask("stop")
    finally:
        fake.join(60)
        if fake.is_alive():
            fake.kill()
    return {"calls": len(made), "queries": len(queries), "wall": wall, "cpu": cpu, "bare_wall": bare_wall,
            "bare_cpu": bare_cpu, "rss": rss_after, "rss_growth": rss_after - rss_before,
            "rss_start": rss_before, "paced": virtual.elapsed()}


def sync_process(database_url: str, data_dir: Path, records: int, answer) -> None:
    answer.put(sync(database_url, data_dir, records))


def sync_fresh(database_url: str, data_dir: Path, records: int) -> dict:
    """:func:`sync` in a fresh process: its peak RSS is then this sync's, not an earlier run's heap as well."""
    context = multiprocessing.get_context("spawn")
    answer = context.Queue()
    process = context.Process(target=sync_process, args=(database_url, data_dir, records, answer))
    process.start()
    try:
        return answer.get(timeout=3600)
    finally:
        process.join(60)


def print_sync(records: int, results: list[tuple[str, dict]]) -> None:
    thousands = 2 * records / 1000
    print(f"\nInitial sync of {records} items + {records} customers from the fake (a process of its own) over "
          f"loopback HTTP (baseline: a bare httpx loop replaying the same GET queries, JSON parsed)")
    print("  (peak RSS: the bridge's process only, a fresh one per database, beside its RSS before the sync, "
          "connected, nothing synced: the memory baseline; at 500/min: the calls at QuickBooks' limit)")
    print(f"  {'database':10} {'calls':>6} {'wall s':>8} {'bare s':>7} {'ratio':>6} {'CPU ms/1000':>12} "
          f"{'bare ms/1000':>12} {'ratio':>6} {'peak RSS MB':>12} {'start MB':>9} {'growth MB':>10} "
          f"{'at 500/min':>10}")
    for database, f in results:
        print(f"  {database:10} {f['calls']:6} {f['wall']:8.2f} {f['bare_wall']:7.2f} "
              f"{ratio(f['wall'], f['bare_wall']):>6} {f['cpu'] * 1000 / thousands:12.1f} "
              f"{f['bare_cpu'] * 1000 / thousands:12.1f} {ratio(f['cpu'], f['bare_cpu']):>6} {f['rss']:12.0f} "
              f"{f['rss_start']:9.0f} {f['rss_growth']:10.0f} "
              f"{f['calls'] / QBO_CALLS_PER_MINUTE * 60:9.1f}s")


# -- packed orders under faults -------------------------------------------------------------------

ORDER_CUSTOMERS, ORDER_ITEMS = 50, 20


def prepare_orders(bridge: Bridge, company, orders: int, first: int = 0) -> list[str]:
    """BlueTrace's customers and items matched to the company's (by SKU and email), invoices on, the orders packed."""
    account_id = bridge.accounts[company.realm]
    customers = [r for r in company.table("Customer").rows][:ORDER_CUSTOMERS]
    items = [r for r in company.table("Item").rows if r.get("Sku")][:ORDER_ITEMS]
    numbers = []
    with bridge.store.begin() as db:
        account_settings.update_settings(db, account_id, {
            "ar_account": "Sales of Product Income", "ap_account": "Cost of Goods Sold",
            "default_terms": "Net 30", "invoice_creation": True})
        for r in customers:
            catalog.upsert_customer(db, account_id, f"c-{r['Id']}", {
                "name": r["DisplayName"], "billing_email": r["PrimaryEmailAddr"]["Address"]})
        for r in items:
            catalog.upsert_item(db, account_id, f"i-{r['Id']}", {"sku": r["Sku"], "name": r["Name"]})
        for n in range(first, first + orders):
            number = f"SO-{n + 1:06d}"
            numbers.append(number)
            invoices.record_packed_order(db, account_id, f"o-{n}", {
                "order_number": number, "customer_id": f"c-{customers[n % len(customers)]['Id']}",
                "packed_at": "2026-11-30T15:00:00-05:00",
                "lines": [{"item_id": f"i-{items[(n + k) % len(items)]['Id']}", "quantity": "2",
                           "unit_price": "9.99"} for k in range(3)]})
    return numbers


def outcome(intuit: FakeIntuit, realms: list[str], numbers: list[str]) -> tuple[int, int]:
    """(duplicates, missing) over the companies: extra copies of a DocNumber, orders with no invoice."""
    found = [i.get("DocNumber") for name in realms for i in intuit.invoices(name)]
    duplicates = len(found) - len(set(found))
    return duplicates, len(set(numbers) - set(found))


def faults(database_url: str, data_dir: Path, orders: int, faulty: bool) -> dict:
    clock = Clock(dt.datetime.now(dt.timezone.utc).replace(microsecond=0))
    intuit = FakeIntuit(clock=clock, seed=13)
    name = realm(0, next(RUNS))
    company = new_company(intuit, name, ORDER_ITEMS, ORDER_CUSTOMERS)
    virtual = VirtualTime(clock)  # the fake keeps its 500 a minute on the same clock
    backends.register("online", virtual.backend())
    with serve(intuit) as fake:
        bridge = connect_bridge(database_url, data_dir, intuit, fake.url, [name])
        # Connect's one CompanyInfo read (backends/online/oauth.py) goes outside the company's limiter; a
        # minute on, it is out of the fake's window, which then counts only calls the limiter paced.
        clock.advance(minutes=1)
        driver = PushDriver(bridge.settings, clock=clock)
        worker = Worker(bridge.store, due=driver.due_accounts, drive=driver.drive_account, clock=clock)
        settle(worker, clock)  # the lists first: matching needs them
        numbers = prepare_orders(bridge, company, orders)
        if faulty:
            intuit.inject("lose_answer", rate=0.10, on="write", realm=name)
            intuit.inject("unavailable", rate=0.05, on="any", realm=name)
            intuit.inject("throttle", rate=0.05, on="any", realm=name)
        calls_before = len(intuit.requests(name))
        refusals_before = intuit.limits.refusals.get(name, 0)
        virtual_start = clock.now
        wall = time.perf_counter()
        settle(worker, clock)
        wall = time.perf_counter() - wall
        virtual_elapsed = (clock.now - virtual_start).total_seconds()
        calls = len(intuit.requests(name)) - calls_before
        refusals = intuit.limits.refusals.get(name, 0) - refusals_before
        fired = {kind: intuit.faults.fired(kind) for kind in ("lose_answer", "unavailable", "throttle")}
        duplicates, missing = outcome(intuit, [name], numbers)
        with bridge.store.begin() as db:
            misadopted = db.scalar(select(func.count()).select_from(PackedOrder).where(
                PackedOrder.ref_number != PackedOrder.order_number))
        bridge.store.dispose()
    return {"calls": calls, "wall": wall, "duplicates": duplicates, "missing": missing, "misadopted": misadopted,
            "fired": fired, "intuit_seconds": virtual_elapsed, "refusals": refusals}


def print_faults(orders: int, results: list[tuple[str, dict, dict]]) -> None:
    print(f"\n{orders} packed orders (3 lines each), 10% lost answers + 5% 503 + 5% 429 (seeded) against the same "
          f"orders without faults; one company, paced to 500 calls/min and backing off on a virtual clock")
    print("  (others: orders the bridge marks created with another order's invoice, adopted after a look-up;")
    print("   Intuit min: how far the run moved the clock, i.e. its length at QuickBooks' limit, pacing and backoff;")
    print("   over-limit: the fake's own 429s for more than 500 calls in a minute, beyond the injected ones: must be 0)")
    print(f"  {'database':10} {'dupl.':>5} {'missing':>7} {'others':>6} {'calls/inv':>9} {'base':>6} {'ratio':>6} "
          f"{'wall s':>7} {'base s':>7} {'ratio':>6} {'Intuit min':>10} {'base':>6} {'over-limit':>10}  faults fired")
    for database, f, b in results:
        print(f"  {database:10} {f['duplicates']:5} {f['missing']:7} {f['misadopted']:6} {f['calls'] / orders:9.2f} "
              f"{b['calls'] / orders:6.2f} {ratio(f['calls'], b['calls']):>6} {f['wall']:7.2f} {b['wall']:7.2f} "
              f"{ratio(f['wall'], b['wall']):>6} {f['intuit_seconds'] / 60:10.1f} {b['intuit_seconds'] / 60:6.1f} "
              f"{f['refusals'] + b['refusals']:10}  {f['fired']}")
        print(f"  {'':10} baseline: dupl. {b['duplicates']}, missing {b['missing']}, others {b['misadopted']}; "
              f"calls {f['calls']} against {b['calls']}")


# -- worker processes, expiring tokens ------------------------------------------------------------


def worker_process(env: dict[str, str], ready, go, stop) -> None:
    settings = Settings.from_env(env)
    store = Store.from_settings(settings)
    driver = PushDriver(settings)
    worker = Worker(store, due=driver.due_accounts, drive=driver.drive_account, poll_seconds=0.05)
    ready.put(True)
    go.wait(300)  # the clock starts when every process is up: spawning and imports are not the figure
    while not stop.is_set():
        worker.run_once()
        stop.wait(0.05)
    store.dispose()


def workers(database_url: str, data_dir: Path, processes: int, accounts: int, orders: int,
            expire_every: float | None, end_fresh: bool = False) -> dict:
    intuit = FakeIntuit(seed=13)
    run = next(RUNS)
    realms = [realm(n, run) for n in range(accounts)]
    companies = [new_company(intuit, name, ORDER_ITEMS, ORDER_CUSTOMERS) for name in realms]
    backends.register("online", OnlineBackend())
    with serve(intuit, threads=32) as fake:
        bridge = connect_bridge(database_url, data_dir, intuit, fake.url, realms)
        driver = PushDriver(bridge.settings)
        setup = Worker(bridge.store, due=driver.due_accounts, drive=driver.drive_account)
        setup.run_once()  # the lists synced here, so the processes time the invoices only
        numbers = [number for n, company in enumerate(companies)
                   for number in prepare_orders(bridge, company, orders, first=n * orders)]
        refreshes = intuit.refresh_count
        context = multiprocessing.get_context("spawn")
        ready, go, stop = context.Queue(), context.Event(), context.Event()
        running = [context.Process(target=worker_process, args=(bridge.environ, ready, go, stop))
                   for _ in range(processes)]
        for process in running:
            process.start()
        for _ in running:
            ready.get(timeout=300)
        go.set()
        wall = time.perf_counter()
        expiries, deadline, next_expiry = 0, time.monotonic() + 600, time.monotonic()
        missing, progress_at = len(numbers), time.monotonic()
        # Until every order is an invoice, or nothing more came for a minute (accounts paused for a person).
        while missing and time.monotonic() < min(deadline, progress_at + 60):
            now_missing = outcome(intuit, realms, numbers)[1]
            if now_missing < missing:
                missing, progress_at = now_missing, time.monotonic()
            if expire_every and time.monotonic() >= next_expiry:
                # Tokens issued at least a period ago: each lives one to two periods, so one just refreshed
                # is not refused at once (ending every token, a retry that came later than the next tick
                # on this shared machine had its fresh token refused: see --end-fresh-tokens).
                intuit.expire_access_tokens(older_than=None if end_fresh else dt.timedelta(seconds=expire_every))
                expiries += 1
                next_expiry = time.monotonic() + expire_every
            time.sleep(0.02)
        wall = time.perf_counter() - wall
        time.sleep(0.5)  # a write still in flight would show as a duplicate now
        stop.set()
        for process in running:
            process.join(60)
            if process.is_alive():  # still backing off inside a drive: not to outlive the database it uses
                process.terminate()
                process.join(10)
        duplicates, missing = outcome(intuit, realms, numbers)
        with bridge.store.begin() as db:
            paused = db.scalar(select(func.count()).select_from(Account).where(
                Account.error_code == RECONNECT_NEEDED))
        bridge.store.dispose()
    return {"wall": wall, "refreshes": intuit.refresh_count - refreshes, "expiries": expiries,
            "reuses": len(intuit.refresh_token_reuses), "duplicates": duplicates, "missing": missing,
            "paused": paused}


def print_workers(processes: int, accounts: int, orders: int, expire_every: float, end_fresh: bool, f: dict,
                  b: dict) -> None:
    ended = "every access token" if end_fresh else f"every access token issued {expire_every:g} s or more before"
    print(f"\n{processes} worker processes on PostgreSQL, {accounts} accounts x {orders} orders, {ended} ended each "
          f"{expire_every:g} s, against the same run with no expiry (the machine is shared: wall times are "
          f"indicative; refreshes needed: at most expiries x accounts; 0 reuses, 0 duplicates, 0 missing, "
          f"0 paused: accounts marked reconnect_needed)")
    print(f"  {'run':10} {'expiries':>8} {'refreshes':>9} {'reuses':>6} {'dupl.':>5} {'missing':>7} {'paused':>6} "
          f"{'wall s':>7} {'ratio':>6}")
    for name, figures in (("expiring", f), ("baseline", b)):
        print(f"  {name:10} {figures['expiries']:8} {figures['refreshes']:9} {figures['reuses']:6} "
              f"{figures['duplicates']:5} {figures['missing']:7} {figures['paused']:6} {figures['wall']:7.2f} "
              f"{ratio(figures['wall'], b['wall']):>6}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20_000, help="items, and as many customers, to sync")
    parser.add_argument("--orders", type=int, default=200, help="packed orders under faults")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--accounts", type=int, default=8)
    parser.add_argument("--orders-per-account", type=int, default=25)
    parser.add_argument("--expire-every", type=float, default=2.0,
                        help="seconds between ending the access tokens issued at least that long before")
    parser.add_argument("--end-fresh-tokens", action="store_true",
                        help="end every access token, even one issued a moment before (a fresh token refused)")
    parser.add_argument("--only", choices=("sync", "faults", "workers"))
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ThrowawayPostgres(find_pg_bin_dir()) as pg:
        tmp = Path(tmp)
        server = PostgresServer(pg.base_url)
        databases = [("SQLite", lambda name: f"sqlite:///{tmp}/{name}.sqlite3")]
        if not args.no_postgres:
            databases.append(("PostgreSQL", server.create_database))
        if args.only in (None, "sync"):
            print_sync(args.records, [(label, sync_fresh(url(f"sync{n}"), tmp / f"sync{n}", args.records))
                                      for n, (label, url) in enumerate(databases)])
        if args.only in (None, "faults"):
            print_faults(args.orders, [(label, faults(url(f"faults{n}"), tmp / f"faults{n}", args.orders, True),
                                        faults(url(f"clean{n}"), tmp / f"clean{n}", args.orders, False))
                                       for n, (label, url) in enumerate(databases)])
        if args.only in (None, "workers") and not args.no_postgres:
            measured = [workers(server.create_database(name), tmp / name, args.processes, args.accounts,
                                args.orders_per_account, expire, args.end_fresh_tokens)
                        for name, expire in (("expiring", args.expire_every), ("steady", None))]
            print_workers(args.processes, args.accounts, args.orders_per_account, args.expire_every,
                          args.end_fresh_tokens, *measured)
        server.dispose()


if __name__ == "__main__":
    main()
