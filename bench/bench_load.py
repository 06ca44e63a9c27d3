"""Many Web Connectors at once: N simulated accounts polling two ``qbwc-bridge serve`` processes on one PostgreSQL.

Issue 14, target 5. Each account is a Desktop company of its own: a strict fake QuickBooks
(:mod:`qbwc_bridge.simulator`, Intuit's XSD checked on every message set) behind the
simulated Web Connector, which polls on its own jittered schedule (never in lock-step)
through a round-robin "load balancer" over the server processes (each SOAP call may land on
either). Before each session, the account's BlueTrace backend posts 1-5 packed orders
(``POST /api/v1/orders/{id}/packed``), sometimes asks to Create a customer in QuickBooks
(``PUT /customers/{id}`` + ``POST .../create-in-quickbooks``), and a bookkeeper sometimes
edits a customer or an item in QuickBooks (which the next incremental pull, due every
minute here, lists as a change). Sessions therefore carry real work: InvoiceAdds,
CustomerAdds, incremental pulls and deletion queries.

Set-up (not measured): one throwaway PostgreSQL, N accounts created with the services layer,
BlueTrace items and customers written in bulk, invoice creation and default terms on, then
each company's real initial sync through the simulator, so the engine itself matches
every record.

Measured in the same run and printed side by side:
* qbwc-bridge: sessions/s, SOAP calls/s, p50/p99 of each SOAP operation and API call,
  errors (must be 0), CPU seconds of the servers and of PostgreSQL, schedule lag;
* baseline: the same clients, same schedule, against bench/bare_spyne_server.py (constant
  answers) for SOAP, and ``GET /healthz`` for the API;
* exactly once, after the load stops and the outbox drains: every packed order has
  exactly one invoice in its simulated company (none missing, none duplicated), every
  customer created in QuickBooks exists once;
* capacity: accounts per core at a 2-minute poll = sessions per server CPU-second x 120;
* the load generator's own CPU (it must not be the bottleneck).

Run (from a checkout; QBWC_BRIDGE_SHARED_DIR names shared/ with Intuit's XSDs):
    .venv/bin/python bench/bench_load.py --accounts 300 --seconds 180 --servers 2
    .venv/bin/python bench/bench_load.py --quick        # 3 accounts for 5 s: a smoke run
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import re
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from qbwc_bridge.backends.desktop.qwc import render_qwc  # noqa: E402
from qbwc_bridge.backends.desktop.schema import load_qbxml_schema, schema_dir  # noqa: E402
from qbwc_bridge.config import Settings, _find_shared_dir  # noqa: E402
from qbwc_bridge.simulator import QwcFile, RequestProcessor, WebConnector, company_from_description  # noqa: E402
from qbwc_bridge.simulator.http_transport import HttpTransport  # noqa: E402
from qbwc_bridge.simulator.records import EntityKind  # noqa: E402
from qbwc_bridge.simulator.seeding import add_entity, add_item  # noqa: E402

ITEMS_PER_COMPANY = 8
CUSTOMERS_PER_COMPANY = 6
CREATE_CHANCE = 0.15  # per session: the backend asks to Create a customer in QuickBooks
EDIT_CHANCE = 0.4  # per session: a bookkeeper edits a customer or an item in QuickBooks
SECRET = "L" * 40
SOAP_OPERATIONS = ("serverVersion", "clientVersion", "authenticate", "sendRequestXML", "receiveResponseXML",
                   "getLastError", "closeConnection")
REQUEST_NAMES = re.compile(r"<(\w+(?<!Msgs)Rq)\b")
OK_OUTCOMES = ("completed", "no work (none)")


# ============================================================== the load generator (child processes)


class BalancedTransport(HttpTransport):
    """QBWC's HTTP behind a round-robin load balancer: each call goes to the next server process."""

    def __init__(self, netlocs: list[str], start: int):
        super().__init__(timeout=120)
        self.netlocs, self.next = netlocs, start

    def _route(self, url: str) -> str:
        netloc = self.netlocs[self.next % len(self.netlocs)]
        self.next += 1
        return urlunsplit(urlsplit(url)._replace(netloc=netloc))

    def post_soap(self, url, action, envelope):
        return super().post_soap(self._route(url), action, envelope)

    def get(self, url):
        return super().get(self._route(url))


class ApiClient:
    """BlueTrace's backend: keep-alive HTTP per thread and server, timed per call."""

    def __init__(self, netlocs: list[str]):
        self.netlocs = netlocs
        self.local = threading.local()

    def request(self, server: int, method: str, path: str, token: str | None = None, body=None) -> tuple[int, bytes]:
        connections = self.local.__dict__.setdefault("connections", {})
        netloc = self.netlocs[server % len(self.netlocs)]
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):
            connection = connections.get(netloc)
            if connection is None:
                host, port = netloc.rsplit(":", 1)
                connection = connections[netloc] = http.client.HTTPConnection(host, int(port), timeout=120)
            try:
                connection.request(method, path, body=data, headers=headers)
                response = connection.getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                connections.pop(netloc, None)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


@dataclass
class SimAccount:
    """One simulated customer of ours: its QuickBooks company, Web Connector and BlueTrace backend."""

    account_id: int
    username: str
    password: str
    api_token: str
    company: object = None
    connector: WebConnector | None = None
    bare: WebConnector | None = None
    customers: list[str] = field(default_factory=list)  # BlueTrace customer ids
    items: list[str] = field(default_factory=list)  # BlueTrace item ids
    rng: random.Random = field(default_factory=random.Random)
    orders: list[str] = field(default_factory=list)  # every order id posted (answered 202)
    created: list[str] = field(default_factory=list)  # customer names asked to be created in QuickBooks
    api_calls: int = 0


class Stats:
    """What one generator process saw in one phase (merged in the parent)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)  # "soap:op" / "api:label" -> seconds
        self.sessions = 0
        self.soap_calls = 0
        self.api_calls = 0
        self.outcomes: dict[str, int] = defaultdict(int)
        self.requests: dict[str, int] = defaultdict(int)  # qbXML requests QuickBooks processed, by name
        self.errors: list[str] = []  # the first 100
        self.error_count = 0
        self.lag: list[float] = []
        self.window = (0.0, 0.0)

    def in_window(self, at: float) -> bool:
        return self.window[0] <= at < self.window[1]

    def error(self, text: str) -> None:
        with self.lock:
            self.error_count += 1
            if len(self.errors) < 100:
                self.errors.append(text)

    def session(self, transcript, ended: float) -> None:
        with self.lock:
            self.outcomes[transcript.outcome] += 1
            if not self.in_window(ended):
                return
            self.sessions += 1
            self.soap_calls += len(transcript.calls)
            for call in transcript.calls:
                self.latency["soap:" + call.operation].append(call.seconds)
            for exchange in transcript.exchanges:
                for name in REQUEST_NAMES.findall(exchange.request):
                    self.requests[name] += 1

    def api(self, label: str, seconds: float, ended: float) -> None:
        if self.in_window(ended):
            with self.lock:
                self.api_calls += 1
                self.latency["api:" + label].append(seconds)

    def export(self) -> dict:
        return {"latency": dict(self.latency), "sessions": self.sessions, "soap_calls": self.soap_calls,
                "api_calls": self.api_calls, "outcomes": dict(self.outcomes), "requests": dict(self.requests), "errors": self.errors, "error_count": self.error_count, "lag": self.lag,
                "cpu": time.process_time()}


def build_company(seed: int):
    """A small company whose items and customers all have a BlueTrace counterpart to match."""
    company = company_from_description({})
    for n in range(ITEMS_PER_COMPANY):
        add_item(company, {"kind": "non_inventory", "name": f"SKU-{seed}-{n:02d}", "description": f"Part {n}",
                           "price": "9.95", "account": "Sales"})
    for n in range(CUSTOMERS_PER_COMPANY):
        add_entity(company, EntityKind.CUSTOMER, {"name": f"Buyer {seed}-{n:02d}", "email": f"b{n}@acct{seed}.test",
                                                  **({"terms": "Net 30"} if n % 2 else {})})
    return company


class Generator:
    """The accounts of one generator process and the threads that play their schedules."""

    def __init__(self, accounts: list[dict], config: dict):
        self.config = config
        self.netlocs = [urlsplit(url).netloc for url in config["servers"]]
        self.api = ApiClient(self.netlocs)
        self.accounts = [SimAccount(a["account_id"], a["username"], a["password"], a["api_token"],
                                    rng=random.Random(config["seed"] * 100003 + a["account_id"])) for a in accounts]
        self.schemas = threading.local()

    # ------------------------------------------------------------------ set-up
    def set_up(self) -> None:
        from sqlalchemy import insert

        from qbwc_bridge.store.db import Store
        from qbwc_bridge.store.models import Account, BtCustomer, BtItem, search_key

        shared = Path(self.config["shared"])
        folder = schema_dir(shared)
        template = RequestProcessor(company_from_description({}), folder)  # loads the XSD and field rules once
        store = Store(self.config["database_url"])
        settings = Settings.from_env(self.config["env"])
        for account in self.accounts:
            company = account.company = build_company(account.account_id)
            processor = RequestProcessor(company, None)
            processor.schema_folder, processor.field_rules = template.schema_folder, template.field_rules
            with store.begin() as db:
                row = db.get(Account, account.account_id)
                row.invoice_creation = True
                row.default_terms_id = company.find_terms(full_name="Net 15").stamp.id
                items, customers = [], []
                for n, item in enumerate(company.sorted_items()):
                    account.items.append(f"I{n:02d}")
                    items.append({"account_id": account.account_id, "item_id": f"I{n:02d}", "sku": item.name,
                                  "name": item.name, "kind": "non_inventory", "active": True,
                                  "sku_key": search_key(item.name, 100), "name_key": search_key(item.name, 400)})
                for n, customer in enumerate(company.customers):
                    account.customers.append(f"C{n:02d}")
                    customers.append({"account_id": account.account_id, "customer_id": f"C{n:02d}",
                                      "name": customer.name, "billing_email": customer.email,
                                      "email_key": search_key(customer.email, 320), "active": True,
                                      "name_key": search_key(customer.name, 400)})
                db.execute(insert(BtItem), items)
                db.execute(insert(BtCustomer), customers)
                qwc = render_qwc(db, settings, account.account_id)
            account.connector = WebConnector(processor, password=account.password, noop_pause=0,
                                             transport=BalancedTransport(self.netlocs, account.rng.randrange(8)),
                                             max_calls_per_session=2000)
            added = account.connector.add_application(qwc)
            if not added.ok:
                raise RuntimeError(f"account {account.account_id}: .qwc refused: {added.to_text()}")
            application = account.connector.application
            bare = QwcFile(application.app_name, self.config["bare_url"], application.app_support, "busy",
                           application.owner_id, application.file_id)
            account.bare = WebConnector(processor, password="x", noop_pause=0, transport=HttpTransport(timeout=120))
            account.bare.application = bare
        # The initial syncs, several accounts at once (the engine matches every record at their end).
        stats = Stats()
        self._pool(lambda account: self._initial_sync(account, store, stats))
        store.dispose()
        if stats.errors:
            raise RuntimeError("initial sync failed:\n" + "\n".join(stats.errors[:10]))

    def _initial_sync(self, account: SimAccount, store, stats: Stats) -> None:
        from qbwc_bridge.store.models import Account

        for _ in range(10):
            self._use_schema(account.connector)
            transcript = account.connector.run_session()
            if not transcript.ok:
                stats.error(f"account {account.account_id} initial sync: {transcript.outcome} {transcript.errors}")
                return
            with store.begin() as db:
                if db.get(Account, account.account_id).status == "connected":
                    return
        stats.error(f"account {account.account_id}: not connected after 10 sessions")

    def _use_schema(self, connector: WebConnector) -> None:
        """lxml's XMLSchema keeps an error log per object: one compiled schema per thread."""
        if not hasattr(self.schemas, "schema"):
            self.schemas.schema = load_qbxml_schema(schema_dir(Path(self.config["shared"])))
        connector.quickbooks.schema = self.schemas.schema

    def _pool(self, task, threads: int | None = None) -> None:
        """Run ``task`` once per account over a pool of threads."""
        queue = list(self.accounts)
        lock = threading.Lock()

        def work():
            while True:
                with lock:
                    if not queue:
                        return
                    account = queue.pop()
                task(account)

        workers = [threading.Thread(target=work) for _ in range(threads or self.config["threads"])]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    # ------------------------------------------------------------------ the schedule
    def run_schedule(self, start_at: float, end_at: float, one_session) -> dict:
        """Each account polls every ``poll`` s (x0.5-1.5, its own rng) until ``end_at``; threads take whoever is due."""
        import heapq

        stats = Stats()
        stats.window = (start_at, end_at)
        poll = self.config["poll"]
        heap = [(start_at + account.rng.uniform(0, poll), index) for index, account in enumerate(self.accounts)]
        heapq.heapify(heap)
        lock = threading.Lock()
        cpu_before = time.process_time()
        busy = [0, 0]  # threads in a session now, the most at once

        def work():
            while True:
                with lock:
                    if not heap:  # more threads than accounts waiting
                        due = None
                    else:
                        due, index = heapq.heappop(heap)
                if due is None:
                    time.sleep(0.05)
                    if time.time() >= end_at:
                        return
                    continue
                with lock:
                    if due >= end_at:
                        heapq.heappush(heap, (due, index))
                        return
                delay = due - time.time()
                if delay > 0:
                    time.sleep(delay)
                lag = max(0.0, -delay)
                account = self.accounts[index]
                with lock:
                    busy[0] += 1
                    busy[1] = max(busy)
                try:
                    one_session(account, stats)
                except Exception:  # noqa: BLE001 - recorded as an error, the run goes on
                    stats.error(f"account {account.account_id}: {traceback.format_exc(limit=3)}")
                with lock:
                    busy[0] -= 1
                if stats.in_window(due):
                    stats.lag.append(lag)
                with lock:
                    heapq.heappush(heap, (time.time() + poll * account.rng.uniform(0.5, 1.5), index))

        workers = [threading.Thread(target=work) for _ in range(self.config["threads"])]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        result = stats.export()
        result["cpu"] = time.process_time() - cpu_before
        result["peak_busy"] = busy[1]
        return result

    def _timed_api(self, stats: Stats, label: str, expected: tuple[int, ...], account: SimAccount, method: str,
                   path: str, token: str | None = None, body=None) -> bytes:
        server = account.api_calls
        account.api_calls += 1
        started = time.perf_counter()
        status, payload = self.api.request(server, method, path, token, body)
        stats.api(label, time.perf_counter() - started, time.time())
        if status not in expected:
            stats.error(f"account {account.account_id}: {method} {path} -> {status} {payload[:300]!r}")
        return payload

    def bridge_session(self, account: SimAccount, stats: Stats, *, post: bool = True) -> str:
        """BlueTrace's backend and the bookkeeper do their part, then the Web Connector runs one session."""
        rng, token = account.rng, account.api_token
        if post:
            if rng.random() < EDIT_CHANCE:  # a change made in QuickBooks, for the next incremental pull
                company = account.company
                if rng.random() < 0.5:
                    customer = rng.choice(company.customers)
                    customer.phone = f"555-{rng.randint(1000, 9999)}"
                    company.touch(customer.stamp)
                else:
                    item = rng.choice(company.sorted_items())
                    item.description = f"Part, revised {rng.randint(1, 10**6)}"
                    company.touch(item.stamp)
            if rng.random() < CREATE_CHANCE:
                number = len(account.created)
                customer_id, name = f"NEW{number:04d}", f"New Buyer {account.account_id}-{number:04d}"
                self._timed_api(stats, "PUT /customers/{id}", (200, 201), account, "PUT",
                                f"/api/v1/customers/{customer_id}", token,
                                {"name": name, "billing_email": f"new{number}@acct{account.account_id}.test"})
                self._timed_api(stats, "POST /customers/{id}/create-in-quickbooks", (202,), account, "POST",
                                f"/api/v1/customers/{customer_id}/create-in-quickbooks", token, {})
                account.created.append(name)
            for _ in range(rng.randint(1, 5)):
                order_id = f"order-{account.account_id}-{len(account.orders):05d}"
                event = {
                    "order_number": f"SO-{account.account_id}-{len(account.orders):05d}",
                    "customer_id": rng.choice(account.customers),
                    "packed_at": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:15:00-05:00",
                    "po_number": f"PO-{rng.randint(1, 99999)}" if rng.random() < 0.5 else None,
                    "lines": [{"item_id": rng.choice(account.items), "quantity": str(rng.randint(1, 40)),
                               "unit_price": f"{rng.randint(100, 99999) / 100:.2f}"} for _ in range(rng.randint(1, 4))],
                }
                payload = self._timed_api(stats, "POST /orders/{id}/packed", (202,), account, "POST",
                                          f"/api/v1/orders/{order_id}/packed", token, event)
                account.orders.append(order_id)
                if b'"blocked"' in payload:
                    stats.error(f"account {account.account_id}: order {order_id} blocked: {payload[:300]!r}")
        self._use_schema(account.connector)
        transcript = account.connector.run_session()
        stats.session(transcript, time.time())
        if not transcript.ok or transcript.outcome not in OK_OUTCOMES:
            stats.error(f"account {account.account_id} session {transcript.number}: {transcript.outcome} "
                        f"{[(p.code, p.operation, p.message[:200]) for p in transcript.errors]}")
        return transcript.outcome

    def bare_session(self, account: SimAccount, stats: Stats) -> None:
        """The same client against constant answers; the API part is GET /healthz, as many calls as orders."""
        for _ in range(account.rng.randint(1, 5)):
            self._timed_api(stats, "GET /healthz", (200,), account, "GET", "/healthz")
        self._use_schema(account.bare)
        transcript = account.bare.run_session()
        stats.session(transcript, time.time())
        if not transcript.ok or transcript.outcome != "completed":
            stats.error(f"bare session: {transcript.outcome} {transcript.errors}")

    # ------------------------------------------------------------------ the end
    def drain(self) -> list[str]:
        """No more orders: sessions until each account's Web Connector hears "none"."""
        stats = Stats()
        unfinished = []

        def finish(account: SimAccount):
            for _ in range(15):
                if self.bridge_session(account, stats, post=False) == "no work (none)":
                    return
            unfinished.append(f"account {account.account_id}: still had work after 15 sessions")

        self._pool(finish)
        return stats.errors + unfinished

    def exactly_once(self) -> dict:
        """Ask each simulated company: one invoice per packed order, one customer per Create in QuickBooks."""
        result = {"orders": 0, "invoices": 0, "missing": [], "duplicated": [], "strays": [], "created": 0,
                  "created_missing": [], "created_duplicated": []}
        for account in self.accounts:
            found = defaultdict(int)
            for invoice in account.company.invoices.values():
                memo = invoice.memo or ""
                order_id = memo.split("(order id ", 1)[1].split(")", 1)[0] if "(order id " in memo else "?"
                found[order_id] += 1
            result["orders"] += len(account.orders)
            result["invoices"] += len(account.company.invoices)
            posted = set(account.orders)
            for order_id in account.orders:
                if found.get(order_id, 0) == 0:
                    result["missing"].append(order_id)
                elif found[order_id] > 1:
                    result["duplicated"].append(f"{order_id} x{found[order_id]}")
            result["strays"] += [f"{account.account_id}:{o}" for o in found if o not in posted]
            for name in account.created:
                result["created"] += 1
                same = [c for c in account.company.customers if c.name == name]
                if not same:
                    result["created_missing"].append(name)
                elif len(same) > 1:
                    result["created_duplicated"].append(name)
        return result


def generator_main(accounts: list[dict], config: dict, pipe) -> None:
    """A child process: set up its accounts, then play each phase the parent asks for."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    os.environ["QBWC_BRIDGE_LOG_LEVEL"] = "WARNING"
    try:
        generator = Generator(accounts, config)
        generator.set_up()
        pipe.send(("ready", None))
        while True:
            command, *args = pipe.recv()
            if command == "load":
                start_at, end_at = args
                pipe.send(("load", generator.run_schedule(start_at, end_at, generator.bridge_session)))
            elif command == "check":
                errors = generator.drain()
                pipe.send(("check", {"errors": errors, "exactly_once": generator.exactly_once()}))
            elif command == "baseline":
                start_at, end_at = args
                pipe.send(("baseline", generator.run_schedule(start_at, end_at, generator.bare_session)))
            elif command == "stop":
                return
    except Exception:  # noqa: BLE001 - the parent prints it
        pipe.send(("failed", traceback.format_exc()))


# ============================================================== the parent: servers, database, figures


def process_cpu(pid: int, children: bool = False) -> float:
    """CPU seconds of a process (utime + stime, plus its reaped children's when ``children``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu(data_dir: Path) -> float:
    """The postmaster, its reaped backends and its live ones."""
    try:
        postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    total = process_cpu(postmaster, children=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


class CpuMeter:
    """CPU seconds of named groups of processes between two snapshots."""

    def __init__(self, groups):
        self.groups = groups  # name -> callable returning CPU seconds

    def snapshot(self) -> dict[str, float]:
        return {name: read() for name, read in self.groups.items()}

    @staticmethod
    def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {name: after[name] - before[name] for name in before}


def merge(results: list[dict]) -> dict:
    merged = {"latency": defaultdict(list), "sessions": 0, "soap_calls": 0, "api_calls": 0, "outcomes": defaultdict(int),
              "requests": defaultdict(int),
              "errors": [], "error_count": 0, "lag": [], "cpu": 0.0, "peak_busy": 0}
    for result in results:
        for key, values in result["latency"].items():
            merged["latency"][key] += values
        for key in ("sessions", "soap_calls", "api_calls", "cpu", "error_count", "peak_busy"):
            merged[key] += result[key]
        for key in ("outcomes", "requests"):
            for name, count in result[key].items():
                merged[key][name] += count
        merged["errors"] += result["errors"]
        merged["lag"] += result["lag"]
    return merged


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Children:
    """The generator processes, stopped on the way out whatever happens."""

    def __init__(self):
        self.processes: list = []
        self.pipes: list = []

    def start(self, slices: list[list[dict]], config: dict) -> None:
        context = multiprocessing.get_context("spawn")
        for accounts in slices:
            parent_end, child_end = context.Pipe()
            process = context.Process(target=generator_main, args=(accounts, config, child_end), daemon=True)
            process.start()
            self.processes.append(process)
            self.pipes.append(parent_end)

    def send_all(self, *message) -> None:
        for pipe in self.pipes:
            pipe.send(message)

    def receive_all(self, expected: str, timeout: float) -> list:
        answers = []
        deadline = time.monotonic() + timeout
        for pipe, process in zip(self.pipes, self.processes):
            while not pipe.poll(1):
                if not process.is_alive():
                    raise RuntimeError(f"generator {process.pid} died (exit code {process.exitcode})")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"generator {process.pid} gave no {expected!r} answer in {timeout:.0f} s")
            kind, payload = pipe.recv()
            if kind == "failed":
                raise RuntimeError(f"generator {process.pid} failed:\n{payload}")
            assert kind == expected, (kind, expected)
            answers.append(payload)
        return answers

    def stop(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(("stop",))
            except (OSError, ValueError):
                pass
        for process in self.processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)

    def cpu(self) -> float:
        return sum(process_cpu(process.pid) for process in self.processes)


def create_accounts(database_url: str, count: int) -> list[dict]:
    """N Desktop accounts through the services layer (API token, Web Connector login), in one transaction."""
    from qbwc_bridge.services.accounts import create_account
    from qbwc_bridge.store.db import Store
    from qbwc_bridge.store.migrate import upgrade

    store = Store(database_url)
    upgrade(store)
    accounts = []
    with store.begin() as db:
        for number in range(count):
            new = create_account(db, f"Load Co {number:04d}", "desktop")
            accounts.append({"account_id": new.account_id, "username": new.wc_username, "password": new.wc_password,
                             "api_token": new.api_token})
    store.dispose()
    return accounts


def run(args, shared: Path, tmp: Path) -> dict:
    from tests.support.live_server import ServerProcess
    from tests.support.postgres import PostgresServer, ThrowawayPostgres, find_pg_bin_dir

    with ThrowawayPostgres(find_pg_bin_dir()) as pg:
        server = PostgresServer(pg.base_url)
        database_url = server.create_database("bench_load")
        server.dispose()
        started = time.perf_counter()
        accounts = create_accounts(database_url, args.accounts)
        env = {"QBWC_BRIDGE_DATABASE_URL": database_url, "QBWC_BRIDGE_SECRET_KEY": SECRET,
               "QBWC_BRIDGE_DATA_DIR": str(tmp), "QBWC_BRIDGE_LOG_LEVEL": "WARNING",
               "QBWC_BRIDGE_PUBLIC_URL": "http://localhost:8080", "QBWC_BRIDGE_SHARED_DIR": str(shared),
               "QBWC_BRIDGE_RUN_EVERY_MINUTES": "1"}
        command = [sys.executable, "-m", "qbwc_bridge", "serve", "--host", "127.0.0.1", "--port", "{port}",
                   "--no-worker", "--threads", str(args.server_threads)]
        servers = [ServerProcess(env=env, command=command, cwd=REPO, start_timeout=60) for _ in range(args.servers)]
        bare = ServerProcess(command=[sys.executable, str(REPO / "bench" / "bare_spyne_server.py"), "{port}"],
                             health_path="/?wsdl", cwd=REPO)
        children = Children()
        try:
            for process in (*servers, bare):
                process.start()
            config = {"servers": [s.url for s in servers], "bare_url": bare.url + "/", "database_url": database_url,
                      "shared": str(shared), "env": env, "poll": args.poll_seconds, "threads": args.threads,
                      "seed": args.seed}
            slices = [accounts[i::args.generators] for i in range(args.generators)]
            children.start([s for s in slices if s], config)
            children.receive_all("ready", timeout=1800)
            setup = time.perf_counter() - started
            meter = CpuMeter({
                "bridge": lambda: sum(process_cpu(s.process.pid) for s in servers),
                "postgres": lambda: postgres_cpu(pg.data_dir),
                "bare": lambda: process_cpu(bare.process.pid),
                "generator": children.cpu,
            })

            def phase(name: str, seconds: float) -> tuple[dict, dict, float]:
                start_at = time.time() + 1.0
                end_at = start_at + seconds
                children.send_all(name, start_at, end_at)
                time.sleep(max(0.0, start_at - time.time()))
                before = meter.snapshot()
                time.sleep(max(0.0, end_at - time.time()))
                cpu = CpuMeter.delta(before, meter.snapshot())
                return merge(children.receive_all(name, timeout=seconds + 600)), cpu, seconds

            load = phase("load", args.seconds)
            children.send_all("check")
            checks = children.receive_all("check", timeout=1800)
            baseline = phase("baseline", args.baseline_seconds)
        finally:
            children.stop()
            for process in (*servers, bare):
                process.stop()
    exactly_once: dict = defaultdict(int)
    drain_errors = []
    for check in checks:
        drain_errors += check["errors"]
        for key, value in check["exactly_once"].items():
            if isinstance(value, list):
                exactly_once.setdefault(key + "_list", [])
                exactly_once[key + "_list"] += value
            else:
                exactly_once[key] += value
    return {"setup": setup, "load": load, "baseline": baseline, "exactly_once": exactly_once,
            "drain_errors": drain_errors}


def report(r: dict, args) -> bool:
    (load, cpu, seconds), (base, base_cpu, base_seconds) = r["load"], r["baseline"]
    cores = os.cpu_count() or 1
    print(f"{args.accounts} accounts, each polling every {args.poll_seconds:g} s (x0.5-1.5, jittered), "
          f"{args.servers} qbwc-bridge serve processes ({args.server_threads} waitress threads each) on one PostgreSQL; "
          f"{args.generators} generator processes x {args.threads} threads; offered at most "
          f"{args.accounts / args.poll_seconds:.1f} polls/s (sessions/s follows the schedule while the server keeps up, "
          f"so capacity is read per CPU-second)")
    print(f"measured {seconds:g} s (baseline {base_seconds:g} s, same clients and schedule); set-up {r['setup']:.0f} s "
          f"(initial syncs, not measured); machine: {cores} cores, load average now {os.getloadavg()[0]:.1f}")
    print()
    bridge_cpu, pg_cpu = cpu["bridge"], cpu["postgres"]

    def row(label: str, ours: float, theirs: float | None, unit: str = "", fmt: str = "{:.1f}") -> None:
        ours_text = fmt.format(ours) + unit
        if theirs is None:
            print(f"  {label:58} {ours_text:>14}")
            return
        ratio = f"{ours / theirs:9.2f}x" if theirs else "-"
        print(f"  {label:58} {ours_text:>14} {fmt.format(theirs) + unit:>14} {ratio:>10}")

    print(f"  {'figure':58} {'qbwc-bridge':>14} {'baseline':>14} {'ratio':>10}")
    row("sessions/s", load["sessions"] / seconds, base["sessions"] / base_seconds)
    row("SOAP calls/s", load["soap_calls"] / seconds, base["soap_calls"] / base_seconds)
    row("API calls/s (baseline: GET /healthz)", load["api_calls"] / seconds, base["api_calls"] / base_seconds)
    row("server CPU, cores busy (bridge / bare spyne)", bridge_cpu / seconds, base_cpu["bare"] / base_seconds, fmt="{:.2f}")
    row("PostgreSQL CPU, cores busy", pg_cpu / seconds, None, fmt="{:.2f}")
    row("generator CPU, cores busy", cpu["generator"] / seconds, base_cpu["generator"] / base_seconds, fmt="{:.2f}")
    per_core = load["sessions"] / bridge_cpu if bridge_cpu else float("nan")
    per_core_pg = load["sessions"] / (bridge_cpu + pg_cpu) if bridge_cpu + pg_cpu else float("nan")
    bare_per_core = base["sessions"] / base_cpu["bare"] if base_cpu["bare"] else float("nan")
    row("sessions per server CPU-second", per_core, bare_per_core)
    row("  same, counting PostgreSQL's CPU too", per_core_pg, bare_per_core)
    row("capacity: accounts/core at a 2-min poll (x120)", per_core * 120, bare_per_core * 120, fmt="{:.0f}")
    row("  same, counting PostgreSQL's CPU too", per_core_pg * 120, bare_per_core * 120, fmt="{:.0f}")
    row("schedule lag p50, ms (late starts: saturation)", 1000 * percentile(load["lag"], 0.5),
        1000 * percentile(base["lag"], 0.5))
    row("schedule lag p99 (ms)", 1000 * percentile(load["lag"], 0.99), 1000 * percentile(base["lag"], 0.99))
    row(f"accounts in a session at once, peak (of {args.generators * args.threads} threads)", load["peak_busy"],
        base["peak_busy"], fmt="{:.0f}")
    print()
    print(f"  {'latency, ms (p50 / p99)':58} {'qbwc-bridge':>14} {'baseline':>14} {'p50 ratio':>10}  calls")
    for operation in SOAP_OPERATIONS:
        ours = load["latency"].get("soap:" + operation, [])
        theirs = base["latency"].get("soap:" + operation, [])
        if not ours and not theirs:
            continue
        _latency_row(operation, ours, theirs)
    healthz = base["latency"].get("api:GET /healthz", [])
    for key in sorted(k for k in load["latency"] if k.startswith("api:")):
        _latency_row(key[4:] + " (vs GET /healthz)", load["latency"][key], healthz)
    print()
    outcomes = ", ".join(f"{n} {o}" for o, n in sorted(load["outcomes"].items(), key=lambda x: -x[1]))
    print(f"  session outcomes (whole load phase): {outcomes}")
    requests = ", ".join(f"{n} {name}" for name, n in sorted(load["requests"].items(), key=lambda x: -x[1]))
    print(f"  qbXML requests QuickBooks processed (measured window): {requests}")
    errors = load["errors"] + r["drain_errors"] + base["errors"]
    count = load["error_count"] + base["error_count"] + len(r["drain_errors"])
    print(f"  errors: {count} (load {load['error_count']}, drain {len(r['drain_errors'])}, "
          f"baseline {base['error_count']})")
    for error in errors[:30]:
        print("    " + error.strip().replace("\n", "\n    "))
    once = r["exactly_once"]
    problems = once["missing_list"] + once["duplicated_list"] + once["strays_list"] + once["created_missing_list"] \
        + once["created_duplicated_list"]
    print(f"  exactly once: {once['orders']} packed orders, {once['invoices']} invoices in the simulated companies; "
          f"missing {len(once['missing_list'])}, duplicated {len(once['duplicated_list'])}, "
          f"not ours {len(once['strays_list'])}; {once['created']} customers created in QuickBooks: "
          f"missing {len(once['created_missing_list'])}, duplicated {len(once['created_duplicated_list'])}"
          f"  -> {'OK' if not problems else 'FAILED'}")
    for problem in problems[:20]:
        print(f"    {problem}")
    return not count and not problems


def _latency_row(label: str, ours: list[float], theirs: list[float]) -> None:
    def pair(values):
        return f"{1000 * percentile(values, 0.5):.1f} / {1000 * percentile(values, 0.99):.1f}" if values else "-"

    ratio = percentile(ours, 0.5) / percentile(theirs, 0.5) if ours and theirs else float("nan")
    print(f"  {label:58} {pair(ours):>14} {pair(theirs):>14} {ratio:9.2f}x  {len(ours)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=180, help="the measured load phase")
    parser.add_argument("--servers", type=int, default=2, help="qbwc-bridge serve processes")
    parser.add_argument("--poll-seconds", type=float, default=None,
                        help="each Web Connector's mean poll interval (default: accounts / 10, at least 2 s: "
                             "about 10 polls/s offered, below what two shared cores serve)")
    parser.add_argument("--baseline-seconds", type=float, default=None, help="default: a quarter of --seconds, 10-45 s")
    parser.add_argument("--generators", type=int, default=2, help="load generator processes")
    parser.add_argument("--threads", type=int, default=32,
                        help="threads per generator process: accounts in a session at once, at most")
    parser.add_argument("--server-threads", type=int, default=8, help="waitress threads per server")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 accounts for 5 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.accounts, args.seconds, args.generators, args.threads = 3, 5, 1, 3
        args.poll_seconds = args.poll_seconds or 1.0
        args.baseline_seconds = args.baseline_seconds or 2
    if args.poll_seconds is None:
        args.poll_seconds = max(2.0, args.accounts / 10)
    if args.baseline_seconds is None:
        args.baseline_seconds = min(45.0, max(10.0, args.seconds / 4))
    shared = Path(os.environ.get("QBWC_BRIDGE_SHARED_DIR") or _find_shared_dir() or "")
    if not (shared / "qbxml-schema").is_dir():
        print("needs the shared/ folder (Intuit's XSDs): set QBWC_BRIDGE_SHARED_DIR", file=sys.stderr)
        return 2
    os.environ.setdefault("QBWC_BRIDGE_LOG_LEVEL", "WARNING")

    def terminate(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, terminate)
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args, shared, Path(tmp))
    ok = report(result, args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
