"""Web Connector calls and sessions per second: qbwc-bridge vs a bare spyne service.

All run as separate waitress processes on loopback at once, measured in the same run with the
same client (http.client, keep-alive), on SQLite and on a throwaway PostgreSQL, in interleaved
rounds (bare, SQLite, PostgreSQL, bare, ...) keeping each one's best rate: on a shared machine
other work only ever slows a round down, so the best round is the least disturbed one.
- authenticate:  authenticate alone → "none", repeated (the call every Web Connector makes every run)
- idle session:  serverVersion, clientVersion, authenticate → "none", closeConnection
- work session:  serverVersion, clientVersion, authenticate, sendRequestXML (with the
  HCP check), receiveResponseXML, closeConnection — one request/response.
The account is set up as after its initial sync (every list pulled, no pull due during the run).
Run: .venv/bin/python bench/bench_soap_sessions.py [--sessions 200] [--rounds 3] [--no-postgres]
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lxml import etree  # noqa: E402

from qbwc_bridge import outbox  # noqa: E402
from qbwc_bridge.services.accounts import create_account, installation  # noqa: E402
from qbwc_bridge.store.db import Store  # noqa: E402
from qbwc_bridge.store.migrate import upgrade  # noqa: E402
from qbwc_bridge.operations import ListName  # noqa: E402
from qbwc_bridge.store.models import Account, SyncCursor, utcnow  # noqa: E402
from tests.integration.soap_helpers import envelope, hcp_response, terms_response  # noqa: E402
from tests.support.live_server import ServerProcess  # noqa: E402
from tests.support.postgres import PostgresServer, ThrowawayPostgres, find_pg_bin_dir  # noqa: E402

TNS = "http://developer.intuit.com/"


class Client:
    def __init__(self, url: str):
        parts = urlsplit(url)
        self.path = parts.path or "/"
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.calls = 0

    def call(self, operation: str, **params) -> etree._Element:
        self.connection.request("POST", self.path, body=envelope(operation, **params), headers={
            "Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{TNS}{operation}"'})
        response = self.connection.getresponse()
        body = response.read()
        assert response.status == 200, body[:300]
        self.calls += 1
        return etree.fromstring(body).find(f".//{{{TNS}}}{operation}Result")


def run_sessions(url: str, count: int, username: str, password: str, work: bool, before_each=None, hcp: str = "") -> tuple[float, int]:
    client = Client(url)
    elapsed = 0.0
    for _ in range(count):
        if before_each:
            before_each()
        started = time.perf_counter()
        client.call("serverVersion")
        client.call("clientVersion", strVersion="2.3.0.215")
        result = client.call("authenticate", strUserName=username, strPassword=password)
        ticket, status = [s.text or "" for s in result][:2]
        if work:
            assert status == "", status
            message_set = client.call("sendRequestXML", ticket=ticket, strHCPResponse=hcp, strCompanyFileName="C:\\a.QBW",
                                      qbXMLCountry="US", qbXMLMajorVers="13", qbXMLMinorVers="0").text
            request_id = etree.fromstring(message_set.encode()).find("QBXMLMsgsRq")[0].get("requestID")
            assert client.call("receiveResponseXML", ticket=ticket, response=terms_response(request_id), hresult="",
                               message="").text == "100"
            client.call("closeConnection", ticket=ticket)
        else:
            assert status == "none", status
            client.call("closeConnection", ticket=ticket)
        elapsed += time.perf_counter() - started
    return elapsed, client.calls


def run_authenticates(url: str, count: int, username: str, password: str) -> float:
    """authenticate calls/s, each answered "none"."""
    client = Client(url)
    started = time.perf_counter()
    for _ in range(count):
        result = client.call("authenticate", strUserName=username, strPassword=password)
        assert [s.text or "" for s in result][1] == "none", [s.text for s in result]
    return count / (time.perf_counter() - started)


def connected(db, account_id: int) -> None:
    """The account as after its initial sync: connected, every list pulled, no incremental pull due yet."""
    db.get(Account, account_id).status = "connected"
    for name in ListName:
        db.add(SyncCursor(account_id=account_id, list_name=name.value, initial_done=True, updated_at=utcnow()))


class Target:
    """One server under test and how to drive it: its URL, a login, and what a work session needs."""

    def __init__(self, name: str, url: str, username: str, password: str, busy_username: str | None = None,
                 before_each=None, hcp: str = ""):
        self.name, self.url, self.username, self.password = name, url, username, password
        self.busy_username = busy_username or username
        self.before_each, self.hcp = before_each, hcp
        self.best: dict[str, float] = {}

    def measure(self, sessions: int) -> None:
        """One round: authenticate alone, idle sessions, work sessions. Keeps the best rate of each over rounds."""
        rates = {
            "auth": run_authenticates(self.url, sessions * 2, self.username, self.password),
            "idle": sessions / run_sessions(self.url, sessions, self.username, self.password, work=False)[0],
            "work": sessions / run_sessions(self.url, sessions, self.busy_username, self.password, work=True,
                                            before_each=self.before_each, hcp=self.hcp)[0],
        }
        for key, rate in rates.items():
            self.best[key] = max(self.best.get(key, 0.0), rate)


def start_bridge(stack: contextlib.ExitStack, name: str, database_url: str, tmp: Path) -> Target:
    store = Store(database_url)
    stack.callback(store.dispose)
    upgrade(store)
    with store.begin() as db:
        acct = create_account(db, "Bench Co", "desktop")
        owner = installation(db).owner_id
        connected(db, acct.account_id)
    env = {"QBWC_BRIDGE_DATABASE_URL": database_url, "QBWC_BRIDGE_SECRET_KEY": "b" * 40,
           "QBWC_BRIDGE_DATA_DIR": str(tmp), "QBWC_BRIDGE_LOG_LEVEL": "WARNING",
           "QBWC_BRIDGE_RUN_EVERY_MINUTES": "1440"}  # no incremental pull falls due during the run
    server = stack.enter_context(ServerProcess(env=env))

    def enqueue_one():
        with store.begin() as db:
            outbox.enqueue(db, acct.account_id, "sync_terms", {})

    target = Target(name, server.url + "/qbwc", acct.wc_username, acct.wc_password, before_each=enqueue_one,
                    hcp=hcp_response(owner, acct.file_id))
    run_sessions(target.url, 20, target.username, target.password, work=False)  # warm up
    return target


def start_bare(stack: contextlib.ExitStack) -> Target:
    script = str(Path(__file__).with_name("bare_spyne_server.py"))
    server = stack.enter_context(ServerProcess(command=[sys.executable, script, "{port}"], health_path="/?wsdl"))
    target = Target("bare spyne (constants)", server.url + "/", "idle", "x", busy_username="busy")
    run_sessions(target.url, 20, "idle", "x", work=False)  # warm up
    return target


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds over all servers, interleaved; the best rate of each is kept (other load only slows)")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("QBWC_BRIDGE_LOG_LEVEL", "WARNING")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        tmp = Path(tmp)
        bare = start_bare(stack)
        targets = [bare, start_bridge(stack, "qbwc-bridge on SQLite", f"sqlite:///{tmp}/bench.sqlite3", tmp)]
        if not args.no_postgres:
            pg = stack.enter_context(ThrowawayPostgres(find_pg_bin_dir()))
            server = PostgresServer(pg.base_url)
            stack.callback(server.dispose)
            targets.append(start_bridge(stack, "qbwc-bridge on PostgreSQL", server.create_database("bench"), tmp))
        for _ in range(args.rounds):
            for target in targets:
                target.measure(args.sessions)
    print(f"{args.sessions} sessions (authenticate: {args.sessions * 2} calls) per server per round, best of "
          f"{args.rounds} interleaved rounds; an HMAC password check on every authenticate")
    print(f"{'server':28} {'auth/s':>8} {'idle sess/s':>12} {'work sess/s':>12}   vs bare: auth / idle / work (target 0.5x)")
    for target in targets:
        best = target.best
        ratios = " / ".join(f"{best[key] / bare.best[key]:.2f}x" for key in ("auth", "idle", "work"))
        print(f"{target.name:28} {best['auth']:8.1f} {best['idle']:12.1f} {best['work']:12.1f}   {ratios}")


if __name__ == "__main__":
    main()
