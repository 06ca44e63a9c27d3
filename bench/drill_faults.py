"""Fault drills: what production does to the bridge, against two real server processes on PostgreSQL.

Each drill creates an account, posts packed orders through the API, and drives simulated
Web Connector sessions (a fake QuickBooks company, over real HTTP) until nothing is left
to send, with one fault injected mid-session:

- ``kill9``:       ``kill -9`` of the process that just handed out a message set; the next
                   call goes to the other one (as nginx's upstream would send it).
- ``kill9_inflight``: ``kill -9`` while that process is answering a receiveResponseXML.
- ``pg_restart``:  PostgreSQL stopped between sendRequestXML and receiveResponseXML, a call
                   (and an API request, and /healthz) made while it is down, then started again.
- ``read_only``:   the database read-only for a moment (``default_transaction_read_only`` on,
                   connections dropped), calls made meanwhile, then writable again.
- ``wc_vanishes``: the Web Connector goes away mid-set twice (QuickBooks applied the set, the
                   answer never came back).

After each: every order is exactly one invoice in the fake company (nothing lost, nothing
duplicated), the account's next session completes, and every failing request got a clean
answer (HTTP status, SOAP fault or connection error; how long it took; any 500 or
traceback in the servers' output is listed). At the end every drill's account runs one more
session. Time spent backing off is skipped by clearing ``not_before`` between sessions (what
the passing of those minutes would do), as tests/e2e/test_exactly_once.py does.

Needs PostgreSQL's server tools (Debian's postgresql) and Intuit's XSDs (../shared or
QBWC_BRIDGE_SHARED_DIR). Run: .venv/bin/python bench/drill_faults.py [--orders 120] [--only kill9,...]
Exit status 1 when a drill failed its checks.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402

from qbwc_bridge.backends.desktop.qwc import render_qwc  # noqa: E402
from qbwc_bridge.backends.desktop.schema import schema_dir  # noqa: E402
from qbwc_bridge.config import Settings  # noqa: E402
from qbwc_bridge.simulator import FaultRule, Faults, RequestProcessor, WebConnector  # noqa: E402
from qbwc_bridge.simulator.envelopes import fault_text  # noqa: E402
from qbwc_bridge.simulator.http_transport import HttpTransport  # noqa: E402
from qbwc_bridge.store.db import Store  # noqa: E402
from qbwc_bridge.store.migrate import upgrade  # noqa: E402
from qbwc_bridge.store.models import OperationState, OutboxOperation, PackedOrder  # noqa: E402
from tests.integration.conftest import make_tenant  # noqa: E402
from tests.integration.invoice_world import make_company, seed_matches  # noqa: E402
from tests.support.live_server import ServerProcess  # noqa: E402
from tests.support.postgres import PostgresServer, ThrowawayPostgres, find_pg_bin_dir  # noqa: E402

BUSY_WINDOW = 1
HANG_SECONDS = 30  # an answer slower than this counts as a hang


# --------------------------------------------------------------------------- the proxy's part
@dataclass
class Answer:
    operation: str
    port: int
    status: str  # "200", "500 (soap fault: ...)", "connection refused → next", "OSError: ..."
    seconds: float
    clean: bool


class DrillTransport(HttpTransport):
    """QBWC's HTTP through a stand-in for nginx's upstream: round robin over the processes,
    skipping one that refuses the connection (``proxy_next_upstream error``), never replaying
    a request that reached one. ``hooks[(operation, n)]`` runs before the n-th such call."""

    def __init__(self, servers: list[ServerProcess]):
        super().__init__(timeout=HANG_SECONDS * 2)
        self.servers = servers
        self.turn = 0
        self.counts: Counter[str] = Counter()
        self.hooks: dict[tuple[str, int], callable] = {}
        self.answers: list[Answer] = []
        self.last_port: int | None = None

    def post_soap(self, url: str, action: str, envelope: bytes):
        operation = action.strip('"').rsplit("/", 1)[-1]
        self.counts[operation] += 1
        hook = self.hooks.pop((operation, self.counts[operation]), None)
        if hook is not None:
            hook(self)
        last_error: OSError | None = None
        for attempt in range(len(self.servers)):
            server = self.servers[(self.turn + attempt) % len(self.servers)]
            begin = time.monotonic()
            target = urlunsplit(urlsplit(url)._replace(netloc=f"localhost:{server.port}"))
            try:
                reply = super().post_soap(target, action, envelope)
            except ConnectionRefusedError as error:
                self.answers.append(Answer(operation, server.port, "connection refused → next process",
                                           time.monotonic() - begin, True))
                last_error = error
                continue
            except OSError as error:
                self.answers.append(Answer(operation, server.port, f"{type(error).__name__}: {error}",
                                           time.monotonic() - begin, True))
                self.turn += 1
                raise
            self.turn += 1
            self.last_port = server.port
            seconds = time.monotonic() - begin
            if reply.status == 200:
                self.answers.append(Answer(operation, server.port, "200", seconds, seconds < HANG_SECONDS))
            else:
                fault = fault_text(reply.body)
                described = f"{reply.status} " + (f"(SOAP fault: {fault[:120]})" if fault else
                                                  f"({reply.content_type}: {reply.body[:80]!r})")
                self.answers.append(Answer(operation, server.port, described, seconds,
                                           fault is not None and seconds < HANG_SECONDS and reply.status != 500))
            return reply
        raise last_error or OSError("no server process")

    def server_on(self, port: int | None) -> ServerProcess:
        return next(server for server in self.servers if server.port == port)


# --------------------------------------------------------------------------- the world
@dataclass
class Drill:
    name: str
    account_id: int = 0
    orders: int = 0
    connector: WebConnector | None = None
    transport: DrillTransport | None = None
    company: object = None
    sessions: list[str] = field(default_factory=list)
    side_requests: list[str] = field(default_factory=list)  # API / healthz during the fault
    notes: list[str] = field(default_factory=list)
    result: dict = field(default_factory=dict)


def _env(database_url: str, data_dir: Path) -> dict[str, str]:
    return {
        "QBWC_BRIDGE_DATABASE_URL": database_url,
        "QBWC_BRIDGE_SECRET_KEY": "d" * 40,
        "QBWC_BRIDGE_DATA_DIR": str(data_dir),
        "QBWC_BRIDGE_PUBLIC_URL": "http://localhost:8080",
        "QBWC_BRIDGE_LOG_LEVEL": "WARNING",
        "QBWC_BRIDGE_BUSY_WINDOW_SECONDS": str(BUSY_WINDOW),
    }


def _outstanding(store: Store, account_id: int) -> int:
    with store.begin() as db:
        orders = db.scalar(select(func.count()).select_from(PackedOrder).where(
            PackedOrder.account_id == account_id, PackedOrder.status.not_in(("created", "blocked"))))
        ops = db.scalar(select(func.count()).select_from(OutboxOperation).where(
            OutboxOperation.account_id == account_id,
            OutboxOperation.state.in_((OperationState.PENDING.value, OperationState.SENT.value,
                                       OperationState.UNCONFIRMED.value))))
    return orders + ops


def _let_backoff_pass(store: Store, account_id: int) -> None:
    with store.begin() as db:
        db.execute(update(OutboxOperation).where(OutboxOperation.account_id == account_id,
                                                 OutboxOperation.not_before.is_not(None)).values(not_before=None))


def _retrying(action, attempts: int = 60):
    """For the drill's own bookkeeping while the database is away: wait until it answers."""
    for attempt in range(attempts):
        try:
            return action()
        except sa.exc.OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


def prepare(drill: Drill, store: Store, servers: list[ServerProcess], shared: Path, tmp: Path, orders: int,
            seed: int, faults: Faults | None = None) -> None:
    rng = random.Random(seed)
    tenant = make_tenant(store, f"Drill {drill.name}")
    drill.account_id, drill.orders = tenant.account.account_id, orders
    drill.api = {"Authorization": f"Bearer {tenant.account.api_token}", "Content-Type": "application/json"}
    company = make_company(items=12, customers=8, seed=seed, without_terms=2)
    world = seed_matches(store, drill.account_id, company)
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {tenant.account.api_token}", "Content-Type": "application/json"})
    for n in range(orders):
        event = world.order(rng, f"{drill.name[:4].upper()}{n:05d}")
        reply = session.post(f"{servers[n % 2].url}/api/v1/orders/{drill.name}-{n:05d}/packed",
                             data=json.dumps(event), timeout=30)
        assert reply.status_code == 202, reply.text
    qwc = tmp / f"{drill.name}.qwc"
    with store.begin() as db:
        qwc.write_text(render_qwc(db, Settings.from_env(_env(str(store.url), tmp)).replace(
            public_url=f"http://localhost:{servers[0].port}"), drill.account_id))
    drill.transport = DrillTransport(servers)
    drill.company = company
    drill.fault_order = json.dumps(world.order(rng, f"{drill.name[:4].upper()}FAULT"))
    drill.connector = WebConnector(RequestProcessor(company, schema_dir(shared)), password=tenant.password,
                                   transport=drill.transport, faults=faults or Faults(), noop_pause=0,
                                   max_calls_per_session=2000)
    assert drill.connector.add_application(str(qwc)).ok


def drive(drill: Drill, store: Store, max_sessions: int = 40) -> None:
    for _ in range(max_sessions):
        transcript = drill.connector.run_session()
        drill.sessions.append(transcript.outcome)
        if not transcript.ok or "busy" in transcript.outcome or transcript.outcome.startswith("response lost"):
            time.sleep(BUSY_WINDOW + 0.2)
        _retrying(lambda: _let_backoff_pass(store, drill.account_id))
        if _retrying(lambda: _outstanding(store, drill.account_id)) == 0:
            return
    drill.notes.append(f"still outstanding after {max_sessions} sessions")


def verify(drill: Drill, store: Store) -> None:
    by_order: Counter[str] = Counter()
    for invoice in drill.company.invoices.values():
        if "(order id " in (invoice.memo or ""):
            by_order[invoice.memo.split("(order id ", 1)[1].split(")", 1)[0]] += 1
    expected = {f"{drill.name}-{n:05d}" for n in range(drill.orders)}
    with store.begin() as db:  # an order posted during the fault and accepted must be invoiced too
        if db.scalar(select(func.count()).select_from(PackedOrder).where(
                PackedOrder.account_id == drill.account_id, PackedOrder.order_id == f"{drill.name}-during-fault")):
            expected.add(f"{drill.name}-during-fault")
            drill.orders += 1
    lost = sorted(expected - set(by_order))
    duplicated = sorted(order for order, count in by_order.items() if count > 1)
    with store.begin() as db:
        statuses = Counter(db.scalars(select(PackedOrder.status).where(PackedOrder.account_id == drill.account_id)))
    recovery = drill.connector.run_session()
    failing = [answer for answer in drill.transport.answers if answer.status != "200"]
    unclean = [answer for answer in drill.transport.answers if not answer.clean]
    drill.result = {
        "orders": drill.orders, "invoices": sum(by_order.values()), "lost": len(lost), "duplicated": len(duplicated),
        "order_statuses": dict(statuses), "sessions": len(drill.sessions),
        "session_outcomes": dict(Counter(outcome.split(":")[0] for outcome in drill.sessions)),
        "recovery_session": recovery.outcome, "soap_calls": len(drill.transport.answers),
        "failing_answers": [f"{a.operation} on :{a.port}: {a.status} in {a.seconds:.2f}s" for a in failing],
        "unclean_answers": [f"{a.operation} on :{a.port}: {a.status} in {a.seconds:.2f}s" for a in unclean],
        "slowest_answer_s": round(max((a.seconds for a in drill.transport.answers), default=0), 2),
        "side_requests": drill.side_requests, "notes": drill.notes,
    }
    drill.result["passed"] = (not lost and not duplicated and recovery.ok and not unclean
                              and statuses.get("created", 0) == drill.orders and not drill.notes)


def side_request(drill: Drill, label: str, method: str, url: str, **kwargs) -> None:
    begin = time.monotonic()
    try:
        reply = requests.request(method, url, timeout=HANG_SECONDS, **kwargs)
        body = reply.text[:140].replace("\n", " ")
        drill.side_requests.append(f"{label}: HTTP {reply.status_code} in {time.monotonic() - begin:.2f}s {body}")
    except requests.RequestException as error:
        drill.side_requests.append(f"{label}: {type(error).__name__} after {time.monotonic() - begin:.2f}s")


# --------------------------------------------------------------------------- the drills
def drill_kill9(drill: Drill, servers, **_) -> None:
    def kill_the_one_that_sent(transport: DrillTransport) -> None:
        victim = transport.server_on(transport.last_port)
        victim.process.kill()
        victim.process.wait()
        drill.notes_kill = victim  # restarted after the drill
        drill.side_requests.append(f"kill -9 of :{victim.port} (pid {victim.process.pid}) after it handed out a set")
    drill.transport.hooks[("receiveResponseXML", 2)] = kill_the_one_that_sent


def drill_kill9_inflight(drill: Drill, servers, **_) -> None:
    def kill_soon(transport: DrillTransport) -> None:
        victim = transport.servers[transport.turn % len(transport.servers)]  # the one this call goes to

        def kill() -> None:
            victim.process.kill()
            drill.side_requests.append(f"kill -9 of :{victim.port} 40 ms into a receiveResponseXML")
        threading.Timer(0.04, kill).start()
        drill.notes_kill = victim
    drill.transport.hooks[("receiveResponseXML", 2)] = kill_soon


def drill_pg_restart(drill: Drill, servers, cluster: ThrowawayPostgres, api, **_) -> None:
    def start_postgres() -> None:
        cluster._start_server()
        drill.side_requests.append("PostgreSQL started again (down for 3 s)")

    def stop_postgres(transport: DrillTransport) -> None:
        cluster._run_tool("pg_ctl", "-D", str(cluster.data_dir), "-m", "fast", "-w", "-s", "stop")
        drill.side_requests.append("PostgreSQL stopped (fast) before receiveResponseXML #2")
        side_request(drill, "GET /healthz while down", "GET", servers[0].url + "/healthz")
        side_request(drill, "POST packed order while down", "POST",
                     f"{servers[1].url}/api/v1/orders/{drill.name}-during-fault/packed", headers=drill.api,
                     data=drill.fault_order)
        threading.Timer(3.0, start_postgres).start()
    drill.transport.hooks[("receiveResponseXML", 2)] = stop_postgres


def drill_read_only(drill: Drill, servers, admin_engine, database: str, api, **_) -> None:
    def drop_connections() -> None:
        with admin_engine.connect() as connection:
            connection.exec_driver_sql(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}' "
                "AND pid <> pg_backend_pid() AND usename = current_user AND application_name <> 'drills'")

    def writable() -> None:
        with admin_engine.connect() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{database}" RESET default_transaction_read_only')
        drill.side_requests.append("database writable again after 3 s (server connections kept)")

    def read_only(transport: DrillTransport) -> None:
        with admin_engine.connect() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')
        drop_connections()
        drill.side_requests.append("database read-only (server connections dropped) before receiveResponseXML #2")
        side_request(drill, "GET /healthz while read-only", "GET", servers[0].url + "/healthz")
        side_request(drill, "POST packed order while read-only", "POST",
                     f"{servers[1].url}/api/v1/orders/{drill.name}-during-fault/packed", headers=drill.api,
                     data=drill.fault_order)
        threading.Timer(3.0, writable).start()
    drill.transport.hooks[("receiveResponseXML", 2)] = read_only


def drill_wc_vanishes(drill: Drill, servers, **_) -> None:
    pass  # the faults are the connector's: lose_response at the 2nd and 4th message sets


DRILLS = {
    "kill9": (drill_kill9, None),
    "kill9_inflight": (drill_kill9_inflight, None),
    "pg_restart": (drill_pg_restart, None),
    "read_only": (drill_read_only, None),
    "wc_vanishes": (drill_wc_vanishes, lambda seed: Faults(seed=seed, lose_response=FaultRule(at=frozenset({2, 4})))),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=120, help="packed orders per drill (50 requests per set)")
    parser.add_argument("--only", default="", help="comma-separated drill names: " + ", ".join(DRILLS))
    args = parser.parse_args()
    chosen = [name for name in DRILLS if not args.only or name in args.only.split(",")]
    shared = Path(os.environ.get("QBWC_BRIDGE_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")
    started = time.monotonic()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="qbwc-drills-") as tmp_name, ThrowawayPostgres(find_pg_bin_dir()) as cluster:
        tmp = Path(tmp_name)
        pg = PostgresServer(cluster.base_url)
        url = pg.create_database("drills")
        database = sa.engine.make_url(url).database
        admin_engine = sa.create_engine(sa.engine.make_url(cluster.base_url).set(database="postgres"),
                                        isolation_level="AUTOCOMMIT")
        # The drill's own bookkeeping stays writable through the read-only drill, and is never dropped.
        store = Store(url + "?application_name=drills&options=-c%20default_transaction_read_only%3Doff")
        upgrade(store)
        servers = [ServerProcess(env=_env(url, tmp), start_timeout=60) for _ in range(2)]
        for server in servers:
            server.start()
        drills: list[Drill] = []
        try:
            for number, name in enumerate(chosen):
                setup, faults = DRILLS[name]
                drill = Drill(name)
                drills.append(drill)
                begin = time.monotonic()
                prepare(drill, store, servers, shared, tmp, args.orders, seed=100 + number,
                        faults=faults(100 + number) if faults else None)
                tokens = {"Authorization": "Bearer not-a-token", "Content-Type": "application/json"}
                setup(drill, servers, cluster=cluster, admin_engine=admin_engine, database=database, api=tokens)
                drive(drill, store)
                victim = getattr(drill, "notes_kill", None)
                if victim is not None:  # systemd's Restart=always
                    output = victim.output()
                    victim.stop()
                    victim.start()
                    drill.notes_tracebacks = output.count("Traceback")
                verify(drill, store)
                drill.result["seconds"] = round(time.monotonic() - begin, 1)
                results[name] = drill.result
                print(f"== {name}: {'PASS' if drill.result['passed'] else 'FAIL'}", flush=True)
                print(json.dumps(drill.result, indent=2, ensure_ascii=False), flush=True)
            # Every account recovers on its next session.
            final = {drill.name: drill.connector.run_session().outcome for drill in drills}
            print("== every account's next session:", json.dumps(final, indent=2))
            logs = "".join(server.output() for server in servers)
            print(f"== server output: {logs.count('Traceback')} tracebacks, "
                  f"{logs.count(' 500 ')} ' 500 ' mentions in the two live processes' logs")
            for line in [line for line in logs.splitlines() if "Error" in line or "error" in line][:15]:
                print("   ", line[:220])
        finally:
            for server in servers:
                server.stop()
            store.dispose()
            admin_engine.dispose()
            pg.dispose()
    print(f"== drills done in {time.monotonic() - started:.0f} s")
    failed = [name for name, result in results.items() if not result["passed"]]
    print("FAILED: " + ", ".join(failed) if failed else "all drills passed")
    return 1 if failed or len(results) != len(chosen) else 0


if __name__ == "__main__":
    sys.exit(main())
